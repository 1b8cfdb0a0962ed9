/* Every route of api-contract.md, matched by method and path pattern. */
#include "route_table.h"

#include <stdio.h>
#include <string.h>

#define API(m, p, fn, auth, id, q, b)                                                                            \
	{.method = m, .pattern = p, .handler = HANDLER_API, .function = fn, .authenticated = auth, .takes_id = id,     \
	 .takes_query = q, .body = b, .in_openapi = true}

/* No path matches two patterns (a unit test checks it), so the order does not matter. */
const struct route route_table[] = {
	{.method = "GET", .pattern = "/", .handler = HANDLER_ROOT, .in_openapi = true},
	{.method = "GET", .pattern = "/health", .handler = HANDLER_HEALTH, .function = "api.health", .in_openapi = true},
	{.method = "GET", .pattern = "/openapi.json", .handler = HANDLER_OPENAPI},
	{.method = "GET", .pattern = "/docs", .handler = HANDLER_DOCS},
	{.method = "GET", .pattern = "/docs/{asset}", .handler = HANDLER_DOCS_ASSET},
	{.method = "GET", .pattern = "/redoc", .handler = HANDLER_REDOC},

	API("POST", "/auth/register", "api.register", false, false, false, BODY_JSON),
	API("POST", "/auth/login", "api.login", false, false, false, BODY_LOGIN_FORM),
	API("GET", "/auth/me", "api.me", true, false, false, BODY_NONE),
	API("POST", "/auth/logout", "api.logout", true, false, false, BODY_NONE),
	API("PUT", "/auth/password", "api.change_password", true, false, false, BODY_JSON),
	API("POST", "/auth/password-reset", "api.request_password_reset", false, false, false, BODY_JSON),
	API("POST", "/auth/password-reset/confirm", "api.confirm_password_reset", false, false, false, BODY_JSON),

	API("GET", "/patients", "api.list_patients", true, false, true, BODY_NONE),
	API("POST", "/patients", "api.create_patient", true, false, false, BODY_JSON),
	API("GET", "/patients/{id}", "api.get_patient", true, true, false, BODY_NONE),
	API("GET", "/patients/{id}/export", "api.export_patient", true, true, false, BODY_NONE),
	API("PUT", "/patients/{id}", "api.update_patient", true, true, false, BODY_JSON),
	API("DELETE", "/patients/{id}", "api.delete_patient", true, true, false, BODY_NONE),
	API("POST", "/patients/{id}/restore", "api.restore_patient", true, true, false, BODY_NONE),

	API("GET", "/appointments", "api.list_appointments", true, false, true, BODY_NONE),
	API("POST", "/appointments", "api.create_appointment", true, false, false, BODY_JSON),
	API("GET", "/appointments/{id}", "api.get_appointment", true, true, false, BODY_NONE),
	API("PUT", "/appointments/{id}", "api.update_appointment", true, true, false, BODY_JSON),
	API("DELETE", "/appointments/{id}", "api.delete_appointment", true, true, false, BODY_NONE),

	API("GET", "/session_notes", "api.list_session_notes", true, false, true, BODY_NONE),
	API("POST", "/session_notes", "api.create_session_note", true, false, false, BODY_JSON),
	API("GET", "/session_notes/note/{id}", "api.get_session_note", true, true, false, BODY_NONE),
	API("PUT", "/session_notes/note/{id}", "api.update_session_note", true, true, false, BODY_JSON),
	API("GET", "/session_notes/{patient_id}", "api.list_patient_session_notes", true, true, true, BODY_NONE),
	API("DELETE", "/session_notes/{id}", "api.delete_session_note", true, true, false, BODY_NONE),

	API("GET", "/payments", "api.list_payments", true, false, true, BODY_NONE),
	API("POST", "/payments", "api.create_payment", true, false, false, BODY_JSON),
	API("GET", "/payments/statistics/summary", "api.payment_statistics", true, false, true, BODY_NONE),
	API("GET", "/payments/patient/{patient_id}/unpaid-appointments", "api.unpaid_appointments", true, true, false,
	    BODY_NONE),
	API("GET", "/payments/{id}", "api.get_payment", true, true, false, BODY_NONE),
	API("PATCH", "/payments/{id}", "api.update_payment", true, true, false, BODY_JSON),
	API("DELETE", "/payments/{id}", "api.delete_payment", true, true, false, BODY_NONE),

	API("GET", "/audit", "api.list_audit", true, false, true, BODY_NONE),
	API("GET", "/audit/verify", "api.verify_audit", true, false, false, BODY_NONE),

	API("GET", "/settings", "api.get_settings", true, false, false, BODY_NONE),
	API("PUT", "/settings", "api.update_settings", true, false, false, BODY_JSON),
	API("GET", "/statistics/appointments", "api.appointment_statistics", true, false, true, BODY_NONE),

	API("POST", "/appointment_series", "api.create_appointment_series", true, false, false, BODY_JSON),
	API("GET", "/appointment_series/{id}", "api.get_appointment_series", true, true, false, BODY_NONE),
	API("PATCH", "/appointment_series/{id}", "api.update_appointment_series", true, true, false, BODY_JSON),
	API("DELETE", "/appointment_series/{id}", "api.cancel_appointment_series", true, true, true, BODY_NONE),

	API("GET", "/calendar_feed", "api.get_calendar_feed", true, false, false, BODY_NONE),
	API("POST", "/calendar_feed", "api.create_calendar_feed", true, false, false, BODY_NONE),
	API("DELETE", "/calendar_feed", "api.delete_calendar_feed", true, false, false, BODY_NONE),
	/* Public: the secret in the path is the credential, which the function checks (and throttles). */
	{.method = "GET", .pattern = "/calendar/{token}.ics", .handler = HANDLER_API, .function = "api.calendar_feed",
	 .takes_text = true, .body = BODY_NONE, .in_openapi = true, .content_type = "text/calendar; charset=utf-8"},

	API("GET", "/settings/reminders", "api.get_reminder_settings", true, false, false, BODY_NONE),
	API("PUT", "/settings/reminders", "api.update_reminder_settings", true, false, false, BODY_JSON),
	API("POST", "/settings/reminders/test", "api.send_test_reminder", true, false, false, BODY_JSON),
	API("GET", "/reminders", "api.list_reminders", true, false, true, BODY_NONE),
};

const size_t route_count = sizeof(route_table) / sizeof(route_table[0]);

int route_parse_id(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	/* 18 digits always fit in a bigint; longer ids do not exist. */
	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Compares path (len bytes) with pattern segment by segment. On a match, sets *param and *param_len to the path's
 * text in the parameter position (or NULL) and returns true.
 */
static bool pattern_matches(const char *pattern, const char *path, size_t len, const char **param,
			    size_t *param_len)
{
	const char *pp = pattern, *sp = path, *send = path + len;

	*param = NULL;
	*param_len = 0;
	while (*pp != '\0' && sp < send) {
		const char *pseg_end = strchr(pp + 1, '/');
		const char *sseg_end = memchr(sp + 1, '/', (size_t)(send - sp - 1));
		size_t plen, slen;

		if (pseg_end == NULL)
			pseg_end = pp + strlen(pp);
		if (sseg_end == NULL)
			sseg_end = send;
		/* Both point at a '/': compare the segments after it. */
		plen = (size_t)(pseg_end - pp - 1);
		slen = (size_t)(sseg_end - sp - 1);
		if (plen > 0 && pp[1] == '{') {
			/* What follows the closing brace in the pattern's segment must end the path's segment. */
			const char *suffix = memchr(pp + 1, '}', plen) + 1;
			size_t suffix_len = (size_t)(pseg_end - suffix);

			if (slen <= suffix_len || memcmp(sseg_end - suffix_len, suffix, suffix_len) != 0)
				return false;
			*param = sp + 1;
			*param_len = slen - suffix_len;
		} else if (plen != slen || memcmp(pp + 1, sp + 1, plen) != 0) {
			return false;
		}
		pp = pseg_end;
		sp = sseg_end;
	}
	return *pp == '\0' && sp == send;
}

enum route_match_result route_find(const char *method, const char *path, struct route_match *m)
{
	size_t len = strlen(path);
	const char *param = NULL;
	size_t param_len = 0;
	size_t allow_len = 0;
	bool path_known = false;

	memset(m, 0, sizeof(*m));
	if (len == 0 || path[0] != '/')
		return ROUTE_NOT_FOUND;
	if (len > 1 && path[len - 1] == '/')
		len--;
	/* No two patterns match the same path, so the first route with both path and method is the one. */
	for (size_t i = 0; i < route_count && m->route == NULL; i++) {
		const struct route *r = &route_table[i];

		if (!pattern_matches(r->pattern, path, len, &param, &param_len))
			continue;
		path_known = true;
		if (strcmp(r->method, method) == 0)
			m->route = r;
		else
			allow_len += (size_t)snprintf(m->allow + allow_len, sizeof(m->allow) - allow_len, "%s, ",
						      r->method);
	}
	if (!path_known)
		return ROUTE_NOT_FOUND;
	if (m->route == NULL) {
		snprintf(m->allow + allow_len, sizeof(m->allow) - allow_len, "OPTIONS");
		return ROUTE_METHOD_NOT_ALLOWED;
	}
	if (m->route->takes_text) {
		if (param_len > ROUTE_TEXT_MAX) {
			m->route = NULL;
			return ROUTE_NOT_FOUND;
		}
		memcpy(m->text, param, param_len);
		m->text[param_len] = '\0';
	}
	if (m->route->takes_id && route_parse_id(param, param_len, &m->id) != 0) {
		const char *open = strchr(m->route->pattern, '{');

		m->param_name = open + 1;
		m->param_name_len = strcspn(open + 1, "}");
		return ROUTE_BAD_ID;
	}
	return ROUTE_FOUND;
}

/*
 * The SQL of route_sql; with max_lag_ms > 0, the form a read replica runs (route_read_sql): it first checks that
 * the standby has replayed a commit of the last max_lag_ms (no row at all otherwise, and the function is not
 * called), and answers response.audit as a third column.
 */
static int route_statement(const struct route *r, unsigned max_lag_ms, char *buf, size_t buflen)
{
	char args[64] = "";
	char fresh[160] = "";
	size_t alen = 0;
	int n = r->authenticated ? 3 : 2;
	int written;

	if (r->function == NULL)
		return -1;
	if (r->handler == HANDLER_HEALTH) {
		if (max_lag_ms > 0)
			return -1;
		written = snprintf(buf, buflen, "SELECT %s()::text", r->function);
		return (written < 0 || (size_t)written >= buflen) ? -1 : written;
	}
	/* The route's name goes into the SQL as a literal: it comes from this table, never from a request. */
	if (strchr(r->pattern, '\'') != NULL)
		return -1;
	if (r->takes_id)
		alen += (size_t)snprintf(args + alen, sizeof(args) - alen, "%s$%d::bigint", alen ? ", " : "", n++);
	if (r->takes_text)
		alen += (size_t)snprintf(args + alen, sizeof(args) - alen, "%s$%d::text", alen ? ", " : "", n++);
	if (r->takes_query)
		alen += (size_t)snprintf(args + alen, sizeof(args) - alen, "%s$%d::json", alen ? ", " : "", n++);
	if (r->body != BODY_NONE)
		alen += (size_t)snprintf(args + alen, sizeof(args) - alen, "%s$%d::json", alen ? ", " : "", n++);
	if (max_lag_ms > 0)
		snprintf(fresh, sizeof(fresh),
			 "fresh AS MATERIALIZED (SELECT WHERE clock_timestamp() - pg_last_xact_replay_timestamp() "
			 "< interval '%u milliseconds'), ",
			 max_lag_ms);
	/*
	 * The bearer token goes to the database as it came (request.jwt): the database verifies it again and takes
	 * the caller from it (ta.caller), so what the proxy decided is never what lets a request in.
	 * One statement is one transaction in autocommit, so the settings made here (is_local) vanish with it and
	 * nothing leaks to the next request on this pooled connection. The first MATERIALIZED CTE makes set_config
	 * run before the api function reads them; the second makes the function run before response.status (set
	 * by a function that answers other than 200 without raising, e.g. a failed login) is read.
	 */
	written = snprintf(buf, buflen,
			   "WITH %srequest AS MATERIALIZED (SELECT set_config('request.client_addr', $1, true), "
			   "set_config('request.route', '%s %s', true)%s%s), "
			   "answer AS MATERIALIZED (SELECT %s(%s)::text AS body FROM request) "
			   "SELECT body, current_setting('response.status', true)%s FROM answer",
			   fresh, r->method, r->pattern,
			   r->authenticated ? ", set_config('request.jwt', $2, true)" : "",
			   max_lag_ms > 0 ? " FROM fresh" : "", r->function, args,
			   max_lag_ms > 0 ? ", current_setting('response.audit', true)" : "");
	return (written < 0 || (size_t)written >= buflen) ? -1 : written;
}

int route_sql(const struct route *r, char *buf, size_t buflen)
{
	return route_statement(r, 0, buf, buflen);
}

int route_read_sql(const struct route *r, unsigned max_lag_ms, char *buf, size_t buflen)
{
	if (max_lag_ms == 0 || strcmp(r->method, "GET") != 0 || r->handler != HANDLER_API)
		return -1;
	return route_statement(r, max_lag_ms, buf, buflen);
}
