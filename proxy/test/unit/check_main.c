/* Runs every unit suite; exits non-zero when any test fails. */
#include <stdlib.h>

#include "suites.h"

Suite *suite_of(const char *name, const TTest *const *tests, size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *runner = srunner_create(route_table_suite());
	int failed;

	srunner_add_suite(runner, sqlstate_status_suite());
	srunner_add_suite(runner, cors_suite());
	srunner_add_suite(runner, config_suite());
	srunner_add_suite(runner, form_suite());
	srunner_add_suite(runner, jwt_verify_suite());
	srunner_add_suite(runner, access_log_suite());
	srunner_add_suite(runner, openapi_suite());
	srunner_add_suite(runner, client_addr_suite());
	srunner_add_suite(runner, token_cache_suite());
	srunner_add_suite(runner, schema_gate_suite());
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
