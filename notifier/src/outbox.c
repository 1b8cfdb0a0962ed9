/* libpq calls of the notifier: claim, record, wait. Every PGresult is cleared on every path. */
#include "outbox.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

struct outbox {
	const struct config *cfg;
	PGconn *conn;
	char *claim_sql; /* BEGIN; SELECT ... FROM notifier.claim('<app_url>', '{channels}') */
	char next_due_sql[64]; /* SELECT notifier.next_due('{channels}') */
	bool email, sms;
	time_t last_hello;
	int since_durable; /* records committed asynchronously since the last synchronous commit */
};

static bool exec_ok(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "notifier: database: %s", PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

static bool hello(struct outbox *o)
{
	const char *params[2] = {o->email ? "true" : "false", o->sms ? "true" : "false"};
	PGresult *res = PQexecParams(o->conn, "SELECT notifier.hello($1, $2)", 2, NULL, params, NULL, NULL, 0);
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "notifier: hello: %s", PQerrorMessage(o->conn));
	PQclear(res);
	o->last_hello = time(NULL);
	return ok;
}

struct outbox *outbox_connect(const struct config *cfg, bool email, bool sms)
{
	struct outbox *o = calloc(1, sizeof(*o));
	char *app_url;
	size_t n;

	if (o == NULL)
		return NULL;
	o->cfg = cfg;
	o->email = email;
	o->sms = sms;
	o->conn = PQconnectdb(cfg->database_url);
	if (PQstatus(o->conn) != CONNECTION_OK) {
		fprintf(stderr, "notifier: cannot connect to the database: %s", PQerrorMessage(o->conn));
		outbox_close(o);
		return NULL;
	}
	/* The query never changes, so it is built once with the URL as an escaped literal; one
	 * round trip opens the transaction and claims. */
	app_url = PQescapeLiteral(o->conn, cfg->app_url, strlen(cfg->app_url));
	n = (app_url ? strlen(app_url) : 0) + 200;
	o->claim_sql = malloc(n);
	if (app_url == NULL || o->claim_sql == NULL) {
		PQfreemem(app_url);
		outbox_close(o);
		return NULL;
	}
	snprintf(o->claim_sql, n,
		 "BEGIN; SELECT id, kind, channel, recipient, subject, body, message_key FROM notifier.claim(%s, '{%s%s%s}')",
		 app_url, email ? "email" : "", email && sms ? "," : "", sms ? "sms" : "");
	PQfreemem(app_url);
	snprintf(o->next_due_sql, sizeof(o->next_due_sql), "SELECT notifier.next_due('{%s%s%s}')", email ? "email" : "",
		 email && sms ? "," : "", sms ? "sms" : "");
	if (!exec_ok(o->conn, "SET application_name = 'therapyassistance-notifier'") ||
	    !exec_ok(o->conn, "LISTEN ta_outbox") || !hello(o)) {
		outbox_close(o);
		return NULL;
	}
	return o;
}

void outbox_close(struct outbox *o)
{
	if (o == NULL)
		return;
	PQfinish(o->conn);
	free(o->claim_sql);
	free(o);
}

static char *dup_value(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : strdup(PQgetvalue(res, 0, col));
}

void outbox_message_clear(struct outbox_message *m)
{
	free(m->id);
	free(m->kind);
	free(m->channel);
	free(m->recipient);
	free(m->subject);
	free(m->body);
	free(m->message_key);
	memset(m, 0, sizeof(*m));
}

/* Fills m from claim's result: 1 when it held a row, else 0 (m zeroed). */
static int take(const PGresult *res, struct outbox_message *m)
{
	memset(m, 0, sizeof(*m));
	if (PQntuples(res) != 1)
		return 0;
	m->id = dup_value(res, 0);
	m->kind = dup_value(res, 1);
	m->channel = dup_value(res, 2);
	m->recipient = dup_value(res, 3);
	m->subject = dup_value(res, 4);
	m->body = dup_value(res, 5);
	m->message_key = dup_value(res, 6);
	return 1;
}

int outbox_claim(struct outbox *o, struct outbox_message *m)
{
	PGresult *res = PQexec(o->conn, o->claim_sql);
	int rows;

	memset(m, 0, sizeof(*m));
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "notifier: claim: %s", PQerrorMessage(o->conn));
		PQclear(res);
		PQclear(PQexec(o->conn, "ROLLBACK"));
		return -1;
	}
	rows = take(res, m);
	PQclear(res);
	if (rows == 1)
		return 1;
	/* nothing due: commit what claim settled on the way (rows past their start) */
	return exec_ok(o->conn, "COMMIT") ? 0 : -1;
}

/* The statement that records r for m (no transaction control), or NULL without memory / with an id
 * that is not a number (ids come from notifier.claim, so that is a broken database). */
static char *record_sql(struct outbox *o, const struct outbox_message *m, const struct send_result *r)
{
	char *sql, *error;
	size_t n;

	if (m->id == NULL || m->id[0] == '\0' || strspn(m->id, "0123456789") != strlen(m->id) || strlen(m->id) > 19)
		return NULL;
	if (r->outcome == SEND_OK) {
		n = strlen(m->id) + 40;
		if ((sql = malloc(n)) != NULL)
			snprintf(sql, n, "SELECT notifier.record_sent(%s)", m->id);
		return sql;
	}
	error = PQescapeLiteral(o->conn, r->error, strlen(r->error));
	if (error == NULL)
		return NULL;
	n = strlen(m->id) + strlen(error) + 80;
	if ((sql = malloc(n)) != NULL)
		snprintf(sql, n, "SELECT notifier.record_failure(%s, %s, %s, %d)", m->id, error,
			 r->outcome == SEND_PERMANENT ? "true" : "false", o->cfg->retry_seconds);
	PQfreemem(error);
	return sql;
}

int outbox_record(struct outbox *o, const struct outbox_message *m, const struct send_result *r,
		  struct outbox_message *next)
{
	char *rec = record_sql(o, m, r), *sql;
	size_t n;
	PGresult *res;
	ExecStatusType st;
	int rows;
	bool durable;

	if (next != NULL)
		memset(next, 0, sizeof(*next));
	if (rec == NULL) {
		fprintf(stderr, "notifier: record %s: out of memory or a bad id\n", m->id ? m->id : "?");
		PQclear(PQexec(o->conn, "ROLLBACK"));
		return -1;
	}
	/* One round trip: the record and its COMMIT, then (next != NULL) the next claim in a new
	 * transaction. The server runs them in order and stops at the first error, so the next row
	 * is claimed only after this one's COMMIT landed: never two messages in hand. */
	n = strlen(rec) + strlen(o->claim_sql) + 64;
	sql = malloc(n);
	if (sql == NULL) {
		free(rec);
		PQclear(PQexec(o->conn, "ROLLBACK"));
		return -1;
	}
	/* Every durable_every-th record (and the last before the queue is empty or the sender stops)
	 * waits for its WAL flush; the others commit asynchronously, see README.md. */
	durable = next == NULL || ++o->since_durable >= o->cfg->durable_every;
	if (durable)
		o->since_durable = 0;
	snprintf(sql, n, "%s%s; COMMIT%s%s", durable ? "" : "SET LOCAL synchronous_commit = off; ", rec,
		 next != NULL ? "; " : "", next != NULL ? o->claim_sql : "");
	free(rec);
	res = PQexec(o->conn, sql);
	free(sql);
	st = PQresultStatus(res);
	if (st != (next != NULL ? PGRES_TUPLES_OK : PGRES_COMMAND_OK)) {
		fprintf(stderr, "notifier: record %s: %s", m->id, PQerrorMessage(o->conn));
		PQclear(res);
		PQclear(PQexec(o->conn, "ROLLBACK"));
		return -1;
	}
	if (next == NULL) {
		PQclear(res);
		return 0;
	}
	rows = take(res, next);
	PQclear(res);
	if (rows == 1)
		return 1;
	if (!exec_ok(o->conn, "COMMIT"))
		return -1;
	/* The queue is empty: put the asynchronous records on disk now rather than within the WAL
	 * writer's 0.6 s (hello writes, so its synchronous COMMIT flushes every record before it). */
	if (o->since_durable > 0) {
		o->since_durable = 0;
		if (!hello(o))
			return -1;
	}
	return 0;
}

/* Seconds until the next due row (notifier.next_due), -1 on error. */
static double next_due(struct outbox *o)
{
	PGresult *res = PQexec(o->conn, o->next_due_sql);
	double s = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		s = strtod(PQgetvalue(res, 0, 0), NULL);
	else
		fprintf(stderr, "notifier: next_due: %s", PQerrorMessage(o->conn));
	PQclear(res);
	return s;
}

bool outbox_wait(struct outbox *o, volatile int *stop)
{
	double wait = next_due(o);
	PGnotify *note;
	int sock = PQsocket(o->conn);

	if (wait < 0 || sock < 0)
		return false;
	if (time(NULL) - o->last_hello >= 60 && !hello(o))
		return false;
	/* The caller found nothing to claim, so a row due now is in another sender's hands (locked):
	 * it will be settled there; look again in a second rather than at once. */
	if (wait <= 0)
		wait = 1;
	/* a NOTIFY that arrived meanwhile (already read by an earlier call) ends the wait at once */
	if (PQconsumeInput(o->conn) && (note = PQnotifies(o->conn)) != NULL) {
		PQfreemem(note);
		while ((note = PQnotifies(o->conn)) != NULL)
			PQfreemem(note);
		return true;
	}
	while (!*stop) {
		fd_set fds;
		struct timeval tv = {.tv_sec = (time_t)wait, .tv_usec = (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
		int n;

		FD_ZERO(&fds);
		FD_SET(sock, &fds);
		n = select(sock + 1, &fds, NULL, NULL, &tv);
		if (n < 0 && errno == EINTR)
			continue; /* a signal: the loop checks stop */
		if (n <= 0)
			return n == 0;
		if (!PQconsumeInput(o->conn)) {
			fprintf(stderr, "notifier: database: %s", PQerrorMessage(o->conn));
			return false;
		}
		if ((note = PQnotifies(o->conn)) != NULL) {
			PQfreemem(note);
			while ((note = PQnotifies(o->conn)) != NULL)
				PQfreemem(note);
			return true;
		}
	}
	return true;
}
