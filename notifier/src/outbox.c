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
	bool email, sms;
	time_t last_hello;
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
	rows = PQntuples(res);
	if (rows == 1) {
		m->id = dup_value(res, 0);
		m->kind = dup_value(res, 1);
		m->channel = dup_value(res, 2);
		m->recipient = dup_value(res, 3);
		m->subject = dup_value(res, 4);
		m->body = dup_value(res, 5);
		m->message_key = dup_value(res, 6);
	}
	PQclear(res);
	if (rows == 1)
		return 1;
	/* nothing due: commit what claim settled on the way (rows past their start) */
	return exec_ok(o->conn, "COMMIT") ? 0 : -1;
}

bool outbox_record(struct outbox *o, const struct outbox_message *m, const struct send_result *r)
{
	char retry[16];
	const char *params[4] = {m->id, r->error, r->outcome == SEND_PERMANENT ? "true" : "false", retry};
	PGresult *res;
	bool ok;

	snprintf(retry, sizeof(retry), "%d", o->cfg->retry_seconds);
	if (r->outcome == SEND_OK)
		res = PQexecParams(o->conn, "SELECT notifier.record_sent($1)", 1, NULL, params, NULL, NULL, 0);
	else
		res = PQexecParams(o->conn, "SELECT notifier.record_failure($1, $2, $3, $4)", 4, NULL, params, NULL,
				   NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "notifier: record %s: %s", m->id, PQerrorMessage(o->conn));
	PQclear(res);
	if (!ok) {
		PQclear(PQexec(o->conn, "ROLLBACK"));
		return false;
	}
	return exec_ok(o->conn, "COMMIT");
}

/* Seconds until the next due row (notifier.next_due), -1 on error. */
static double next_due(struct outbox *o)
{
	PGresult *res = PQexec(o->conn, "SELECT notifier.next_due()");
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
	if (wait <= 0)
		return true;
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
