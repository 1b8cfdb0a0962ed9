/* One JSON line per request on stdout: never a token, password or body. */
#ifndef TA_ACCESS_LOG_H
#define TA_ACCESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct access_log_entry {
	struct timespec started;   /* CLOCK_REALTIME when the request arrived */
	double duration_ms;
	const char *method;
	const char *path;          /* without the query string, which may carry personal data */
	int status;
	const char *request_id;
	bool replica;              /* answered by the read replica (DB_READ_URL): logged as "db":"replica" */
};

/* Formats entry as one line into buf. Returns the length (always < buflen; long fields are cut). */
size_t access_log_format(const struct access_log_entry *entry, char *buf, size_t buflen);

/*
 * Logs entry. Between access_log_start and access_log_stop lines are collected in memory and written to fd 1 by
 * a thread of the log's own, ACCESS_LOG_FLUSH_MS after the first line of a batch, many lines per write(2): a
 * line is written at most that late. A fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) writes what is
 * collected before the process dies (a batch being written may then appear twice); only a kill -9 loses the last
 * ACCESS_LOG_FLUSH_MS of lines. Otherwise each line is one write(2). Lines never interleave.
 */
void access_log_write(const struct access_log_entry *entry);

/* How long a line may wait in memory; a full batch (ACCESS_LOG_BATCH bytes) is written at once. */
#define ACCESS_LOG_FLUSH_MS 20
#define ACCESS_LOG_BATCH (64 * 1024)

/*
 * Starts the writer thread and the fatal-signal handlers (the previous ones are chained). Returns 0, or -1 (lines
 * are then written one by one).
 */
int access_log_start(void);
/* Writes what is collected, stops the writer, puts the previous signal actions back; then lines go one by one. */
void access_log_stop(void);

#endif
