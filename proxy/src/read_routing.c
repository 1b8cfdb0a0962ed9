/* Reads on the replica (see read_routing.h and bench/README.md, *Scaling out*). */
#define _POSIX_C_SOURCE 200809L
#include "read_routing.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "db_pool.h"

#define POOL_WAIT_MS 5000
#define MAX_SQL 800
/* After a replica fails to answer, reads go to the primary for this long before it is tried again. */
#define READ_RETRY_MS 1000
/* Sessions whose recent writes keep their reads on the primary (by a hash of the token; sharing a slot only
 * sends more reads to the primary). */
#define WRITE_SLOTS 1024

struct read_routing {
	struct db_pool *pool;
	unsigned max_lag_ms;
	size_t record_statement;
	const char *keywords[CONFIG_CONNINFO_MAX];
	const char *values[CONFIG_CONNINFO_MAX];
	char sql[DB_POOL_MAX_STATEMENTS][MAX_SQL];
	const char *statements[DB_POOL_MAX_STATEMENTS];  /* statement n: route_table[n]'s read, or NULL */
	atomic_llong retry_at;                           /* monotonic ms before which the replica is not asked */
	atomic_llong last_write[WRITE_SLOTS];            /* monotonic ms of a session's last write */
};

static long long monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The read-your-writes slot of a session: FNV-1a of its bearer token. */
static atomic_llong *write_slot(struct read_routing *reads, const char *token)
{
	unsigned long h = 2166136261u;

	for (const char *p = token; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &reads->last_write[h % WRITE_SLOTS];
}

struct read_routing *read_routing_create(const struct proxy_config *cfg, size_t record_statement)
{
	struct read_routing *reads;

	if (route_count > DB_POOL_MAX_STATEMENTS)
		return NULL;
	reads = calloc(1, sizeof(*reads));
	if (reads == NULL)
		return NULL;
	reads->max_lag_ms = cfg->read_max_lag_ms;
	reads->record_statement = record_statement;
	for (size_t i = 0; i < route_count; i++)
		if (route_table[i].function != NULL &&
		    route_read_sql(&route_table[i], cfg->read_max_lag_ms, reads->sql[i], sizeof(reads->sql[i])) > 0)
			reads->statements[i] = reads->sql[i];
	config_read_conninfo(cfg, reads->keywords, reads->values);
	reads->pool = db_pool_create(reads->keywords, reads->values, cfg->pool_size, reads->statements, route_count,
				     cfg->prepared_statements != 0);
	if (reads->pool == NULL) {
		free(reads);
		return NULL;
	}
	return reads;
}

void read_routing_destroy(struct read_routing *reads)
{
	if (reads == NULL)
		return;
	db_pool_destroy(reads->pool);
	free(reads);
}

void read_routing_note_write(struct read_routing *reads, const char *token)
{
	atomic_store(write_slot(reads, token), monotonic_ms());
}

enum read_outcome read_routing_try(struct read_routing *reads, struct db_pool *primary, const struct route *route,
				   int nparams, const char *const *params, PGresult **res)
{
	size_t statement = (size_t)(route - route_table);
	long long now = monotonic_ms();
	PGresult *answer, *recorded;
	const char *audit;
	char name[128];

	*res = NULL;
	/* Only authenticated GETs ($2 the token, the session's write-slot key) have a replica statement. */
	if (reads->statements[statement] == NULL || !route->authenticated || nparams < 2 ||
	    now < atomic_load(&reads->retry_at) ||
	    now - atomic_load(write_slot(reads, params[1])) < (long long)reads->max_lag_ms)
		return READ_ON_PRIMARY;
	answer = db_pool_run(reads->pool, POOL_WAIT_MS, statement, nparams, params);
	if (answer == NULL) {
		atomic_store(&reads->retry_at, now + READ_RETRY_MS);
		return READ_ON_PRIMARY;
	}
	/*
	 * No row: the replica lags. An error: the primary decides, since a replica a few milliseconds behind may
	 * not know a user who has just registered (401) or a patient a colleague has just added (404).
	 */
	if (PQresultStatus(answer) != PGRES_TUPLES_OK || PQntuples(answer) != 1 || PQnfields(answer) != 3) {
		PQclear(answer);
		return READ_ON_PRIMARY;
	}
	audit = PQgetisnull(answer, 0, 2) ? "" : PQgetvalue(answer, 0, 2);
	if (audit[0] != '\0') {
		const char *record[4] = {params[0], params[1], name, audit};

		snprintf(name, sizeof(name), "%s %s", route->method, route->pattern);
		recorded = db_pool_run(primary, POOL_WAIT_MS, reads->record_statement, 4, record);
		if (recorded == NULL || PQresultStatus(recorded) != PGRES_TUPLES_OK) {
			PQclear(answer);
			*res = recorded;
			return READ_UNRECORDED;
		}
		PQclear(recorded);
	}
	*res = answer;
	return READ_ANSWERED;
}
