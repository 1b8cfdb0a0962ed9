/* Access-log lines: valid JSON whatever the client sent, no query string. */
#include <jansson.h>
#include <string.h>

#include "access_log.h"
#include "suites.h"

START_TEST(line_is_json_even_for_hostile_paths)
{
	char buf[4096], path[1000];
	struct access_log_entry e = {
		.started = {.tv_sec = 1800000000, .tv_nsec = 123456789},
		.duration_ms = 1.5,
		.method = "GET",
		.path = "/patients/\"\\\x01\xff",
		.status = 404,
		.request_id = "abc",
	};
	size_t len = access_log_format(&e, buf, sizeof(buf));
	json_t *line;

	ck_assert_int_eq(buf[len - 1], '\n');
	line = json_loadb(buf, len, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "time")), "2027-01-15T08:00:00.123Z");
	ck_assert_str_eq(json_string_value(json_object_get(line, "path")), "/patients/\"\\\x01\xc3\xbf");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "status")), 404);
	ck_assert_str_eq(json_string_value(json_object_get(line, "request_id")), "abc");
	ck_assert_ptr_null(json_object_get(line, "db"));
	json_decref(line);

	/* A read the replica answered says so. */
	e.replica = true;
	len = access_log_format(&e, buf, sizeof(buf));
	line = json_loadb(buf, len, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "db")), "replica");
	json_decref(line);
	e.replica = false;

	/* A long path is cut, and the line stays whole. */
	memset(path, '"', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	e.path = path;
	e.method = path;
	len = access_log_format(&e, buf, sizeof(buf));
	line = json_loadb(buf, len, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(line, "path"))), 200);
	json_decref(line);
}
END_TEST

Suite *access_log_suite(void)
{
	return SUITE("access_log", line_is_json_even_for_hostile_paths);
}
