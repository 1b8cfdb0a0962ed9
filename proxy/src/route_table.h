/* The route table: every path the proxy serves, and the api function behind each. */
#ifndef TA_ROUTE_TABLE_H
#define TA_ROUTE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum route_handler {
	HANDLER_API,          /* one call of an api function */
	HANDLER_ROOT,         /* GET / */
	HANDLER_HEALTH,       /* GET /health: api.health(), 503 when the database does not answer */
	HANDLER_OPENAPI,      /* GET /openapi.json */
	HANDLER_DOCS,         /* GET /docs */
	HANDLER_DOCS_ASSET,   /* GET /docs/{asset}: the bundled Swagger UI and ReDoc files */
	HANDLER_REDOC,        /* GET /redoc */
};

/* How the request body becomes the function's json argument. */
enum route_body {
	BODY_NONE,
	BODY_JSON,            /* a JSON object, passed as is */
	BODY_LOGIN_FORM,      /* multipart, urlencoded or JSON, turned into {"username", "password"} */
};

struct route {
	const char *method;
	const char *pattern;       /* literal segments and one "{name}" parameter at most, which may end a segment
				      followed by a literal suffix ("{token}.ics") */
	enum route_handler handler;
	const char *function;      /* api function for HANDLER_API and HANDLER_HEALTH */
	bool authenticated;        /* needs a verified bearer token; the token itself goes to request.jwt */
	bool takes_id;             /* the path parameter is the first argument (bigint) */
	bool takes_query;          /* the query string, as a JSON object of strings, is an argument */
	enum route_body body;
	bool in_openapi;           /* described in openapi.json (the docs routes are not, as in FastAPI) */
	bool takes_text;           /* the path parameter is the first argument as text (ROUTE_TEXT_MAX bytes at most) */
	const char *content_type;  /* of the function's 2xx answer, which is sent as it is; NULL: application/json */
};

/* A text path parameter longer than this matches no route. */
#define ROUTE_TEXT_MAX 128

extern const struct route route_table[];
extern const size_t route_count;

enum route_match_result {
	ROUTE_FOUND,
	ROUTE_NOT_FOUND,
	ROUTE_METHOD_NOT_ALLOWED,  /* path known, method not: allow lists the methods */
	ROUTE_BAD_ID,              /* path known, but its parameter is not an integer id */
};

struct route_match {
	const struct route *route;
	int64_t id;
	char text[ROUTE_TEXT_MAX + 1];  /* for a route that takes_text: the parameter, NUL-terminated */
	const char *param_name;    /* for ROUTE_BAD_ID: the pattern's parameter name, without braces */
	size_t param_name_len;
	char allow[64];            /* for ROUTE_METHOD_NOT_ALLOWED: "GET, POST, OPTIONS" */
};

/* Finds the route for method and path (path without query string; one trailing slash is ignored). */
enum route_match_result route_find(const char *method, const char *path, struct route_match *m);

/* Parses a path id: decimal digits only, fits in bigint. Returns 0 or -1. */
int route_parse_id(const char *s, size_t len, int64_t *out);

/*
 * Writes the SQL prepared for an api route into buf: the client address as $1, the bearer token as $2 for authenticated
 * routes, then id, query and body in that order; it answers one row of (body, response.status). GET /health's
 * takes nothing and answers the body only. Returns the length, or -1 when buf is too small or the route calls
 * no function.
 */
int route_sql(const struct route *r, char *buf, size_t buflen);

/*
 * The SQL a read replica runs for a GET api route (DB_READ_URL): route_sql's, answering no row at all when the
 * standby has not replayed a commit within max_lag_ms (the proxy then asks the primary), and a third column,
 * response.audit: the audit row the primary must record (api.record_read) before the answer may leave. Returns
 * -1 for routes that are not GET api routes.
 */
int route_read_sql(const struct route *r, unsigned max_lag_ms, char *buf, size_t buflen);

/* The statement that records a replica's audit row on the primary: $1 address, $2 token, $3 route, $4 row. */
#define ROUTE_RECORD_READ_SQL                                                                                   \
	"WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', $1, true), "                     \
	"set_config('request.jwt', $2, true), set_config('request.route', $3, true)) "                           \
	"SELECT api.record_read($4::json)::text, current_setting('response.status', true) FROM request"

#endif
