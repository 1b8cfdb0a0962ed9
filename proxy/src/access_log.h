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

/* Writes the line to fd 1 with a single write(2), so concurrent lines do not interleave. */
void access_log_write(const struct access_log_entry *entry);

#endif
