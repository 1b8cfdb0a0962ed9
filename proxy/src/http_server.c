/*
 * Request lifecycle (libmicrohttpd): the first callback decides everything that needs no body (CORS, route,
 * limits, token) and may answer at once without reading the body; later callbacks collect the body; the last
 * one makes the single database call. Per-request state is one struct request, freed in request_completed.
 */
#define _POSIX_C_SOURCE 200809L
#include "http_server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "client_addr.h"
#include "config.h"
#include "cors.h"
#include "db_pool.h"
#include "form.h"
#include "jwt_verify.h"
#include "route_table.h"
#include "sqlstate_status.h"
#include "static_assets.h"

/* The contract's limit: bigger bodies answer 413 and are never stored. */
#define MAX_BODY (1024 * 1024)
/*
 * A client that sends its body without waiting for "100 Continue" (browsers, fetch) only sees a refusal (401,
 * 404, 413, ...) if the server reads what it sends: closing a socket with unread data resets the connection
 * and loses the answer. So a refusal decided before the body is held while up to this much is read and dropped;
 * beyond it the answer goes out and the connection is closed.
 */
#define MAX_DRAIN (8 * 1024 * 1024)
#define DETAIL_TOO_LARGE "Treść żądania jest za duża (limit 1 MiB)"
/* Headers and the read buffer share this per-connection memory; larger headers answer 431. */
#define CONNECTION_MEMORY (64 * 1024)
#define POOL_WAIT_MS 5000
/* Verified tokens each server thread remembers: a practice's few users, many times over. */
#define TOKEN_CACHE_PER_THREAD 256
#define MAX_SQL 800
/* After a replica fails to answer, reads go to the primary for this long before it is tried again. */
#define READ_RETRY_MS 1000
/* Sessions whose recent writes keep their reads on the primary (by a hash of the claims; sharing a slot only
 * sends more reads to the primary). */
#define WRITE_SLOTS 1024

#define DETAIL_INTERNAL "Wewnętrzny błąd serwera"
#define DETAIL_UNAVAILABLE "Usługa chwilowo niedostępna, spróbuj ponownie"
#define DETAIL_BAD_UTF8 "Nieprawidłowe kodowanie znaków (wymagane UTF-8)"

static const char root_body[] =
	"{\"message\":\"Witaj w TherapyAssistance API\",\"docs\":\"/docs\",\"version\":\"1.0.0\"}";

struct http_server {
	const struct proxy_config *cfg;
	struct MHD_Daemon *daemon;
	struct db_pool *pool;
	const char *keywords[CONFIG_CONNINFO_MAX];
	const char *values[CONFIG_CONNINFO_MAX];
	char sql[DB_POOL_MAX_STATEMENTS][MAX_SQL];
	const char *statements[DB_POOL_MAX_STATEMENTS];  /* statement n is route_table[n]'s call, or NULL;
							   statement route_count records a replica's audit row */
	/* The read replica (DB_READ_URL), or NULL: GET api routes, in their route_read_sql form. */
	struct db_pool *read_pool;
	const char *read_keywords[CONFIG_CONNINFO_MAX];
	const char *read_values[CONFIG_CONNINFO_MAX];
	char read_sql[DB_POOL_MAX_STATEMENTS][MAX_SQL];
	const char *read_statements[DB_POOL_MAX_STATEMENTS];
	atomic_llong read_retry_at;                      /* monotonic ms before which the replica is not asked */
	atomic_llong last_write[WRITE_SLOTS];            /* monotonic ms of a session's last write */
	pthread_key_t token_cache;                       /* each server thread's struct token_cache */
	atomic_long active_requests;
	atomic_ulong request_counter;
	unsigned request_id_prefix;
	char keep_alive[24];                             /* "timeout=N", N the idle timeout */
};

struct request {
	struct http_server *srv;
	struct timespec started_wall, started_mono;
	char request_id[65];
	char method[16];
	char path[201];
	char client_addr[CLIENT_ADDR_MAX]; /* the peer's, or what a trusted proxy forwarded; "" when unknown */
	char retry_after[16];            /* seconds, for a 429 */
	const char *origin;              /* libmicrohttpd's copy, valid until the request completes */
	bool cors_allowed;
	bool checked;                    /* check_before_body ran */
	bool responded;                  /* an answer is queued or held */
	bool hold;                       /* the body is still coming: answers wait in held until its end */
	bool replica;                    /* the read replica answered */
	struct MHD_Response *held;

	int status;
	struct route_match match;
	char *claims;                    /* verified token payload (free()) */
	char *body;                      /* NUL-terminated, at most MAX_BODY bytes */
	size_t body_len, body_cap;
	size_t received;                 /* body bytes seen, stored or dropped */
};

/* ---- responses ---- */

/* Adds the headers every response carries, queues it and records the status for the access log. */
static enum MHD_Result respond(struct request *r, struct MHD_Connection *c, int status, struct MHD_Response *resp,
			       const char *content_type)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	if (content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Request-Id", r->request_id);
	/* Tells clients when the idle timeout closes the connection, so they do not reuse it just then. */
	MHD_add_response_header(resp, "Keep-Alive", r->srv->keep_alive);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->cors_allowed) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
		MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
		MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS && r->retry_after[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
	r->responded = true;
	r->status = status;
	if (r->hold) {
		r->held = resp;
		return MHD_YES;
	}
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Sends the answer held while the body was read. */
static enum MHD_Result release_held(struct request *r, struct MHD_Connection *c)
{
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, r->held);

	MHD_destroy_response(r->held);
	r->held = NULL;
	r->hold = false;
	return ret;
}

static enum MHD_Result respond_static(struct request *r, struct MHD_Connection *c, int status, const void *data,
				      size_t len, const char *content_type)
{
	return respond(r, c, status,
		       MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT), content_type);
}

/* {"detail": detail}, plus "errors": [{"field", "message"}] when field is given. */
static enum MHD_Result respond_detail(struct request *r, struct MHD_Connection *c, int status, const char *detail,
				      const char *field, const char *message)
{
	json_t *obj = json_pack("{s:s}", "detail", detail);
	char *text;

	if (obj != NULL && field != NULL)
		json_object_set_new(obj, "errors",
				    json_pack("[{s:s,s:s}]", "field", field, "message", message ? message : detail));
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return respond_static(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"detail\":\"" DETAIL_INTERNAL "\"}",
				      strlen("{\"detail\":\"" DETAIL_INTERNAL "\"}"), "application/json");
	return respond(r, c, status, MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE),
		       "application/json");
}

/* ---- the database call ---- */

/* Turns an error result into the contract's status and body: the one SQLSTATE table, applied here only. */
static enum MHD_Result respond_db_error(struct request *r, struct MHD_Connection *c, const PGresult *res)
{
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *column = PQresultErrorField(res, PG_DIAG_COLUMN_NAME);
	int status = sqlstate_status(sqlstate);

	if (status == 500 || status == 503) {
		/* The database's text goes to our log only (for a 500, a bug, with its message): never to the client. */
		json_t *line = json_pack("{s:s,s:s,s:s,s:s++,s:s?}", "level", "error", "request_id", r->request_id,
					 "sqlstate", sqlstate ? sqlstate : "", "route", r->method, " ",
					 r->match.route->pattern, "message", status == 500 ? message : NULL);
		char *text = line != NULL ? json_dumps(line, JSON_COMPACT) : NULL;

		if (text != NULL)
			fprintf(stderr, "%s\n", text);
		free(text);
		json_decref(line);
		return respond_detail(r, c, status, status == 500 ? DETAIL_INTERNAL : DETAIL_UNAVAILABLE, NULL, NULL);
	}
	if (message == NULL)
		message = DETAIL_INTERNAL;
	/* A 429's DETAIL is the number of seconds to wait (ta.login_throttle). */
	if (status == MHD_HTTP_TOO_MANY_REQUESTS) {
		const char *wait = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);

		if (wait != NULL && wait[0] != '\0' && strlen(wait) < sizeof(r->retry_after) &&
		    strspn(wait, "0123456789") == strlen(wait))
			memcpy(r->retry_after, wait, strlen(wait) + 1);
	}
	if (status == 422 && column != NULL)
		return respond_detail(r, c, status, message, column, message);
	return respond_detail(r, c, status, message, NULL, NULL);
}

/*
 * The status a function chose without raising (response.status, PostgREST's way): 200 when it set none,
 * -1 when it set something that is not an HTTP status.
 */
static int answer_status(const PGresult *res)
{
	const char *text = PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1);
	size_t len = strlen(text);

	if (len == 0)
		return MHD_HTTP_OK;
	if (len != 3 || strspn(text, "0123456789") != 3 || text[0] < '2' || text[0] > '5')
		return -1;
	return atoi(text);
}

static long long monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The read-your-writes slot of a session: FNV-1a of its claims (the same token, the same claims). */
static atomic_llong *write_slot(struct http_server *srv, const char *claims)
{
	unsigned long h = 2166136261u;

	for (const char *p = claims; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &srv->last_write[h % WRITE_SLOTS];
}

/* Runs statement on a connection of pool. NULL when no connection was free or the database went away. */
static PGresult *run_on(struct db_pool *pool, size_t statement, int nparams, const char *const *params)
{
	const char *reason = NULL;
	struct db_conn *conn = db_pool_acquire(pool, POOL_WAIT_MS, &reason);
	PGresult *res;

	if (conn == NULL)
		return NULL;
	res = db_conn_exec(pool, conn, statement, nparams, params);
	db_pool_release(pool, conn);
	return res;
}

/* Answers with a statement's (body, response.status) row, or with its error. */
static enum MHD_Result respond_result(struct request *r, struct MHD_Connection *c, const PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2 &&
	    answer_status(res) > 0) {
		const char *json = PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0);
		int status = answer_status(res);
		const char *type = r->match.route->content_type;

		/* A route's own content type describes its successful answer; anything else the function answers is JSON. */
		return respond(r, c, status,
			       MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY),
			       type != NULL && status / 100 == 2 ? type : "application/json");
	}
	if (PQresultStatus(res) == PGRES_FATAL_ERROR)
		return respond_db_error(r, c, res);
	return respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
}

/*
 * Asks the read replica. Returns true when it answered (the answer is queued in *ret), false when the primary
 * must: the replica is down, lags, or refused the call. A successful read's audit row is
 * written on the primary first; if that fails the answer is 503, never data without its audit row.
 */
static bool call_replica(struct request *r, struct MHD_Connection *c, int nparams, const char *const *params,
			 enum MHD_Result *ret)
{
	struct http_server *srv = r->srv;
	size_t statement = (size_t)(r->match.route - route_table);
	long long now = monotonic_ms();
	PGresult *res, *recorded;
	const char *audit;
	char route[128];

	if (now < atomic_load(&srv->read_retry_at) || now - atomic_load(write_slot(srv, r->claims)) <
							     (long long)srv->cfg->read_max_lag_ms)
		return false;
	res = run_on(srv->read_pool, statement, nparams, params);
	if (res == NULL) {
		atomic_store(&srv->read_retry_at, now + READ_RETRY_MS);
		return false;
	}
	/*
	 * No row: the replica lags. An error: the primary decides, since a replica a few milliseconds behind may
	 * not know a user who has just registered (401) or a patient a colleague has just added (404).
	 */
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 3) {
		PQclear(res);
		return false;
	}
	audit = PQgetisnull(res, 0, 2) ? "" : PQgetvalue(res, 0, 2);
	if (audit[0] != '\0') {
		const char *record[4] = {params[0], params[1], route, audit};

		snprintf(route, sizeof(route), "%s %s", r->match.route->method, r->match.route->pattern);
		recorded = run_on(srv->pool, route_count, 4, record);
		if (recorded == NULL || PQresultStatus(recorded) != PGRES_TUPLES_OK) {
			/* A caller deleted meanwhile is refused as such; any other failure withholds the answer. */
			if (recorded != NULL && PQresultStatus(recorded) == PGRES_FATAL_ERROR &&
			    sqlstate_status(PQresultErrorField(recorded, PG_DIAG_SQLSTATE)) == 401)
				*ret = respond_db_error(r, c, recorded);
			else
				*ret = respond_detail(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, DETAIL_UNAVAILABLE, NULL, NULL);
			PQclear(recorded);
			PQclear(res);
			return true;
		}
		PQclear(recorded);
	}
	r->replica = true;
	*ret = respond_result(r, c, res);
	PQclear(res);
	return true;
}

/*
 * Runs the route's statement with params and answers with its JSON or its error: a GET on the read replica
 * when there is one (call_replica), anything else, and whatever the replica cannot answer, on the primary.
 */
static enum MHD_Result call_database(struct request *r, struct MHD_Connection *c, int nparams,
				     const char *const *params)
{
	struct http_server *srv = r->srv;
	size_t statement = (size_t)(r->match.route - route_table);
	bool read = strcmp(r->match.route->method, "GET") == 0;
	PGresult *res;
	enum MHD_Result ret;

	if (read && srv->read_pool != NULL && r->claims != NULL && srv->read_statements[statement] != NULL &&
	    call_replica(r, c, nparams, params, &ret))
		return ret;
	res = run_on(srv->pool, statement, nparams, params);
	if (res == NULL)
		return respond_detail(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, DETAIL_UNAVAILABLE, NULL, NULL);
	/* The session's next reads wait for the replica to have replayed this write (see call_replica). */
	if (!read && srv->read_pool != NULL && r->claims != NULL)
		atomic_store(write_slot(srv, r->claims), monotonic_ms());
	ret = respond_result(r, c, res);
	PQclear(res);
	return ret;
}

struct query_json {
	json_t *object;
	bool invalid;   /* an argument was not UTF-8 */
};

/* Collects query arguments as strings; stops at the first one that is not UTF-8. */
static enum MHD_Result query_argument(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct query_json *q = cls;
	json_t *v = json_string(value != NULL ? value : "");

	(void)kind;
	if (v == NULL || json_object_set_new(q->object, key, v) != 0) {
		q->invalid = true;
		return MHD_NO;
	}
	return MHD_YES;
}

/*
 * Checks that the body is a UTF-8 JSON object. Returns 0, or answers 400/422 itself and returns -1.
 */
static int check_json_body(struct request *r, struct MHD_Connection *c, enum MHD_Result *ret)
{
	json_error_t err;
	json_t *value;

	if (r->body_len == 0) {
		*ret = respond_detail(r, c, 422, "Brak danych w treści żądania", "body", "Pole wymagane");
		return -1;
	}
	if (memchr(r->body, '\0', r->body_len) != NULL) {
		*ret = respond_detail(r, c, 400, "Nieprawidłowy format JSON", "body", "Znak NUL w treści");
		return -1;
	}
	value = json_loadb(r->body, r->body_len, 0, &err);
	if (value == NULL) {
		if (json_error_code(&err) == json_error_invalid_utf8)
			*ret = respond_detail(r, c, 400, DETAIL_BAD_UTF8, "body", err.text);
		else
			*ret = respond_detail(r, c, 422, "Nieprawidłowy format JSON", "body", err.text);
		return -1;
	}
	if (!json_is_object(value)) {
		json_decref(value);
		*ret = respond_detail(r, c, 422, "Treść żądania musi być obiektem JSON", "body", NULL);
		return -1;
	}
	json_decref(value);
	return 0;
}

/* The fields POST /auth/login passes on from a form. */
static const char *const login_fields[] = {"username", "email", "password", NULL};

/* Turns a login form into JSON text in *form_json (caller frees). Returns 0, or answers 422 itself and -1. */
static int login_form_json(struct request *r, struct MHD_Connection *c, char **form_json, enum MHD_Result *ret)
{
	const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *error = NULL;
	json_t *fields;

	*form_json = NULL;
	if (type != NULL && strncasecmp(type, "multipart/form-data", 19) == 0)
		fields = form_multipart_parse(type, r->body, r->body_len, login_fields, &error);
	else if (type != NULL && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
		fields = form_urlencoded_parse(r->body, r->body_len, login_fields, &error);
	else
		return check_json_body(r, c, ret);
	if (fields == NULL) {
		*ret = respond_detail(r, c, 422, error, "body", NULL);
		return -1;
	}
	*form_json = json_dumps(fields, JSON_COMPACT);
	json_decref(fields);
	if (*form_json == NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Builds the api function's arguments in the order route_sql gives them, then calls it. */
static enum MHD_Result dispatch_api(struct request *r, struct MHD_Connection *c)
{
	const struct route *route = r->match.route;
	const char *params[5];
	char id_text[24];
	char *query_json = NULL, *form_json = NULL;
	enum MHD_Result ret = MHD_NO;
	int n = 0;

	params[n++] = r->client_addr;
	if (route->authenticated)
		params[n++] = r->claims;
	if (route->takes_id) {
		snprintf(id_text, sizeof(id_text), "%lld", (long long)r->match.id);
		params[n++] = id_text;
	}
	if (route->takes_text)
		params[n++] = r->match.text;
	if (route->takes_query) {
		struct query_json query = {.object = json_object(), .invalid = false};

		if (query.object == NULL)
			return respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_argument, &query);
		if (query.invalid) {
			json_decref(query.object);
			return respond_detail(r, c, 400, DETAIL_BAD_UTF8, "query", NULL);
		}
		query_json = json_dumps(query.object, JSON_COMPACT);
		json_decref(query.object);
		if (query_json == NULL)
			return respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
		params[n++] = query_json;
	}
	if (route->body == BODY_JSON) {
		if (check_json_body(r, c, &ret) != 0)
			goto out;
		params[n++] = r->body;
	} else if (route->body == BODY_LOGIN_FORM) {
		if (login_form_json(r, c, &form_json, &ret) != 0)
			goto out;
		params[n++] = form_json != NULL ? form_json : r->body;
	}
	ret = call_database(r, c, n, params);
out:
	free(query_json);
	free(form_json);
	return ret;
}

/* GET /health: 200 with api.health()'s answer, or 503 with the reason. */
static enum MHD_Result dispatch_health(struct request *r, struct MHD_Connection *c)
{
	struct http_server *srv = r->srv;
	const char *reason = NULL;
	struct db_conn *conn = db_pool_acquire(srv->pool, POOL_WAIT_MS, &reason);
	PGresult *res;
	enum MHD_Result ret;
	json_t *obj;
	char *text;

	if (conn != NULL) {
		res = db_conn_exec(srv->pool, conn, (size_t)(r->match.route - route_table), 0, NULL);
		db_pool_release(srv->pool, conn);
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		    !PQgetisnull(res, 0, 0)) {
			const char *json = PQgetvalue(res, 0, 0);

			ret = respond(r, c, MHD_HTTP_OK,
				      MHD_create_response_from_buffer(strlen(json), (void *)json, MHD_RESPMEM_MUST_COPY),
				      "application/json");
			PQclear(res);
			return ret;
		}
		reason = res == NULL ? "database connection lost" : "database did not answer api.health()";
		PQclear(res);
	}
	obj = json_pack("{s:s,s:s}", "status", "unhealthy", "detail", reason);
	text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	return respond(r, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		       MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE), "application/json");
}

static enum MHD_Result respond_asset(struct request *r, struct MHD_Connection *c, const char *name, size_t len)
{
	struct static_asset asset;

	if (static_asset_find(name, len, &asset) != 0)
		return respond_detail(r, c, MHD_HTTP_NOT_FOUND, "Not Found", NULL, NULL);
	return respond_static(r, c, MHD_HTTP_OK, asset.data, asset.size, asset.content_type);
}

/* The last callback of a request that was not answered early: the body is complete. */
static enum MHD_Result dispatch(struct request *r, struct MHD_Connection *c)
{
	const char *asset;

	switch (r->match.route->handler) {
	case HANDLER_API:
		return dispatch_api(r, c);
	case HANDLER_HEALTH:
		return dispatch_health(r, c);
	case HANDLER_ROOT:
		return respond_static(r, c, MHD_HTTP_OK, root_body, sizeof(root_body) - 1, "application/json");
	case HANDLER_OPENAPI:
		return respond_asset(r, c, "openapi.json", 12);
	case HANDLER_DOCS:
		return respond_asset(r, c, "index.html", 10);
	case HANDLER_REDOC:
		return respond_asset(r, c, "redoc.html", 10);
	case HANDLER_DOCS_ASSET:
		asset = r->path + strlen("/docs/");
		return respond_asset(r, c, asset, strcspn(asset, "/"));
	}
	return respond_detail(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, DETAIL_INTERNAL, NULL, NULL);
}

/* ---- the first callback: everything decided before the body ---- */

/* This server thread's token cache, made on first use (NULL when out of memory: tokens are then verified in full). */
static struct token_cache *thread_token_cache(struct http_server *srv)
{
	struct token_cache *cache = pthread_getspecific(srv->token_cache);

	if (cache == NULL) {
		cache = token_cache_create(TOKEN_CACHE_PER_THREAD);
		if (cache != NULL && pthread_setspecific(srv->token_cache, cache) != 0) {
			token_cache_destroy(cache);
			cache = NULL;
		}
	}
	return cache;
}

/* Verifies the bearer token into r->claims. Returns 0, or answers 401 itself and returns -1. */
static int authenticate(struct request *r, struct MHD_Connection *c, enum MHD_Result *ret)
{
	const char *header = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const struct proxy_config *cfg = r->srv->cfg;
	const char *token;

	if (header == NULL) {
		*ret = respond_detail(r, c, MHD_HTTP_UNAUTHORIZED, "Not authenticated", NULL, NULL);
		return -1;
	}
	if (strncasecmp(header, "Bearer ", 7) != 0) {
		*ret = respond_detail(r, c, MHD_HTTP_UNAUTHORIZED, "Not authenticated", NULL, NULL);
		return -1;
	}
	token = header + 7;
	while (*token == ' ')
		token++;
	if (jwt_verify_hs256_cached(thread_token_cache(r->srv), token, (const unsigned char *)cfg->jwt_secret,
				    cfg->jwt_secret_len, time(NULL), &r->claims) != JWT_VALID) {
		*ret = respond_detail(r, c, MHD_HTTP_UNAUTHORIZED, "Could not validate credentials", NULL, NULL);
		return -1;
	}
	return 0;
}

static enum MHD_Result respond_preflight(struct request *r, struct MHD_Connection *c)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	const char *headers = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
	MHD_add_response_header(resp, "Access-Control-Allow-Headers",
				headers != NULL && strlen(headers) < 1024 ? headers : "Authorization, Content-Type");
	MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
	return respond(r, c, MHD_HTTP_NO_CONTENT, resp, NULL);
}

/* A client's X-Request-Id is kept when it is short and plain; otherwise one is made up. */
static void set_request_id(struct request *r, struct MHD_Connection *c)
{
	const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	size_t len = given != NULL ? strlen(given) : 0;

	if (len > 0 && len < sizeof(r->request_id) &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len) {
		memcpy(r->request_id, given, len + 1);
		return;
	}
	snprintf(r->request_id, sizeof(r->request_id), "%08x%08lx", r->srv->request_id_prefix,
		 (unsigned long)atomic_fetch_add(&r->srv->request_counter, 1));
}

/* The client's address (see client_addr_resolve); "" when the peer's cannot be told. */
static void set_client_addr(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[CLIENT_ADDR_MAX];

	if (info == NULL || client_addr_from_sockaddr(info->client_addr, peer) != 0)
		return;
	client_addr_resolve(peer, r->srv->cfg->trusted_proxies,
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP"),
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"), r->client_addr);
}

static void begin_request(struct http_server *srv, struct MHD_Connection *c, const char *url, const char *method,
			  struct request *r)
{
	r->srv = srv;
	clock_gettime(CLOCK_REALTIME, &r->started_wall);
	clock_gettime(CLOCK_MONOTONIC, &r->started_mono);
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", url);
	set_request_id(r, c);
	set_client_addr(r, c);
}

/* True when the client waits for "100 Continue" before sending its body. */
static bool expects_continue(struct MHD_Connection *c)
{
	const char *expect = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return expect != NULL && strcasecmp(expect, "100-continue") == 0;
}

/* True when the client announced a body (Content-Length above 0 or chunked). */
static bool body_announced(struct MHD_Connection *c)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (length != NULL && strtoull(length, NULL, 10) > 0) ||
	       MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/*
 * Decides everything that needs no body: CORS preflight, route, size limit, token. Answers when one of them
 * refuses; returns MHD_YES without answering when the request may go on.
 */
static enum MHD_Result check_before_body(struct request *r, struct MHD_Connection *c, const char *url,
					 const char *method)
{
	const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct http_server *srv = r->srv;
	enum cors_decision cors;
	enum MHD_Result ret;

	r->checked = true;
	r->origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
	cors = cors_decide(srv->cfg, method, r->origin,
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
	if (length != NULL && strtoull(length, NULL, 10) > MAX_BODY) {
		if (strtoull(length, NULL, 10) > MAX_DRAIN)
			r->hold = false;
		return respond_detail(r, c, MHD_HTTP_CONTENT_TOO_LARGE, DETAIL_TOO_LARGE, NULL, NULL);
	}
	if (r->match.route->authenticated && authenticate(r, c, &ret) != 0)
		return ret;
	return MHD_YES;
}

/* Appends upload data to r->body. Returns -1 when the body would exceed MAX_BODY or memory runs out. */
static int append_body(struct request *r, const char *data, size_t len)
{
	if (r->body_len + len > MAX_BODY)
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;

	(void)version;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*req_cls = r;
		atomic_fetch_add(&srv->active_requests, 1);
		begin_request(srv, c, url, method, r);
		/*
		 * With a body announced, refusals are decided now, before it is read: a client waiting for
		 * "100 Continue" gets them at once and never sends it (libmicrohttpd then closes the connection);
		 * any other client's body is read and dropped first (see MAX_DRAIN). Requests without a body are
		 * checked at their last callback.
		 */
		if (body_announced(c)) {
			r->hold = !expects_continue(c);
			return check_before_body(r, c, url, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t len = *upload_data_size;

		*upload_data_size = 0;
		r->received += len;
		if (r->held != NULL)
			return r->received > MAX_DRAIN ? release_held(r, c) : MHD_YES;
		if (r->responded)
			return MHD_YES;
		/* Chunked bodies have no Content-Length: they are cut off here instead. */
		if (append_body(r, upload_data, len) != 0)
			return respond_detail(r, c, MHD_HTTP_CONTENT_TOO_LARGE, DETAIL_TOO_LARGE, NULL, NULL);
		return MHD_YES;
	}
	/* The body is complete: nothing waits any more. */
	if (r->held != NULL)
		return release_held(r, c);
	r->hold = false;
	if (!r->checked && (check_before_body(r, c, url, method) != MHD_YES || r->responded))
		return r->responded ? MHD_YES : MHD_NO;
	if (r->responded)
		return MHD_YES;
	if (r->body == NULL && append_body(r, "", 0) != 0)
		return MHD_NO;
	return dispatch(r, c);
}

static void request_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct request *r = *req_cls;
	struct timespec now;
	struct access_log_entry entry;

	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	entry.started = r->started_wall;
	entry.duration_ms = (double)(now.tv_sec - r->started_mono.tv_sec) * 1e3 +
			    (double)(now.tv_nsec - r->started_mono.tv_nsec) / 1e6;
	entry.method = r->method;
	entry.path = r->path;
	entry.status = r->responded ? r->status : 0;
	entry.request_id = r->request_id;
	entry.replica = r->replica;
	access_log_write(&entry);
	if (r->held != NULL)
		MHD_destroy_response(r->held); /* the client went away before its body ended */
	free(r->claims);
	free(r->body);
	free(r);
	*req_cls = NULL;
	atomic_fetch_sub(&srv->active_requests, 1);
}

/*
 * Decodes %XX in the path and query in place, except %00: libmicrohttpd hands them on as C strings, where a
 * NUL would silently cut "/patients/%00" to "/patients/". Left encoded, it is just an invalid id or value.
 */
static size_t unescape_keeping_nul(void *cls, struct MHD_Connection *c, char *s)
{
	char *out = s;

	(void)cls;
	(void)c;
	for (char *in = s; *in != '\0'; in++) {
		int hi, lo;

		if (*in == '%' && (hi = form_hex_digit(in[1])) >= 0 && (lo = form_hex_digit(in[2])) >= 0 &&
		    (hi | lo) != 0) {
			*out++ = (char)(hi * 16 + lo);
			in += 2;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

/* Fills addr from a numeric IPv4 or IPv6 address. Returns 0, or -1 when it is neither. */
static int listen_address_parse(const char *text, unsigned port, struct sockaddr_storage *addr)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;

	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -1;
}

static int prepare_statements(struct http_server *srv)
{
	if (route_count + 1 > DB_POOL_MAX_STATEMENTS)
		return -1;
	for (size_t i = 0; i < route_count; i++) {
		const struct route *route = &route_table[i];

		if (route->function == NULL)
			continue;
		if (route_sql(route, srv->sql[i], sizeof(srv->sql[i])) < 0)
			return -1;
		srv->statements[i] = srv->sql[i];
		if (srv->cfg->read_database_url != NULL &&
		    route_read_sql(route, srv->cfg->read_max_lag_ms, srv->read_sql[i], sizeof(srv->read_sql[i])) > 0)
			srv->read_statements[i] = srv->read_sql[i];
	}
	srv->statements[route_count] = ROUTE_RECORD_READ_SQL;
	return 0;
}

/* Frees what http_server_start made once the token cache key exists: the pools, the key, the server. */
static void server_free(struct http_server *srv)
{
	db_pool_destroy(srv->read_pool);
	db_pool_destroy(srv->pool);
	pthread_key_delete(srv->token_cache);
	free(srv);
}

struct http_server *http_server_start(const struct proxy_config *cfg)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct sockaddr_storage addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (srv == NULL)
		return NULL;
	srv->cfg = cfg;
	snprintf(srv->keep_alive, sizeof(srv->keep_alive), "timeout=%u", cfg->connection_timeout_seconds);
	if (getrandom(&srv->request_id_prefix, sizeof(srv->request_id_prefix), 0) < 0)
		srv->request_id_prefix = (unsigned)getpid();
	config_conninfo(cfg, srv->keywords, srv->values);
	if (prepare_statements(srv) != 0) {
		fprintf(stderr, "therapyassistance-proxy: a route's SQL does not fit\n");
		free(srv);
		return NULL;
	}
	/* A server thread's cache is freed when the thread ends (MHD_stop_daemon joins them). */
	if (pthread_key_create(&srv->token_cache, token_cache_destroy) != 0) {
		free(srv);
		return NULL;
	}
	srv->pool = db_pool_create(srv->keywords, srv->values, cfg->pool_size, srv->statements, route_count + 1,
				   cfg->prepared_statements != 0);
	if (cfg->read_database_url != NULL) {
		config_read_conninfo(cfg, srv->read_keywords, srv->read_values);
		srv->read_pool = db_pool_create(srv->read_keywords, srv->read_values, cfg->pool_size,
						srv->read_statements, route_count, cfg->prepared_statements != 0);
	}
	if (srv->pool == NULL || (cfg->read_database_url != NULL && srv->read_pool == NULL) ||
	    listen_address_parse(cfg->listen_address, cfg->port, &addr) != 0) {
		fprintf(stderr, "therapyassistance-proxy: cannot use LISTEN_ADDRESS \"%s\"\n", cfg->listen_address);
		server_free(srv);
		return NULL;
	}
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_NOTIFY_COMPLETED,
		request_completed, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
		cfg->threads, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		cfg->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT, cfg->connection_timeout_seconds,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape_keeping_nul, NULL,
		MHD_OPTION_END);
	if (srv->daemon == NULL) {
		fprintf(stderr, "therapyassistance-proxy: cannot listen on %s port %u\n", cfg->listen_address, cfg->port);
		server_free(srv);
		return NULL;
	}
	return srv;
}

void http_server_stop(struct http_server *srv, int grace_seconds)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};

	MHD_socket listener = MHD_quiesce_daemon(srv->daemon);

	for (int waited = 0; atomic_load(&srv->active_requests) > 0 && waited < grace_seconds * 20; waited++)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(srv->daemon);
	/* The quiesced listening socket is ours to close, after the daemon's threads are gone. */
	if (listener != MHD_INVALID_SOCKET)
		close(listener);
	server_free(srv);
}
