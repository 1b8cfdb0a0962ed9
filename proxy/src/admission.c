/* Admission of a request (see admission.h): the checks made from its headers, and its body under the limits. */
#define _POSIX_C_SOURCE 200809L
#include "admission.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bearer_auth.h"
#include "cors.h"
#include "db_pool.h"
#include "response.h"
#include "route_table.h"
#include "schema_gate.h"

/*
 * A client that sends its body without waiting for "100 Continue" (browsers, fetch) only sees a refusal (401,
 * 404, 413, ...) if the server reads what it sends: closing a socket with unread data resets the connection
 * and loses the answer. So a refusal decided before the body is held while up to this much is read and dropped;
 * beyond it the answer goes out and the connection is closed.
 */
#define MAX_DRAIN (8 * 1024 * 1024)
#define DETAIL_TOO_LARGE "Treść żądania jest za duża (limit 1 MiB)"
#define POOL_WAIT_MS 5000
#define MAX_DETAIL 512

bool admission_expects_continue(struct MHD_Connection *c)
{
	const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return expect != NULL && strcasecmp(expect, "100-continue") == 0;
}

bool admission_body_announced(struct MHD_Connection *c)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (length != NULL && strtoull(length, NULL, 10) > 0) ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/*
 * True when the schema is older than this proxy needs; then answers 503 itself. A schema not yet seen (or seen
 * old a while ago) is looked at first, at most once a second: a connection is opened, and so checked, and
 * stays in the pool.
 */
static bool refused_by_schema(struct request *r, struct MHD_Connection *c, enum MHD_Result *ret)
{
	struct schema_gate *gate = r->env->schema;
	char installed[32], detail[MAX_DETAIL];
	enum schema_state state = schema_gate_state(gate, NULL, 0);

	if (state == SCHEMA_CURRENT)
		return false;
	if (state == SCHEMA_UNKNOWN && schema_gate_may_probe(gate)) {
		const char *reason = NULL;
		struct db_conn *conn = db_pool_acquire(r->env->pool, POOL_WAIT_MS, &reason);

		if (conn != NULL)
			db_pool_release(r->env->pool, conn);
	}
	if (schema_gate_state(gate, installed, sizeof(installed)) != SCHEMA_OLD)
		return false;
	*ret = respond_detail(r, c, MHD_HTTP_SERVICE_UNAVAILABLE,
			      schema_gate_detail(gate, installed, detail, sizeof(detail)), NULL, NULL);
	return true;
}

/*
 * Verifies the bearer token (only the verdict: the claims are the database's to read). Returns 0, or answers 401
 * itself and returns -1.
 */
static int authenticate(struct request *r, struct MHD_Connection *c, enum MHD_Result *ret)
{
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *refused = bearer_auth_verify(r->env->auth, header, time(NULL), NULL);

	if (refused != NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_UNAUTHORIZED, refused, NULL, NULL);
		return -1;
	}
	/*
	 * The database verifies the token again (ta.caller): it is the check that decides. The token stays in
	 * libmicrohttpd's copy of the header, valid until the request completes (like r->origin): no copy.
	 */
	r->token = bearer_auth_token(header);
	return 0;
}

enum MHD_Result admission_check(struct request *r, struct MHD_Connection *c, const char *url, const char *method)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	enum cors_decision cors;
	enum MHD_Result ret;

	r->checked = true;
	r->origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
	cors = cors_decide(r->env->cfg, method, r->origin,
			   MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Method"));
	r->cors_allowed = cors == CORS_ALLOW || cors == CORS_PREFLIGHT_ALLOW;
	if (cors == CORS_PREFLIGHT_ALLOW)
		return respond_preflight(r, c);
	if (cors == CORS_PREFLIGHT_REFUSE)
		return respond_detail(r, c, MHD_HTTP_BAD_REQUEST, "Disallowed CORS origin", NULL, NULL);

	switch (route_find(method, url, &r->match)) {
	case ROUTE_NOT_FOUND:
		return respond_detail(r, c, MHD_HTTP_NOT_FOUND, "Not Found", NULL, NULL);
	case ROUTE_METHOD_NOT_ALLOWED: {
		struct MHD_Response *resp;
		static const char body[] = "{\"detail\":\"Method Not Allowed\"}";

		resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->match.allow);
		return respond(r, c, MHD_HTTP_METHOD_NOT_ALLOWED, resp, "application/json");
	}
	case ROUTE_BAD_ID: {
		char field[32];

		snprintf(field, sizeof(field), "%.*s", (int)r->match.param_name_len, r->match.param_name);
		return respond_detail(r, c, 422, "Nieprawidłowy identyfikator", field,
				      "Identyfikator musi być liczbą całkowitą");
	}
	case ROUTE_FOUND:
		break;
	}
	/* Every route but /health (which says why itself) answers 503 on an old schema, before anything else. */
	if (r->match.route->handler != HANDLER_HEALTH && refused_by_schema(r, c, &ret))
		return ret;
	if (length != NULL && strtoull(length, NULL, 10) > ADMISSION_MAX_BODY) {
		if (strtoull(length, NULL, 10) > MAX_DRAIN)
			r->hold = false;
		return respond_detail(r, c, MHD_HTTP_CONTENT_TOO_LARGE, DETAIL_TOO_LARGE, NULL, NULL);
	}
	if (r->match.route->authenticated && authenticate(r, c, &ret) != 0)
		return ret;
	return MHD_YES;
}

/* Appends upload data to r->body. Returns -1 when the body would exceed the limit or memory runs out. */
static int append_body(struct request *r, const char *data, size_t len)
{
	if (r->body_len + len > ADMISSION_MAX_BODY)
		return -1;
	if (r->body_len + len + 1 > r->body_cap) {
		size_t cap = r->body_cap ? r->body_cap : 4096;
		char *grown;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		grown = realloc(r->body, cap);
		if (grown == NULL)
			return -1;
		r->body = grown;
		r->body_cap = cap;
	}
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

enum MHD_Result admission_body_data(struct request *r, struct MHD_Connection *c, const char *data, size_t len)
{
	r->received += len;
	if (r->held != NULL)
		return r->received > MAX_DRAIN ? respond_release_held(r, c) : MHD_YES;
	if (r->responded)
		return MHD_YES;
	/* Chunked bodies have no Content-Length: they are cut off here instead. */
	if (append_body(r, data, len) != 0)
		return respond_detail(r, c, MHD_HTTP_CONTENT_TOO_LARGE, DETAIL_TOO_LARGE, NULL, NULL);
	return MHD_YES;
}

int admission_body_end(struct request *r)
{
	return r->body == NULL ? append_body(r, "", 0) : 0;
}
