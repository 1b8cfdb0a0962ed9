/* Runs every unit suite; exits non-zero when any test fails. */
#include <stdlib.h>

#include "suites.h"

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
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
