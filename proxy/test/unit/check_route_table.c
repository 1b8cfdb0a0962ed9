/* Routing: every contract path, trailing slashes, 404/405, integer ids, the SQL each route prepares. */
#include <string.h>

#include "route_table.h"
#include "suites.h"

static const struct route *found(const char *method, const char *path, int64_t *id)
{
	struct route_match m;

	ck_assert_int_eq(route_find(method, path, &m), ROUTE_FOUND);
	if (id != NULL)
		*id = m.id;
	return m.route;
}

START_TEST(contract_paths_reach_their_functions)
{
	int64_t id;

	ck_assert_str_eq(found("GET", "/patients", NULL)->function, "api.list_patients");
	ck_assert_str_eq(found("GET", "/patients/", NULL)->function, "api.list_patients");
	ck_assert_str_eq(found("GET", "/patients/42", &id)->function, "api.get_patient");
	ck_assert_int_eq(id, 42);
	ck_assert_str_eq(found("DELETE", "/session_notes/7", &id)->function, "api.delete_session_note");
	ck_assert_int_eq(id, 7);
	ck_assert_str_eq(found("GET", "/session_notes/7", NULL)->function, "api.list_patient_session_notes");
	ck_assert_str_eq(found("GET", "/session_notes/note/7", NULL)->function, "api.get_session_note");
	ck_assert_str_eq(found("PUT", "/session_notes/note/7", NULL)->function, "api.update_session_note");
	ck_assert_str_eq(found("POST", "/session_notes/", NULL)->function, "api.create_session_note");
	ck_assert_str_eq(found("GET", "/payments/statistics/summary", NULL)->function, "api.payment_statistics");
	ck_assert_str_eq(found("GET", "/payments/patient/3/unpaid-appointments", &id)->function,
			 "api.unpaid_appointments");
	ck_assert_int_eq(id, 3);
	ck_assert_str_eq(found("PATCH", "/payments/9", NULL)->function, "api.update_payment");
	ck_assert_str_eq(found("POST", "/payments/", NULL)->function, "api.create_payment");
	ck_assert_int_eq(found("POST", "/auth/login", NULL)->body, BODY_LOGIN_FORM);
	ck_assert(!found("POST", "/auth/register", NULL)->authenticated);
	ck_assert_int_eq(found("GET", "/", NULL)->handler, HANDLER_ROOT);
	ck_assert_int_eq(found("GET", "/docs/swagger-ui.css", NULL)->handler, HANDLER_DOCS_ASSET);
	ck_assert_int_eq(found("GET", "/redoc", NULL)->handler, HANDLER_REDOC);
}
END_TEST

START_TEST(unknown_paths_are_not_found)
{
	struct route_match m;

	ck_assert_int_eq(route_find("GET", "/nope", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "/patients/1/extra", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "//patients", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "/patients//", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "patients", &m), ROUTE_NOT_FOUND);
	ck_assert_int_eq(route_find("GET", "/Patients", &m), ROUTE_NOT_FOUND);
}
END_TEST

START_TEST(wrong_method_lists_the_allowed_ones)
{
	struct route_match m;

	ck_assert_int_eq(route_find("PATCH", "/patients/1", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, PUT, DELETE, OPTIONS");
	ck_assert_int_eq(route_find("DELETE", "/patients", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, POST, OPTIONS");
	ck_assert_int_eq(route_find("GET", "/auth/login", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_int_eq(route_find("PUT", "/session_notes/5", &m), ROUTE_METHOD_NOT_ALLOWED);
	ck_assert_str_eq(m.allow, "GET, DELETE, OPTIONS");
}
END_TEST

START_TEST(ids_must_be_integers)
{
	struct route_match m;
	int64_t id;

	ck_assert_int_eq(route_find("GET", "/patients/abc", &m), ROUTE_BAD_ID);
	ck_assert_int_eq((int)m.param_name_len, 2);
	ck_assert_int_eq(strncmp(m.param_name, "id", 2), 0);
	ck_assert_int_eq(route_find("GET", "/payments/patient/x/unpaid-appointments", &m), ROUTE_BAD_ID);
	ck_assert_int_eq(strncmp(m.param_name, "patient_id", m.param_name_len), 0);
	ck_assert_int_eq(route_find("GET", "/patients/-1", &m), ROUTE_BAD_ID);
	ck_assert_int_eq(route_find("GET", "/patients/1.5", &m), ROUTE_BAD_ID);
	ck_assert_int_eq(route_find("GET", "/patients/99999999999999999999", &m), ROUTE_BAD_ID);
	ck_assert_int_eq(route_parse_id("999999999999999999", 18, &id), 0);
	ck_assert(id == INT64_C(999999999999999999));
	ck_assert_int_eq(route_parse_id("", 0, &id), -1);
	ck_assert_int_eq(route_parse_id("1 ", 2, &id), -1);
}
END_TEST

START_TEST(no_path_matches_two_patterns)
{
	/* route_find takes the first match; that is only right if patterns never overlap. */
	for (size_t i = 0; i < route_count; i++) {
		char path[128];
		struct route_match m;
		const char *p = route_table[i].pattern;
		size_t o = 0;

		/* Instantiate the pattern with a number for its parameter. */
		while (*p != '\0' && o < sizeof(path) - 2) {
			if (*p == '{') {
				path[o++] = '5';
				p = strchr(p, '}') + 1;
			} else {
				path[o++] = *p++;
			}
		}
		path[o] = '\0';
		ck_assert_int_eq(route_find(route_table[i].method, path, &m), ROUTE_FOUND);
		ck_assert_ptr_eq(m.route, &route_table[i]);
	}
}
END_TEST

START_TEST(sql_passes_address_token_then_id_query_body)
{
	char sql[640];
	struct route_match m;

	route_find("GET", "/session_notes/1", &m);
	ck_assert_int_gt(route_sql(m.route, sql, sizeof(sql)), 0);
	ck_assert_str_eq(sql, "WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', $1, true), "
			      "set_config('request.route', 'GET /session_notes/{patient_id}', true), "
			      "set_config('request.jwt', $2, true)), "
			      "answer AS MATERIALIZED (SELECT api.list_patient_session_notes($3::bigint, $4::json)::text "
			      "AS body FROM request) "
			      "SELECT body, current_setting('response.status', true) FROM answer");
	route_find("PUT", "/patients/1", &m);
	route_sql(m.route, sql, sizeof(sql));
	ck_assert(strstr(sql, "api.update_patient($3::bigint, $4::json)") != NULL);
	route_find("POST", "/auth/login", &m);
	route_sql(m.route, sql, sizeof(sql));
	ck_assert(strstr(sql, "set_config('request.client_addr', $1, true)") != NULL);
	ck_assert(strstr(sql, "request.jwt") == NULL);
	ck_assert(strstr(sql, "SELECT api.login($2::json)::text AS body") != NULL);
	route_find("GET", "/health", &m);
	route_sql(m.route, sql, sizeof(sql));
	ck_assert_str_eq(sql, "SELECT api.health()::text");
	ck_assert_int_eq(route_sql(m.route, sql, 10), -1);
	route_find("GET", "/docs", &m);
	ck_assert_int_eq(route_sql(m.route, sql, sizeof(sql)), -1);
	/* Every route's SQL fits the buffer the server prepares it in. */
	for (size_t i = 0; i < route_count; i++)
		if (route_table[i].function != NULL)
			ck_assert_int_gt(route_sql(&route_table[i], sql, sizeof(sql)), 0);
}
END_TEST

START_TEST(read_replica_sql)
{
	char sql[800];
	struct route_match m;

	/* A GET on the replica: nothing runs unless a commit was replayed within the lag, and the audit row the
	 * primary must record comes back as a third column. */
	route_find("GET", "/patients", &m);
	ck_assert_int_gt(route_read_sql(m.route, 250, sql, sizeof(sql)), 0);
	ck_assert_str_eq(sql, "WITH fresh AS MATERIALIZED (SELECT WHERE clock_timestamp() - "
			      "pg_last_xact_replay_timestamp() < interval '250 milliseconds'), "
			      "request AS MATERIALIZED (SELECT set_config('request.client_addr', $1, true), "
			      "set_config('request.route', 'GET /patients', true), "
			      "set_config('request.jwt', $2, true) FROM fresh), "
			      "answer AS MATERIALIZED (SELECT api.list_patients($3::json)::text AS body FROM request) "
			      "SELECT body, current_setting('response.status', true), "
			      "current_setting('response.audit', true) FROM answer");
	/* Writes, logins and the health check never go to a replica. */
	route_find("POST", "/patients", &m);
	ck_assert_int_eq(route_read_sql(m.route, 250, sql, sizeof(sql)), -1);
	route_find("POST", "/auth/login", &m);
	ck_assert_int_eq(route_read_sql(m.route, 250, sql, sizeof(sql)), -1);
	route_find("GET", "/health", &m);
	ck_assert_int_eq(route_read_sql(m.route, 250, sql, sizeof(sql)), -1);
	route_find("GET", "/patients", &m);
	ck_assert_int_eq(route_read_sql(m.route, 0, sql, sizeof(sql)), -1);
	/* Every GET api route's replica SQL fits the buffer the server prepares it in. */
	for (size_t i = 0; i < route_count; i++)
		if (route_table[i].handler == HANDLER_API && strcmp(route_table[i].method, "GET") == 0)
			ck_assert_int_gt(route_read_sql(&route_table[i], 600000, sql, sizeof(sql)), 0);
}
END_TEST

START_TEST(audit_and_export_routes)
{
	int64_t id;

	ck_assert_str_eq(found("GET", "/audit", NULL)->function, "api.list_audit");
	ck_assert_str_eq(found("GET", "/audit/", NULL)->function, "api.list_audit");
	ck_assert(found("GET", "/audit", NULL)->takes_query);
	ck_assert_str_eq(found("GET", "/patients/12/export", &id)->function, "api.export_patient");
	ck_assert_int_eq(id, 12);
	ck_assert_str_eq(found("GET", "/patients/12/export/", NULL)->function, "api.export_patient");
	ck_assert(found("GET", "/patients/12/export", NULL)->authenticated);
}
END_TEST

Suite *route_table_suite(void)
{
	return SUITE("route_table",
		     contract_paths_reach_their_functions,
		     unknown_paths_are_not_found,
		     wrong_method_lists_the_allowed_ones,
		     ids_must_be_integers,
		     no_path_matches_two_patterns,
		     sql_passes_address_token_then_id_query_body,
		     audit_and_export_routes,
		     read_replica_sql);
}
