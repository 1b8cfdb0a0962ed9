/*
 * Access log: each line formatted into a stack buffer (no allocation), appended under a lock to one batch that
 * the writer thread hands to write(2) every ACCESS_LOG_FLUSH_MS: at thousands of requests a second a write per
 * line was a system call per request. A crash (a fatal signal) writes what is collected before the process dies.
 */
#define _XOPEN_SOURCE 700 /* SA_ONSTACK */
#include "access_log.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Three fields of at most 200 bytes, 6 bytes each when escaped, plus the fixed part: always fits. */
#define ACCESS_LOG_MAX_LINE 4096
#define ACCESS_LOG_MAX_FIELD 200

/* Appends s as a JSON string (quotes included), cut at ACCESS_LOG_MAX_FIELD bytes; control bytes escaped. */
static size_t append_json_string(char *buf, size_t pos, size_t buflen, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (pos + 2 >= buflen)
		return pos;
	buf[pos++] = '"';
	for (; s != NULL && *s != '\0' && n < ACCESS_LOG_MAX_FIELD && pos + 8 < buflen; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[pos++] = '\\';
			buf[pos++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Bytes outside ASCII are escaped one by one: the path may not be valid UTF-8. */
			memcpy(buf + pos, "\\u00", 4);
			buf[pos + 4] = hex[c >> 4];
			buf[pos + 5] = hex[c & 15];
			pos += 6;
		} else {
			buf[pos++] = (char)c;
		}
	}
	buf[pos++] = '"';
	return pos;
}

/* Appends the literal s (its length known at compile time) when it fits. */
#define APPEND_LITERAL(buf, pos, buflen, s)                           \
	do {                                                          \
		if ((pos) + sizeof(s) <= (buflen)) {                  \
			memcpy((buf) + (pos), (s), sizeof(s) - 1);    \
			(pos) += sizeof(s) - 1;                       \
		}                                                     \
	} while (0)

/* Appends v in decimal, at least width digits (zero-padded); v < 10^20. */
static size_t append_unsigned(char *buf, size_t pos, size_t buflen, unsigned long long v, int width)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (n < width)
		digits[n++] = '0';
	if (pos + (size_t)n >= buflen)
		return pos;
	while (n > 0)
		buf[pos++] = digits[--n];
	return pos;
}

/*
 * "{"time":"YYYY-MM-DDTHH:MM:SS" of a second, made once a second per thread: gmtime_r takes glibc's time-zone
 * lock on every call.
 */
static __thread struct {
	time_t second;
	bool valid;
	size_t len;
	char text[64];
} time_prefix;

static size_t append_time_prefix(char *buf, size_t buflen, time_t second)
{
	if (!time_prefix.valid || time_prefix.second != second) {
		struct tm tm;
		int n;

		gmtime_r(&second, &tm);
		n = snprintf(time_prefix.text, sizeof(time_prefix.text), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (n < 0 || (size_t)n >= sizeof(time_prefix.text))
			n = 0;
		time_prefix.len = (size_t)n;
		time_prefix.second = second;
		time_prefix.valid = true;
	}
	if (time_prefix.len >= buflen)
		return 0;
	memcpy(buf, time_prefix.text, time_prefix.len);
	return time_prefix.len;
}

size_t access_log_format(const struct access_log_entry *entry, char *buf, size_t buflen)
{
	/* The milliseconds of duration_ms, rounded as %.3f would (durations are never negative). */
	double ms = entry->duration_ms > 0 ? entry->duration_ms : 0;
	unsigned long long thousandths = ms < 1e15 ? (unsigned long long)(ms * 1e3 + 0.5) : 1000000000000000000ULL;
	size_t pos = append_time_prefix(buf, buflen, entry->started.tv_sec);

	APPEND_LITERAL(buf, pos, buflen, ".");
	pos = append_unsigned(buf, pos, buflen, (unsigned long long)entry->started.tv_nsec / 1000000, 3);
	APPEND_LITERAL(buf, pos, buflen, "Z\",\"method\":");
	pos = append_json_string(buf, pos, buflen, entry->method);
	APPEND_LITERAL(buf, pos, buflen, ",\"path\":");
	pos = append_json_string(buf, pos, buflen, entry->path);
	APPEND_LITERAL(buf, pos, buflen, ",\"status\":");
	if (entry->status < 0)
		APPEND_LITERAL(buf, pos, buflen, "-");
	pos = append_unsigned(buf, pos, buflen,
			      (unsigned long long)(entry->status < 0 ? -(long long)entry->status : entry->status), 1);
	APPEND_LITERAL(buf, pos, buflen, ",\"duration_ms\":");
	pos = append_unsigned(buf, pos, buflen, thousandths / 1000, 1);
	APPEND_LITERAL(buf, pos, buflen, ".");
	pos = append_unsigned(buf, pos, buflen, thousandths % 1000, 3);
	APPEND_LITERAL(buf, pos, buflen, ",\"request_id\":");
	pos = append_json_string(buf, pos, buflen, entry->request_id);
	if (entry->replica)
		APPEND_LITERAL(buf, pos, buflen, ",\"db\":\"replica\"");
	APPEND_LITERAL(buf, pos, buflen, "}\n");
	return pos;
}

/* The batch being filled and the one being written; the writer swaps them under the lock. */
static struct {
	pthread_mutex_t lock;
	pthread_mutex_t writing;        /* held while a batch is written, taken after lock: keeps batches in order */
	pthread_cond_t filled;          /* the batch got its first line, or stopping */
	pthread_t writer;
	bool running, stopping;
	char batches[2][ACCESS_LOG_BATCH];
	char *batch;                    /* one of batches: being filled */
	size_t len;
	/*
	 * For the fatal-signal handler, which takes no lock: the batch being filled and its length (index << 32 |
	 * len, set under lock after the bytes are in place), and the one handed to write(2) (the same, 0 when none).
	 */
	atomic_ulong collected, in_flight;
} out = {.lock = PTHREAD_MUTEX_INITIALIZER, .writing = PTHREAD_MUTEX_INITIALIZER,
	 .filled = PTHREAD_COND_INITIALIZER};

/* Writes len bytes of buf to fd 1 (a full disk must not take requests down: what does not fit is dropped). */
static void write_out(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* index << 32 | len of one of the batches. */
static unsigned long batch_tag(const char *batch, size_t len)
{
	return (unsigned long)(batch == out.batches[1]) << 32 | len;
}

/* Under out.lock: tells the fatal-signal handler what the batch being filled holds. */
static void publish_collected(void)
{
	atomic_store(&out.collected, batch_tag(out.batch, out.len));
}

/* Under out.lock: takes the batch being filled out of the way and returns it (*len its length). */
static const char *take_batch(size_t *len)
{
	const char *full = out.batch;

	*len = out.len;
	atomic_store(&out.in_flight, batch_tag(full, *len));
	out.batch = out.batch == out.batches[0] ? out.batches[1] : out.batches[0];
	out.len = 0;
	publish_collected();
	return full;
}

/*
 * The fatal signals (a crash: a bug, libmicrohttpd's panic, glibc's heap checks) after which the lines collected
 * so far are written before the process dies; a kill -9 still loses them. The previous actions are kept: a
 * sanitizer's or fuzzer's handler still reports.
 */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static struct sigaction previous_actions[sizeof(fatal_signals) / sizeof(fatal_signals[0])];
static bool handlers_installed;

static void write_tagged(unsigned long tag)
{
	if ((tag & UINT32_MAX) != 0)
		write_out(out.batches[tag >> 32], (size_t)(tag & UINT32_MAX));
}

/*
 * Writes the batch handed to write(2) (it may have gone out already: a crash may repeat lines, it loses none of
 * those collected) and the one being filled, then dies as the signal would have: the previous action is put back
 * and a signal that was sent (kill, raise, abort) is sent again; a fault returns, and the faulting instruction
 * runs again under the previous action. Only async-signal-safe calls: atomic exchanges, write(2), sigaction, raise.
 */
static void flush_on_fatal_signal(int sig, siginfo_t *info, void *context)
{
	unsigned long in_flight = atomic_exchange(&out.in_flight, 0), collected = atomic_exchange(&out.collected, 0);

	(void)context;
	write_tagged(in_flight);
	write_tagged(collected);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		if (fatal_signals[i] == sig)
			sigaction(sig, &previous_actions[i], NULL);
	if (info == NULL || info->si_code <= 0)
		raise(sig);
}

static void install_fatal_handlers(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_sigaction = flush_on_fatal_signal;
	action.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &action, &previous_actions[i]);
	handlers_installed = true;
}

static void restore_fatal_handlers(void)
{
	if (!handlers_installed)
		return;
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &previous_actions[i], NULL);
	handlers_installed = false;
}

/* The writer: waits for a first line, lets more join it for ACCESS_LOG_FLUSH_MS, writes the batch. */
static void *writer_main(void *arg)
{
	struct timespec pause = {.tv_sec = 0, .tv_nsec = ACCESS_LOG_FLUSH_MS * 1000000L};

	(void)arg;
	pthread_mutex_lock(&out.lock);
	for (;;) {
		const char *batch;
		size_t len;

		while (out.len == 0 && !out.stopping)
			pthread_cond_wait(&out.filled, &out.lock);
		if (out.len == 0)
			break;
		if (!out.stopping) {
			pthread_mutex_unlock(&out.lock);
			nanosleep(&pause, NULL);
			pthread_mutex_lock(&out.lock);
		}
		/* New lines fill the other batch meanwhile; only this thread swaps them, so this one stays as is. */
		batch = take_batch(&len);
		pthread_mutex_lock(&out.writing);
		pthread_mutex_unlock(&out.lock);
		write_out(batch, len);
		atomic_store(&out.in_flight, 0);
		pthread_mutex_unlock(&out.writing);
		pthread_mutex_lock(&out.lock);
	}
	pthread_mutex_unlock(&out.lock);
	return NULL;
}

int access_log_start(void)
{
	pthread_mutex_lock(&out.lock);
	out.batch = out.batches[0];
	out.len = 0;
	publish_collected();
	atomic_store(&out.in_flight, 0);
	out.stopping = false;
	out.running = pthread_create(&out.writer, NULL, writer_main, NULL) == 0;
	if (out.running && !handlers_installed)
		install_fatal_handlers();
	pthread_mutex_unlock(&out.lock);
	return out.running ? 0 : -1;
}

void access_log_stop(void)
{
	bool running;

	pthread_mutex_lock(&out.lock);
	running = out.running;
	out.stopping = true;
	pthread_cond_signal(&out.filled);
	pthread_mutex_unlock(&out.lock);
	if (running)
		pthread_join(out.writer, NULL);
	pthread_mutex_lock(&out.lock);
	out.running = false;
	restore_fatal_handlers();
	pthread_mutex_unlock(&out.lock);
}

void access_log_write(const struct access_log_entry *entry)
{
	char line[ACCESS_LOG_MAX_LINE];
	size_t len = access_log_format(entry, line, sizeof(line));

	pthread_mutex_lock(&out.lock);
	if (!out.running) {
		pthread_mutex_unlock(&out.lock);
		write_out(line, len);
		return;
	}
	if (out.len + len > ACCESS_LOG_BATCH) {
		/* A full batch is written by whoever fills it, after the one the writer may be writing. */
		pthread_mutex_lock(&out.writing);
		write_out(out.batch, out.len);
		pthread_mutex_unlock(&out.writing);
		out.len = 0;
	}
	memcpy(out.batch + out.len, line, len);
	out.len += len;
	publish_collected();
	if (out.len == len)
		pthread_cond_signal(&out.filled);
	pthread_mutex_unlock(&out.lock);
}
