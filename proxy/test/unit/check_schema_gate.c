/* The schema gate's version order and its 503 detail (the database side is tested in test/http). */
#include <string.h>

#include "schema_gate.h"
#include "suites.h"

START_TEST(versions_compare_as_numbers)
{
	ck_assert_int_eq(schema_version_compare("1.0", "1.0"), 0);
	ck_assert_int_lt(schema_version_compare("1.0", "1.1"), 0);
	ck_assert_int_gt(schema_version_compare("1.1", "1.0"), 0);
	ck_assert_int_lt(schema_version_compare("1.9", "1.10"), 0);
	ck_assert_int_gt(schema_version_compare("2.0", "1.99"), 0);
	ck_assert_int_eq(schema_version_compare("1.1", "1.1.0"), 0);
	ck_assert_int_lt(schema_version_compare("1.1", "1.1.1"), 0);
	ck_assert_int_lt(schema_version_compare("", "1.0"), 0);
}
END_TEST

START_TEST(unknown_until_a_connection_is_checked)
{
	struct schema_gate *gate = schema_gate_create("1.1");
	char installed[32] = "x";

	ck_assert_ptr_nonnull(gate);
	ck_assert_int_eq(schema_gate_state(gate, installed, sizeof(installed)), SCHEMA_UNKNOWN);
	ck_assert_str_eq(installed, "");
	schema_gate_destroy(gate);
}
END_TEST

START_TEST(detail_names_both_versions_and_the_upgrade)
{
	struct schema_gate *gate = schema_gate_create("1.1");
	char detail[512];

	schema_gate_detail(gate, "1.0", detail, sizeof(detail));
	ck_assert_ptr_nonnull(strstr(detail, "schema 1.0 is older than this proxy needs (1.1)"));
	ck_assert_ptr_nonnull(strstr(detail, "make up"));
	ck_assert_ptr_nonnull(strstr(detail, "deploy-mikrus.sh update"));
	ck_assert_ptr_nonnull(strstr(detail, "psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f sql/fallback/upgrade.sql"));
	schema_gate_destroy(gate);
}
END_TEST

Suite *schema_gate_suite(void)
{
	return SUITE("schema_gate", versions_compare_as_numbers, unknown_until_a_connection_is_checked,
		     detail_names_both_versions_and_the_upgrade);
}
