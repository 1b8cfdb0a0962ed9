/* A tolerant scanner for the two reply shapes; anything else is reported, never trusted. */
#include "gateway_reply.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The position just after "key": (with whitespace) in the top-level object, or NULL. Only
 * depth-1 keys count, so {"list":[{"error":null}]} is not mistaken for an error reply. */
static const char *top_level_value(const char *s, size_t len, const char *key)
{
	size_t klen = strlen(key);
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == '"') {
			if (depth == 1 && i + klen + 1 < len && strncmp(s + i + 1, key, klen) == 0 && s[i + klen + 1] == '"') {
				size_t j = i + klen + 2;

				while (j < len && isspace((unsigned char)s[j]))
					j++;
				if (j < len && s[j] == ':') {
					j++;
					while (j < len && isspace((unsigned char)s[j]))
						j++;
					return s + j;
				}
			}
			in_string = true;
		}
	}
	return NULL;
}

/* Copies a JSON string value (escapes kept as they are, quotes dropped) into out. */
static void copy_string(const char *v, const char *end, char *out, size_t size)
{
	size_t n = 0;

	if (v >= end || *v != '"') {
		snprintf(out, size, "?");
		return;
	}
	for (v++; v < end && *v != '"' && n + 1 < size; v++) {
		if (*v == '\\' && v + 1 < end)
			v++;
		out[n++] = (unsigned char)*v < 0x20 ? ' ' : *v;
	}
	out[n] = '\0';
}

void gateway_reply_classify(long http_status, const char *body, size_t len, struct send_result *out)
{
	const char *end = body + len, *error, *count, *message;
	char text[300];

	error = top_level_value(body, len, "error");
	count = top_level_value(body, len, "count");
	if (error != NULL && isdigit((unsigned char)*error)) {
		long code = strtol(error, NULL, 10);

		message = top_level_value(body, len, "message");
		copy_string(message ? message : end, end, text, sizeof(text));
		out->outcome = code >= 11 && code <= 14 ? SEND_PERMANENT : SEND_RETRY;
		snprintf(out->error, sizeof(out->error), "SMSAPI błąd %ld: %s", code, text);
		return;
	}
	if (http_status >= 200 && http_status < 300 && count != NULL && strtol(count, NULL, 10) >= 1 &&
	    top_level_value(body, len, "list") != NULL) {
		out->outcome = SEND_OK;
		out->error[0] = '\0';
		return;
	}
	out->outcome = SEND_RETRY;
	snprintf(out->error, sizeof(out->error), "SMSAPI: nieczytelna odpowiedź bramki (HTTP %ld, %zu bajtów)",
		 http_status, len);
}
