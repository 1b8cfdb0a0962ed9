/* The unit suites of the proxy's network-free logic; check_main.c runs them all. */
#ifndef TA_TEST_SUITES_H
#define TA_TEST_SUITES_H

#include <check.h>

/* A suite of one test case holding tests (n of them); check_main.c defines it. */
Suite *suite_of(const char *name, const TTest *const *tests, size_t n);
#define SUITE(name, ...) \
	suite_of(name, (const TTest *const[]){__VA_ARGS__}, \
		 sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *))

Suite *route_table_suite(void);
Suite *sqlstate_status_suite(void);
Suite *cors_suite(void);
Suite *config_suite(void);
Suite *form_suite(void);
Suite *jwt_verify_suite(void);
Suite *access_log_suite(void);
Suite *openapi_suite(void);
Suite *client_addr_suite(void);
Suite *token_cache_suite(void);
Suite *schema_gate_suite(void);

#endif
