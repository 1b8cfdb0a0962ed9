/* A fixed pool of libpq connections, each preparing its statements once, reconnecting after failures. */
#ifndef TA_DB_POOL_H
#define TA_DB_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define DB_POOL_MAX_STATEMENTS 64

struct db_pool;
struct db_conn;

/*
 * Creates a pool of size connections, opened lazily. keywords/values (PQconnectdbParams, expand_dbname) and
 * statements (SQL texts, indexed by statement number) must outlive the pool. With prepare false, statements are
 * sent as unnamed ones with every call (what a transaction-mode pooler needs). Returns NULL when out of memory.
 */
struct db_pool *db_pool_create(const char *const *keywords, const char *const *values, size_t size,
			       const char *const *statements, size_t nstatements, bool prepare);
/*
 * Runs on_open(pg, arg) on every connection just opened, before its first statement (the schema check). A
 * non-zero return closes it again, and acquiring it fails as when the database does not answer. Set before use.
 */
void db_pool_on_open(struct db_pool *pool, int (*on_open)(PGconn *pg, void *arg), void *arg);
/* Closes every connection; no connection may be acquired any more. */
void db_pool_destroy(struct db_pool *pool);

/*
 * Takes a connected connection, waiting up to timeout_ms for a free one and reconnecting a broken one.
 * Returns NULL with *reason set (a static string) when none is free in time or the database does not answer.
 */
struct db_conn *db_pool_acquire(struct db_pool *pool, int timeout_ms, const char **reason);
/* Gives the connection back; a connection that broke is closed here and reopened by the next acquire. */
void db_pool_release(struct db_pool *pool, struct db_conn *conn);

/*
 * Runs statement number statement with text parameters, preparing it first on this connection if needed (or
 * as an unnamed statement, see db_pool_create). Returns the result (caller PQclears; an error result when preparing failed), or NULL when the
 * connection broke (the database went away; the caller answers 503).
 */
PGresult *db_conn_exec(struct db_pool *pool, struct db_conn *conn, size_t statement, int nparams,
		       const char *const *params);

/*
 * db_pool_acquire, db_conn_exec and db_pool_release in one: runs statement on a connection of pool. Returns
 * NULL when no connection was free within timeout_ms or the database went away.
 */
PGresult *db_pool_run(struct db_pool *pool, int timeout_ms, size_t statement, int nparams,
		      const char *const *params);

#endif
