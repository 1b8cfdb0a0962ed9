/*
 * Request lifecycle (libmicrohttpd): the first callback decides everything that needs no body (CORS, route,
 * limits, token) and may answer at once without reading the body; later callbacks collect the body; the last
 * one makes the single database call (api_call.c). Per-request state is one struct request (request.h), freed in
 * request_completed. Answers go out through response.c, tokens are checked by bearer_auth.c, reads may go to a
 * replica (read_routing.c), and an old schema closes everything but /health (schema_gate.c).
 */
#define _POSIX_C_SOURCE 200809L
#include "http_server.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
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
#include "api_call.h"
#include "bearer_auth.h"
#include "client_addr.h"
#include "config.h"
#include "cors.h"
#include "db_pool.h"
#include "form.h"
#include "read_routing.h"
#include "request.h"
#include "response.h"
#include "route_table.h"
#include "schema_gate.h"
#include "static_assets.h"

#ifndef TA_SCHEMA_VERSION
#error "TA_SCHEMA_VERSION (therapyassistance.control's default_version) must be defined by the build"
#endif

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
#define MAX_SQL 800
#define MAX_DETAIL 512

static const char root_body[] =
	"{\"message\":\"Witaj w TherapyAssistance API\",\"docs\":\"/docs\",\"version\":\"1.0.0\"}";

struct http_server {
	struct request_env env;                          /* what requests see: config, pools, auth, schema */
	struct MHD_Daemon *daemon;
	const char *keywords[CONFIG_CONNINFO_MAX];
	const char *values[CONFIG_CONNINFO_MAX];
	char sql[DB_POOL_MAX_STATEMENTS][MAX_SQL];
	const char *statements[DB_POOL_MAX_STATEMENTS];  /* statement n is route_table[n]'s call, or NULL;
							   statement route_count records a replica's audit row */
	atomic_long active_requests;
	atomic_ulong request_counter;
	unsigned request_id_prefix;
};

/* {"status": "unhealthy", "detail": reason} with 503. */
static enum MHD_Result respond_unhealthy(struct request *r, struct MHD_Connection *c, const char *reason)
{
	json_t *obj = json_pack("{s:s,s:s}", "status", "unhealthy", "detail", reason);
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	return respond(r, c, MHD_HTTP_SERVICE_UNAVAILABLE,
		       MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE), "application/json");
}

/*
 * GET /health: 200 with api.health()'s answer ({"status": "healthy", "schema_version"}) when the database
 * answers on a schema this proxy can use; 503 {"status": "unhealthy", "detail"} with the reason (an old schema:
 * both versions and the upgrade command) otherwise.
 */
static enum MHD_Result dispatch_health(struct request *r, struct MHD_Connection *c)
{
	const struct request_env *env = r->env;
	PGresult *res = db_pool_run(env->pool, POOL_WAIT_MS, (size_t)(r->match.route - route_table), 0, NULL);
	char installed[32], detail[MAX_DETAIL];
	const char *reason;
	enum MHD_Result ret;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		return respond_json(r, c, MHD_HTTP_OK, PQgetvalue(res, 0, 0), res);
	if (res != NULL)
		reason = "database did not answer api.health()";
	else if (schema_gate_state(env->schema, installed, sizeof(installed)) == SCHEMA_OLD ||
		 (installed[0] != '\0' && schema_version_compare(installed, TA_SCHEMA_VERSION) < 0))
		reason = schema_gate_detail(env->schema, installed, detail, sizeof(detail));
	else
		reason = "database unavailable";
	ret = respond_unhealthy(r, c, reason);
	PQclear(res);
	return ret;
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
		return api_call(r, c);
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

/* "%08x%08lx" of prefix and counter into out (at least 25 bytes), without printf's machinery. */
static void format_request_id(char *out, unsigned prefix, unsigned long counter)
{
	static const char hex[] = "0123456789abcdef";
	char digits[2 * sizeof(unsigned long)];
	size_t n = 0, pos = 0;

	for (int shift = 28; shift >= 0; shift -= 4)
		out[pos++] = hex[(prefix >> shift) & 15];
	do {
		digits[n++] = hex[counter & 15];
		counter >>= 4;
	} while (counter > 0);
	while (n < 8)
		digits[n++] = '0';
	while (n > 0)
		out[pos++] = digits[--n];
	out[pos] = '\0';
}

/* Copies s into out (size bytes), cut as snprintf's "%s" would. */
static void copy_cut(char *out, size_t size, const char *s)
{
	size_t len = strnlen(s, size - 1);

	memcpy(out, s, len);
	out[len] = '\0';
}

/* A client's X-Request-Id is kept when it is short and plain; otherwise one is made up. */
static void set_request_id(struct http_server *srv, struct request *r, struct MHD_Connection *c)
{
	const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	size_t len = given != NULL ? strlen(given) : 0;

	if (len > 0 && len < sizeof(r->request_id) &&
	    strspn(given, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len) {
		memcpy(r->request_id, given, len + 1);
		return;
	}
	format_request_id(r->request_id, srv->request_id_prefix, (unsigned long)atomic_fetch_add(&srv->request_counter, 1));
}

/* The client's address (see client_addr_resolve); "" when the peer's cannot be told. */
static void set_client_addr(struct request *r, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[CLIENT_ADDR_MAX];

	if (info == NULL || client_addr_from_sockaddr(info->client_addr, peer) != 0)
		return;
	client_addr_resolve(peer, r->env->cfg->trusted_proxies,
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Real-IP"),
			    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For"), r->client_addr);
}

static void begin_request(struct http_server *srv, struct MHD_Connection *c, const char *url, const char *method,
			  struct request *r)
{
	r->env = &srv->env;
	clock_gettime(CLOCK_REALTIME, &r->started_wall);
	clock_gettime(CLOCK_MONOTONIC, &r->started_mono);
	copy_cut(r->method, sizeof(r->method), method);
	copy_cut(r->path, sizeof(r->path), url);
	set_request_id(srv, r, c);
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
			return r->received > MAX_DRAIN ? respond_release_held(r, c) : MHD_YES;
		if (r->responded)
			return MHD_YES;
		/* Chunked bodies have no Content-Length: they are cut off here instead. */
		if (append_body(r, upload_data, len) != 0)
			return respond_detail(r, c, MHD_HTTP_CONTENT_TOO_LARGE, DETAIL_TOO_LARGE, NULL, NULL);
		return MHD_YES;
	}
	/* The body is complete: nothing waits any more. */
	if (r->held != NULL)
		return respond_release_held(r, c);
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

/* The primary's statements: each api route's call (route_sql), then the replica's audit rows. */
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
	}
	srv->statements[route_count] = ROUTE_RECORD_READ_SQL;
	return 0;
}

/* Writes the rest of the access log and frees what http_server_start made (each part may be NULL): the pools, the auth, the schema gate, the server. */
static void server_free(struct http_server *srv)
{
	access_log_stop();
	read_routing_destroy(srv->env.reads);
	db_pool_destroy(srv->env.pool);
	bearer_auth_destroy(srv->env.auth);
	schema_gate_destroy(srv->env.schema);
	free(srv);
}

struct http_server *http_server_start(const struct proxy_config *cfg)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	struct request_env *env;
	struct sockaddr_storage addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;

	if (srv == NULL)
		return NULL;
	env = &srv->env;
	env->cfg = cfg;
	snprintf(env->keep_alive, sizeof(env->keep_alive), "timeout=%u", cfg->connection_timeout_seconds);
	if (getrandom(&srv->request_id_prefix, sizeof(srv->request_id_prefix), 0) < 0)
		srv->request_id_prefix = (unsigned)getpid();
	config_conninfo(cfg, srv->keywords, srv->values);
	if (prepare_statements(srv) != 0) {
		fprintf(stderr, "therapyassistance-proxy: a route's SQL does not fit\n");
		free(srv);
		return NULL;
	}
	env->auth = bearer_auth_create(cfg->jwt_secret, cfg->jwt_secret_len);
	env->schema = schema_gate_create(TA_SCHEMA_VERSION);
	env->pool = db_pool_create(srv->keywords, srv->values, cfg->pool_size, srv->statements, route_count + 1,
				   cfg->prepared_statements != 0);
	if (env->pool != NULL && env->schema != NULL)
		db_pool_on_open(env->pool, schema_gate_check, env->schema);
	if (cfg->read_database_url != NULL)
		env->reads = read_routing_create(cfg, route_count);
	if (env->auth == NULL || env->schema == NULL || env->pool == NULL ||
	    (cfg->read_database_url != NULL && env->reads == NULL)) {
		fprintf(stderr, "therapyassistance-proxy: out of memory\n");
		server_free(srv);
		return NULL;
	}
	if (listen_address_parse(cfg->listen_address, cfg->port, &addr) != 0) {
		fprintf(stderr, "therapyassistance-proxy: cannot use LISTEN_ADDRESS \"%s\"\n", cfg->listen_address);
		server_free(srv);
		return NULL;
	}
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (access_log_start() != 0)
		fprintf(stderr, "therapyassistance-proxy: access log unbuffered (no writer thread)\n");
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
