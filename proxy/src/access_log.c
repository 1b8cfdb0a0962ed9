/* Access log: formatted into a stack buffer, no allocation, one write per line. */
#define _POSIX_C_SOURCE 200809L
#include "access_log.h"

#include <stdio.h>
#include <string.h>
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

size_t access_log_format(const struct access_log_entry *entry, char *buf, size_t buflen)
{
	struct tm tm;
	size_t pos;
	int n;

	gmtime_r(&entry->started.tv_sec, &tm);
	n = snprintf(buf, buflen, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"method\":", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, entry->started.tv_nsec / 1000000);
	pos = append_json_string(buf, (size_t)n, buflen, entry->method);
	pos += (size_t)snprintf(buf + pos, buflen - pos, ",\"path\":");
	pos = append_json_string(buf, pos, buflen, entry->path);
	n = snprintf(buf + pos, buflen - pos, ",\"status\":%d,\"duration_ms\":%.3f,\"request_id\":", entry->status,
		     entry->duration_ms);
	pos += (size_t)n;
	pos = append_json_string(buf, pos, buflen, entry->request_id);
	n = snprintf(buf + pos, buflen - pos, "%s}\n", entry->replica ? ",\"db\":\"replica\"" : "");
	pos += (size_t)n;
	return pos;
}

void access_log_write(const struct access_log_entry *entry)
{
	char line[ACCESS_LOG_MAX_LINE];
	size_t len = access_log_format(entry, line, sizeof(line));
	ssize_t written = write(STDOUT_FILENO, line, len);

	(void)written; /* a full disk must not take requests down */
}
