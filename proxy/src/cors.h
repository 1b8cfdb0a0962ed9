/* CORS decisions for the ALLOWED_ORIGINS allowlist. */
#ifndef TA_CORS_H
#define TA_CORS_H

#include <stdbool.h>
#include <stddef.h>

struct proxy_config;

enum cors_decision {
	CORS_NONE,              /* no Origin, or an origin not listed: add no CORS headers */
	CORS_ALLOW,             /* listed origin, ordinary request: echo it with credentials allowed */
	CORS_PREFLIGHT_ALLOW,   /* OPTIONS with Access-Control-Request-Method from a listed origin: 204 */
	CORS_PREFLIGHT_REFUSE,  /* the same from any other origin: 400, no CORS headers */
};

/* True when origin is listed ("*" in the list allows every origin). */
bool cors_origin_allowed(const struct proxy_config *cfg, const char *origin);

/*
 * True when origin is allowed only through "*": it then gets "Access-Control-Allow-Origin: *" and never
 * Access-Control-Allow-Credentials (any site may read answers, none with the user's credentials).
 */
bool cors_only_wildcard(const struct proxy_config *cfg, const char *origin);
/* Decides what a request gets; origin and request_method (Access-Control-Request-Method) may be NULL. */
enum cors_decision cors_decide(const struct proxy_config *cfg, const char *method, const char *origin,
			       const char *request_method);

#endif
