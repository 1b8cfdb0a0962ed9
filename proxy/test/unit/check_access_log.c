/* Access-log lines: valid JSON whatever the client sent, no query string; a crash loses none collected. */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

/*
 * A child logs one line through the writer thread and dies of sig at once (well within ACCESS_LOG_FLUSH_MS):
 * returns what it wrote on stdout (caller frees) and checks it died of sig.
 */
static char *output_of_crash(int sig)
{
	int fds[2], status;
	pid_t child;
	char *text = calloc(1, 8192);
	size_t len = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct access_log_entry e = {.method = "GET", .path = "/patients", .status = 200, .request_id = "crash"};

		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		if (access_log_start() != 0)
			_exit(3);
		access_log_write(&e);
		if (sig == SIGSEGV)
			*(volatile int *)(volatile void *)NULL = 1; /* a real fault */
		else
			raise(sig);
		_exit(4);
	}
	close(fds[1]);
	while (len < 8191 && (n = read(fds[0], text + len, 8191 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), sig);
	return text;
}

/* A crash writes the lines still waiting for the writer thread before the process dies of its signal. */
START_TEST(crash_writes_collected_lines)
{
	static const int sigs[] = {SIGABRT, SIGSEGV};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char *text = output_of_crash(sigs[i]);

		ck_assert_msg(strstr(text, "\"request_id\":\"crash\"") != NULL, "signal %d lost the line: \"%s\"",
			      sigs[i], text);
		free(text);
	}
}
END_TEST

Suite *access_log_suite(void)
{
	return SUITE("access_log", line_is_json_even_for_hostile_paths, crash_writes_collected_lines);
}
