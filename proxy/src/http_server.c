/*
 * Request lifecycle (libmicrohttpd): the first callback decides everything that needs no body (CORS, route,
 * limits, token) and may answer at once without reading the body; later callbacks collect the body; the last
 * one hands it to its route's handler (dispatch.c). Per-request state is one struct request (request.h), freed in
 * request_completed. What a request must pass and its body's limits are admission.c's; answers go out through
 * response.c, tokens are checked by bearer_auth.c, reads may go to a replica (read_routing.c), and an old schema
 * closes everything but /health (schema_gate.c). This file keeps the callbacks, the request's id, address and
 * access-log line, and the daemon's start and stop.
 */
#define _POSIX_C_SOURCE 200809L
#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "access_log.h"
#include "admission.h"
#include "bearer_auth.h"
#include "client_addr.h"
#include "config.h"
#include "db_pool.h"
#include "dispatch.h"
#include "form.h"
#include "read_routing.h"
#include "request.h"
#include "response.h"
#include "route_table.h"
#include "schema_gate.h"

#ifndef TA_SCHEMA_VERSION
#error "TA_SCHEMA_VERSION (therapyassistance.control's default_version) must be defined by the build"
#endif

/* Headers and the read buffer share this per-connection memory; larger headers answer 431. */
#define CONNECTION_MEMORY (64 * 1024)
#define MAX_SQL 800

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
		 * any other client's body is read and dropped first (admission.c's MAX_DRAIN). Requests without a
		 * body are checked at their last callback.
		 */
		if (admission_body_announced(c)) {
			r->hold = !admission_expects_continue(c);
			return admission_check(r, c, url, method);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t len = *upload_data_size;

		*upload_data_size = 0;
		return admission_body_data(r, c, upload_data, len);
	}
	/* The body is complete: nothing waits any more. */
	if (r->held != NULL)
		return respond_release_held(r, c);
	r->hold = false;
	if (!r->checked && (admission_check(r, c, url, method) != MHD_YES || r->responded))
		return r->responded ? MHD_YES : MHD_NO;
	if (r->responded)
		return MHD_YES;
	if (admission_body_end(r) != 0)
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
