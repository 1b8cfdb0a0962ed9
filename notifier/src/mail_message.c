/* Message text: headers, encoded words and the base64 body. Pure functions over strings. */
#include "mail_message.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing buffer; ok turns false on the first failed allocation and stays so. */
struct text {
	char *data;
	size_t len, cap;
	bool ok;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (!t->ok)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		char *grown;

		while (cap < t->len + n + 1)
			cap *= 2;
		grown = realloc(t->data, cap);
		if (grown == NULL) {
			t->ok = false;
			return;
		}
		t->data = grown;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends the base64 of n bytes (no line breaks). */
static void text_base64(struct text *t, const unsigned char *s, size_t n)
{
	char quad[4];

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);

		quad[0] = b64[v >> 18 & 63];
		quad[1] = b64[v >> 12 & 63];
		quad[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		quad[3] = i + 2 < n ? b64[v & 63] : '=';
		text_add(t, quad, 4);
	}
}

/*
 * Subject as encoded words of at most 39 bytes of UTF-8 each (52 base64 characters: a word and
 * "Subject: " stay within 78 characters a line), never splitting a character, folded onto
 * continuation lines.
 */
static void text_encoded_words(struct text *t, const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		size_t end = i + 39 < n ? i + 39 : n;

		/* back off to the start of a UTF-8 sequence */
		while (end < n && end > i && ((unsigned char)s[end] & 0xC0) == 0x80)
			end--;
		if (i > 0)
			text_str(t, "\r\n ");
		text_str(t, "=?UTF-8?B?");
		text_base64(t, (const unsigned char *)s + i, end - i);
		text_str(t, "?=");
		i = end;
	}
}

/* The body with every line ending as CRLF, as text/plain must be before it is encoded. */
static char *crlf_body(const char *body, size_t *len)
{
	struct text t = {.ok = true};

	for (const char *p = body; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			text_str(&t, "\r\n");
		else
			text_add(&t, p, 1);
	}
	text_add(&t, "", 0);
	if (!t.ok) {
		free(t.data);
		return NULL;
	}
	*len = t.len;
	return t.data;
}

char *mail_envelope_address(const char *mail_from)
{
	const char *lt = strchr(mail_from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	size_t n = lt && gt ? (size_t)(gt - lt - 1) : strlen(mail_from);
	char *out = malloc(n + 3);

	if (out == NULL)
		return NULL;
	out[0] = '<';
	memcpy(out + 1, lt && gt ? lt + 1 : mail_from, n);
	out[n + 1] = '>';
	out[n + 2] = '\0';
	return out;
}

char *mail_message_build(const char *mail_from, const char *to, const char *subject, const char *body,
			 const char *message_key, time_t now, size_t *len)
{
	struct text t = {.ok = true};
	char date[64], *envelope = mail_envelope_address(mail_from), *plain;
	const char *at;
	size_t plain_len = 0;
	struct tm tm;

	if (envelope == NULL)
		return NULL;
	/* RFC 5322 date in UTC; the day and month names are fixed English, not the locale's. */
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	gmtime_r(&now, &tm);
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	at = strrchr(envelope, '@');

	text_str(&t, "Date: ");
	text_str(&t, date);
	text_str(&t, "\r\nFrom: ");
	text_str(&t, mail_from);
	text_str(&t, "\r\nTo: <");
	text_str(&t, to);
	text_str(&t, ">\r\nSubject: ");
	text_encoded_words(&t, subject);
	text_str(&t, "\r\nMessage-ID: <");
	text_str(&t, message_key);
	text_str(&t, "@");
	/* the sender's domain, without the closing '>' */
	text_add(&t, at ? at + 1 : "therapyassistance.invalid", at ? strlen(at + 1) - 1 : 25);
	text_str(&t, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
		     "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n");
	free(envelope);

	plain = crlf_body(body, &plain_len);
	if (plain == NULL) {
		free(t.data);
		return NULL;
	}
	/* base64 in lines of 76 characters (57 bytes each) */
	for (size_t i = 0; i < plain_len; i += 57) {
		text_base64(&t, (const unsigned char *)plain + i, plain_len - i < 57 ? plain_len - i : 57);
		text_str(&t, "\r\n");
	}
	free(plain);
	if (!t.ok) {
		free(t.data);
		return NULL;
	}
	*len = t.len;
	return t.data;
}
