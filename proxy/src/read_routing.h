/*
 * Read routing to a streaming replica (DB_READ_URL): which GET goes there, when the primary must answer instead
 * (the replica lags, failed a moment ago, refused, or the session has just written), and the audit row that a
 * read on the standby hands back to be written on the primary before the answer may leave.
 */
#ifndef TA_READ_ROUTING_H
#define TA_READ_ROUTING_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "route_table.h"

struct proxy_config;
struct db_pool;
struct read_routing;

/*
 * The replica's pool and statements per cfg (read_database_url must be set); its audit rows are recorded with
 * statement record_statement (ROUTE_RECORD_READ_SQL) of the primary's pool. Returns NULL when out of memory or
 * when a route's SQL does not fit.
 */
struct read_routing *read_routing_create(const struct proxy_config *cfg, size_t record_statement);
void read_routing_destroy(struct read_routing *reads);

enum read_outcome {
	READ_ON_PRIMARY,     /* ask the primary: no replica statement, lagging, failing, refused, or a recent write */
	READ_ANSWERED,       /* *res is the replica's answer, its audit row recorded on the primary */
	READ_UNRECORDED,     /* the replica answered but its audit row could not be written: *res is the primary's
				failed result (or NULL when it did not answer); the answer must be withheld */
};

/*
 * Runs route's read on the replica with params ($1 address, $2 token, ...), then its audit row on primary.
 * *res (caller PQclears) is set for READ_ANSWERED and READ_UNRECORDED.
 */
enum read_outcome read_routing_try(struct read_routing *reads, struct db_pool *primary, const struct route *route,
				   int nparams, const char *const *params, PGresult **res);

/* Keeps the reads of the session with this token on the primary for DB_READ_MAX_LAG_MS (read your writes). */
void read_routing_note_write(struct read_routing *reads, const char *token);

#endif
