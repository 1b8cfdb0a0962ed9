/* The libpq pool: a free list under one mutex; connecting and querying happen outside the lock. */
#define _POSIX_C_SOURCE 200809L
#include "db_pool.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct db_conn {
	PGconn *pg;         /* NULL until first use and after a failure */
	uint64_t prepared;  /* bit n set: statement n is prepared on pg */
};

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t available;
	const char *const *keywords;
	const char *const *values;
	const char *const *statements;
	size_t nstatements;
	bool prepare;
	int (*on_open)(PGconn *pg, void *arg);
	void *on_open_arg;
	size_t size;
	size_t nfree;
	struct db_conn **free_list;   /* stack of size slots, nfree of them in use */
	struct db_conn conns[];
};

struct db_pool *db_pool_create(const char *const *keywords, const char *const *values, size_t size,
			       const char *const *statements, size_t nstatements, bool prepare)
{
	struct db_pool *pool;

	if (nstatements > DB_POOL_MAX_STATEMENTS || size == 0)
		return NULL;
	pool = calloc(1, sizeof(*pool) + size * sizeof(struct db_conn));
	if (pool == NULL)
		return NULL;
	pool->free_list = calloc(size, sizeof(*pool->free_list));
	if (pool->free_list == NULL) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->available, NULL);
	pool->keywords = keywords;
	pool->values = values;
	pool->statements = statements;
	pool->nstatements = nstatements;
	pool->prepare = prepare;
	pool->size = size;
	for (size_t i = 0; i < size; i++)
		pool->free_list[pool->nfree++] = &pool->conns[i];
	return pool;
}

void db_pool_on_open(struct db_pool *pool, int (*on_open)(PGconn *pg, void *arg), void *arg)
{
	pool->on_open = on_open;
	pool->on_open_arg = arg;
}

void db_pool_destroy(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	for (size_t i = 0; i < pool->size; i++)
		PQfinish(pool->conns[i].pg);
	pthread_cond_destroy(&pool->available);
	pthread_mutex_destroy(&pool->lock);
	free(pool->free_list);
	free(pool);
}

static void conn_close(struct db_conn *conn)
{
	PQfinish(conn->pg);
	conn->pg = NULL;
	conn->prepared = 0;
}

/*
 * An idle connection has nothing to read unless the server said something on its own: in practice that it is
 * shutting down (a FATAL message, then EOF, which libpq only notices on a later read). Such a connection is
 * replaced before a request is sent on it, so a database restart fails no request that was not in flight.
 */
static int conn_still_usable(struct db_conn *conn)
{
	struct pollfd pfd = {.fd = PQsocket(conn->pg), .events = POLLIN};

	return PQstatus(conn->pg) == CONNECTION_OK && pfd.fd >= 0 && poll(&pfd, 1, 0) == 0;
}

/* Notices (e.g. from RAISE NOTICE) are not the client's business and would go to stderr. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int conn_open(struct db_pool *pool, struct db_conn *conn)
{
	conn->pg = PQconnectdbParams(pool->keywords, pool->values, 1);
	conn->prepared = 0;
	if (conn->pg == NULL || PQstatus(conn->pg) != CONNECTION_OK) {
		conn_close(conn);
		return -1;
	}
	PQsetNoticeProcessor(conn->pg, ignore_notice, NULL);
	if (pool->on_open != NULL && pool->on_open(conn->pg, pool->on_open_arg) != 0) {
		conn_close(conn);
		return -1;
	}
	return 0;
}

struct db_conn *db_pool_acquire(struct db_pool *pool, int timeout_ms, const char **reason)
{
	struct timespec deadline;
	struct db_conn *conn = NULL;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&pool->lock);
	while (pool->nfree == 0)
		if (pthread_cond_timedwait(&pool->available, &pool->lock, &deadline) == ETIMEDOUT)
			break;
	if (pool->nfree > 0)
		conn = pool->free_list[--pool->nfree];
	pthread_mutex_unlock(&pool->lock);
	if (conn == NULL) {
		*reason = "all database connections are busy";
		return NULL;
	}
	if (conn->pg != NULL && !conn_still_usable(conn))
		conn_close(conn);
	if (conn->pg == NULL && conn_open(pool, conn) != 0) {
		db_pool_release(pool, conn);
		*reason = "database unavailable";
		return NULL;
	}
	return conn;
}

void db_pool_release(struct db_pool *pool, struct db_conn *conn)
{
	if (conn->pg != NULL && PQstatus(conn->pg) != CONNECTION_OK)
		conn_close(conn);
	pthread_mutex_lock(&pool->lock);
	pool->free_list[pool->nfree++] = conn;
	pthread_cond_signal(&pool->available);
	pthread_mutex_unlock(&pool->lock);
}

/* Returns res, or NULL (res cleared) when the connection broke while answering. */
static PGresult *unless_broken(struct db_conn *conn, PGresult *res)
{
	if (PQstatus(conn->pg) == CONNECTION_OK)
		return res;
	PQclear(res);
	return NULL;
}

PGresult *db_conn_exec(struct db_pool *pool, struct db_conn *conn, size_t statement, int nparams,
		       const char *const *params)
{
	char name[16];
	uint64_t bit = UINT64_C(1) << statement;

	if (!pool->prepare)
		return unless_broken(conn, PQexecParams(conn->pg, pool->statements[statement], nparams, NULL, params,
							NULL, NULL, 0));
	snprintf(name, sizeof(name), "s%zu", statement);
	if ((conn->prepared & bit) == 0) {
		PGresult *res = PQprepare(conn->pg, name, pool->statements[statement], 0, NULL);

		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			return unless_broken(conn, res);
		PQclear(res);
		conn->prepared |= bit;
	}
	return unless_broken(conn, PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0));
}

PGresult *db_pool_run(struct db_pool *pool, int timeout_ms, size_t statement, int nparams,
		      const char *const *params)
{
	const char *reason = NULL;
	struct db_conn *conn = db_pool_acquire(pool, timeout_ms, &reason);
	PGresult *res;

	if (conn == NULL)
		return NULL;
	res = db_conn_exec(pool, conn, statement, nparams, params);
	db_pool_release(pool, conn);
	return res;
}
