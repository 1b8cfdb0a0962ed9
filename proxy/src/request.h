/*
 * The state of one HTTP request, from its first callback to request_completed (http_server.c allocates it,
 * hangs it on the connection and frees it), and the server-wide things every request may use.
 */
#ifndef TA_REQUEST_H
#define TA_REQUEST_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "client_addr.h"
#include "route_table.h"

struct proxy_config;
struct db_pool;
struct read_routing;
struct bearer_auth;
struct schema_gate;

/* What the server shares with every request; owned by http_server.c, lives as long as the server. */
struct request_env {
	const struct proxy_config *cfg;
	struct db_pool *pool;             /* the primary */
	struct read_routing *reads;       /* the read replica (DB_READ_URL), or NULL */
	struct bearer_auth *auth;
	struct schema_gate *schema;
	char keep_alive[24];              /* "timeout=N", N the idle timeout */
};

struct request {
	const struct request_env *env;
	struct timespec started_wall, started_mono;
	char request_id[65];
	char method[16];
	char path[201];
	char client_addr[CLIENT_ADDR_MAX]; /* the peer's, or what a trusted proxy forwarded; "" when unknown */
	char retry_after[16];            /* seconds, for a 429 */
	const char *origin;              /* libmicrohttpd's copy, valid until the request completes */
	bool cors_allowed;
	bool checked;                    /* admission_check ran */
	bool responded;                  /* an answer is queued or held */
	bool hold;                       /* the body is still coming: answers wait in held until its end */
	bool replica;                    /* the read replica answered */
	struct MHD_Response *held;

	int status;
	struct route_match match;
	const char *token;               /* the bearer token as sent, for the database to verify again: points into
					    libmicrohttpd's copy of the header, valid until the request completes */
	char *body;                      /* NUL-terminated, at most ADMISSION_MAX_BODY bytes */
	size_t body_len, body_cap;
	size_t received;                 /* body bytes seen, stored or dropped */
};

#endif
