/*
 * The libpq pool: a free list under one mutex; connecting and querying happen outside the lock. A watcher thread
 * learns from epoll when the server closes an idle connection, so that acquiring one costs no system call.
 */
#define _GNU_SOURCE
#include "db_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct db_conn {
	PGconn *pg;               /* NULL until first use and after a failure */
	uint64_t prepared;        /* bit n set: statement n is prepared on pg */
	atomic_uint generation;   /* counts the connections opened in this slot */
	atomic_uint closed_by_server;  /* the generation the server closed (hung up), 0: none */
};

struct db_pool {
	pthread_mutex_t lock;
	pthread_cond_t available;
	const char *const *keywords;
	const char *const *values;
	const char *const *statements;
	size_t nstatements;
	bool prepare;
	char names[DB_POOL_MAX_STATEMENTS][24];  /* statement n is prepared as "sn" */
	int (*on_open)(PGconn *pg, void *arg);
	void *on_open_arg;
	int epoll_fd;                 /* every open connection, for EPOLLRDHUP; and stop_fd */
	int stop_fd;                  /* an eventfd that ends the watcher */
	pthread_t watcher;
	bool watching;
	size_t size;
	size_t nfree;
	struct db_conn **free_list;   /* stack of size slots, nfree of them in use */
	struct db_conn conns[];
};

/*
 * The watcher: an open connection is registered for EPOLLRDHUP only (one shot), so it wakes when the server hangs
 * up (a shutdown or pg_terminate_backend: FATAL, then the socket closes), not for every answer. Marks that
 * connection's generation closed; db_pool_acquire replaces it before a request is sent on it.
 */
static void *watch_connections(void *arg)
{
	struct db_pool *pool = arg;
	struct epoll_event events[16];

	for (;;) {
		int n = epoll_wait(pool->epoll_fd, events, 16, -1);

		if (n < 0 && errno != EINTR)
			return NULL;
		for (int i = 0; i < n; i++) {
			uint64_t tag = events[i].data.u64;

			if (tag == UINT64_MAX)
				return NULL;
			/* The slot in the upper half, the generation in the lower: a stale event names an old one. */
			atomic_store(&pool->conns[tag >> 32].closed_by_server, (unsigned)(tag & UINT32_MAX));
		}
	}
}

struct db_pool *db_pool_create(const char *const *keywords, const char *const *values, size_t size,
			       const char *const *statements, size_t nstatements, bool prepare)
{
	struct db_pool *pool;

	if (nstatements > DB_POOL_MAX_STATEMENTS || size == 0)
		return NULL;
	pool = calloc(1, sizeof(*pool) + size * sizeof(struct db_conn));
	if (pool == NULL)
		return NULL;
	pool->epoll_fd = pool->stop_fd = -1;
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
	for (size_t i = 0; i < nstatements; i++)
		snprintf(pool->names[i], sizeof(pool->names[i]), "s%zu", i);
	pool->size = size;
	for (size_t i = 0; i < size; i++)
		pool->free_list[pool->nfree++] = &pool->conns[i];
	pool->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	pool->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pool->epoll_fd >= 0 && pool->stop_fd >= 0) {
		struct epoll_event stop = {.events = EPOLLIN, .data.u64 = UINT64_MAX};

		pool->watching = epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, pool->stop_fd, &stop) == 0 &&
				 pthread_create(&pool->watcher, NULL, watch_connections, pool) == 0;
	}
	if (!pool->watching) {
		db_pool_destroy(pool);
		return NULL;
	}
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
	if (pool->watching) {
		uint64_t one = 1;

		if (write(pool->stop_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(pool->watcher, NULL);
	}
	if (pool->epoll_fd >= 0)
		close(pool->epoll_fd);
	if (pool->stop_fd >= 0)
		close(pool->stop_fd);
	for (size_t i = 0; i < pool->size; i++)
		PQfinish(pool->conns[i].pg);
	pthread_cond_destroy(&pool->available);
	pthread_mutex_destroy(&pool->lock);
	free(pool->free_list);
	free(pool);
}

static void conn_close(struct db_pool *pool, struct db_conn *conn)
{
	if (conn->pg != NULL && PQsocket(conn->pg) >= 0)
		epoll_ctl(pool->epoll_fd, EPOLL_CTL_DEL, PQsocket(conn->pg), NULL);
	PQfinish(conn->pg);
	conn->pg = NULL;
	conn->prepared = 0;
}

/*
 * An idle connection the server closed (shutting down: a FATAL message, then EOF, which libpq only notices on a
 * later read) is replaced before a request is sent on it, so a database restart fails no request that was not
 * in flight. The watcher thread tells, so this costs no system call.
 */
static int conn_still_usable(struct db_conn *conn)
{
	return PQstatus(conn->pg) == CONNECTION_OK &&
	       atomic_load(&conn->closed_by_server) != atomic_load(&conn->generation);
}

/* Notices (e.g. from RAISE NOTICE) are not the client's business and would go to stderr. */
static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int conn_open(struct db_pool *pool, struct db_conn *conn)
{
	struct epoll_event hangup = {.events = EPOLLRDHUP | EPOLLONESHOT};
	unsigned generation;

	conn->pg = PQconnectdbParams(pool->keywords, pool->values, 1);
	conn->prepared = 0;
	if (conn->pg == NULL || PQstatus(conn->pg) != CONNECTION_OK) {
		conn_close(pool, conn);
		return -1;
	}
	/* Generation 0 never names a connection: closed_by_server 0 means none. */
	generation = atomic_fetch_add(&conn->generation, 1) + 1;
	if (generation == 0)
		generation = atomic_fetch_add(&conn->generation, 1) + 1;
	hangup.data.u64 = ((uint64_t)(conn - pool->conns) << 32) | generation;
	if (epoll_ctl(pool->epoll_fd, EPOLL_CTL_ADD, PQsocket(conn->pg), &hangup) != 0) {
		conn_close(pool, conn);
		return -1;
	}
	PQsetNoticeProcessor(conn->pg, ignore_notice, NULL);
	if (pool->on_open != NULL && pool->on_open(conn->pg, pool->on_open_arg) != 0) {
		conn_close(pool, conn);
		return -1;
	}
	return 0;
}

struct db_conn *db_pool_acquire(struct db_pool *pool, int timeout_ms, const char **reason)
{
	struct timespec deadline;
	struct db_conn *conn = NULL;

	pthread_mutex_lock(&pool->lock);
	/* The deadline is only worked out when a connection has to be waited for. */
	if (pool->nfree == 0) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
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
		conn_close(pool, conn);
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
		conn_close(pool, conn);
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
	const char *name = pool->names[statement];
	uint64_t bit = UINT64_C(1) << statement;

	if (!pool->prepare)
		return unless_broken(conn, PQexecParams(conn->pg, pool->statements[statement], nparams, NULL, params,
							NULL, NULL, 0));
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
