/* The schema-version gate (see schema_gate.h). */
#define _POSIX_C_SOURCE 200809L
#include "schema_gate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERSION_MAX 32

struct schema_gate {
	pthread_mutex_t lock;
	char required[VERSION_MAX];
	char installed[VERSION_MAX];    /* "" until a connection was checked */
	atomic_int state;               /* enum schema_state; read without the lock once current */
	long long checked_ms;           /* monotonic ms of the last check */
	long long probed_ms;            /* monotonic ms of the last schema_gate_may_probe that said yes */
};

static long long monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int schema_version_compare(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		a += strcspn(a, "0123456789");
		b += strcspn(b, "0123456789");
	}
	return 0;
}

struct schema_gate *schema_gate_create(const char *required)
{
	struct schema_gate *gate = calloc(1, sizeof(*gate));

	if (gate == NULL)
		return NULL;
	pthread_mutex_init(&gate->lock, NULL);
	snprintf(gate->required, sizeof(gate->required), "%s", required);
	atomic_init(&gate->state, SCHEMA_UNKNOWN);
	return gate;
}

void schema_gate_destroy(struct schema_gate *gate)
{
	if (gate == NULL)
		return;
	pthread_mutex_destroy(&gate->lock);
	free(gate);
}

int schema_gate_check(PGconn *pg, void *arg)
{
	struct schema_gate *gate = arg;
	PGresult *res = PQexec(pg, "SELECT api.schema_version()");
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	char installed[VERSION_MAX];
	enum schema_state state;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	    strlen(PQgetvalue(res, 0, 0)) < sizeof(installed)) {
		memcpy(installed, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)) + 1);
	} else if (sqlstate != NULL && strcmp(sqlstate, "42883") == 0) {
		/* undefined_function: 1.0 had no api.schema_version(). */
		memcpy(installed, "1.0", 4);
	} else {
		/* The database's words go to our log only (a missing grant, say), never to a client. */
		if (PQstatus(pg) == CONNECTION_OK)
			fprintf(stderr, "{\"level\":\"error\",\"schema_check\":\"api.schema_version() failed\","
					"\"sqlstate\":\"%.5s\"}\n", sqlstate != NULL ? sqlstate : "");
		PQclear(res);
		return -1;
	}
	PQclear(res);
	pthread_mutex_lock(&gate->lock);
	state = schema_version_compare(installed, gate->required) >= 0 ? SCHEMA_CURRENT : SCHEMA_OLD;
	memcpy(gate->installed, installed, sizeof(installed));
	atomic_store(&gate->state, (int)state);
	gate->checked_ms = monotonic_ms();
	pthread_mutex_unlock(&gate->lock);
	return state == SCHEMA_CURRENT ? 0 : -1;
}

enum schema_state schema_gate_state(struct schema_gate *gate, char *installed, size_t len)
{
	enum schema_state state = (enum schema_state)atomic_load(&gate->state);

	if (state == SCHEMA_CURRENT && installed == NULL)
		return state;
	pthread_mutex_lock(&gate->lock);
	state = (enum schema_state)atomic_load(&gate->state);
	if (state == SCHEMA_OLD && monotonic_ms() - gate->checked_ms >= SCHEMA_RECHECK_MS)
		state = SCHEMA_UNKNOWN;
	if (installed != NULL)
		snprintf(installed, len, "%s", gate->installed);
	pthread_mutex_unlock(&gate->lock);
	return state;
}

bool schema_gate_may_probe(struct schema_gate *gate)
{
	long long now = monotonic_ms();
	bool may;

	pthread_mutex_lock(&gate->lock);
	may = gate->probed_ms == 0 || now - gate->probed_ms >= SCHEMA_RECHECK_MS;
	if (may)
		gate->probed_ms = now;
	pthread_mutex_unlock(&gate->lock);
	return may;
}

const char *schema_gate_detail(const struct schema_gate *gate, const char *installed, char *buf, size_t len)
{
	snprintf(buf, len,
		 "database schema %s is older than this proxy needs (%s): upgrade the database with `make up` "
		 "(local stack) or `./deploy-mikrus.sh update` (server), or for the plain-SQL install "
		 "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f sql/fallback/upgrade.sql",
		 installed[0] != '\0' ? installed : "?", gate->required);
	return buf;
}
