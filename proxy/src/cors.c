/* CORS: echo listed origins with credentials, "*" to any other origin when "*" is listed (never with credentials),
 * answer their preflights, ignore everyone else. */
#include "cors.h"

#include <string.h>

#include "config.h"

bool cors_origin_allowed(const struct proxy_config *cfg, const char *origin)
{
	size_t len;

	if (origin == NULL || origin[0] == '\0')
		return false;
	len = strlen(origin);
	for (size_t i = 0; i < cfg->allowed_origin_count; i++) {
		const char *allowed = cfg->allowed_origins[i];
		size_t alen = cfg->allowed_origin_lengths[i];

		if ((alen == 1 && allowed[0] == '*') || (alen == len && memcmp(allowed, origin, len) == 0))
			return true;
	}
	return false;
}

bool cors_only_wildcard(const struct proxy_config *cfg, const char *origin)
{
	size_t len = origin != NULL ? strlen(origin) : 0;

	/* Listed by name, not as "*": a client sending "Origin: *" matches only the wildcard itself. */
	for (size_t i = 0; i < cfg->allowed_origin_count; i++)
		if (cfg->allowed_origin_lengths[i] == len && memcmp(cfg->allowed_origins[i], origin, len) == 0 &&
		    !(len == 1 && origin[0] == '*'))
			return false;
	return cors_origin_allowed(cfg, origin);
}

enum cors_decision cors_decide(const struct proxy_config *cfg, const char *method, const char *origin,
			       const char *request_method)
{
	bool allowed = cors_origin_allowed(cfg, origin);

	if (strcmp(method, "OPTIONS") == 0 && origin != NULL && request_method != NULL)
		return allowed ? CORS_PREFLIGHT_ALLOW : CORS_PREFLIGHT_REFUSE;
	return allowed ? CORS_ALLOW : CORS_NONE;
}
