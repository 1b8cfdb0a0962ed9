/* The unit suites of the proxy's network-free logic; check_main.c runs them all. */
#ifndef TA_TEST_SUITES_H
#define TA_TEST_SUITES_H

#include <check.h>

Suite *route_table_suite(void);
Suite *sqlstate_status_suite(void);
Suite *cors_suite(void);
Suite *config_suite(void);
Suite *form_suite(void);
Suite *jwt_verify_suite(void);
Suite *access_log_suite(void);
Suite *openapi_suite(void);

#endif
