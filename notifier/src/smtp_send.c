/* The SMTP transfer: envelope, payload callback, and how a failure is classified. */
#include "smtp_send.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_message.h"
#include "url_security.h"

struct smtp_sender {
	const struct config *cfg;
	CURL *curl;
	char *envelope_from; /* "<address>" */
	bool loopback;
};

/* The payload curl reads: the message, from pos on. */
struct payload {
	const char *data;
	size_t len, pos;
};

static size_t payload_read(char *buf, size_t size, size_t nitems, void *userdata)
{
	struct payload *p = userdata;
	size_t n = size * nitems, left = p->len - p->pos;

	if (n > left)
		n = left;
	memcpy(buf, p->data + p->pos, n);
	p->pos += n;
	return n;
}

struct smtp_sender *smtp_sender_new(const struct config *cfg)
{
	struct smtp_sender *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->curl = curl_easy_init();
	s->envelope_from = mail_envelope_address(cfg->mail_from);
	s->loopback = url_is_loopback(cfg->smtp_url);
	if (s->curl == NULL || s->envelope_from == NULL) {
		smtp_sender_free(s);
		return NULL;
	}
	return s;
}

void smtp_sender_free(struct smtp_sender *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	free(s->envelope_from);
	free(s);
}

void smtp_send(struct smtp_sender *s, const char *to, const char *message, size_t len, struct send_result *out)
{
	struct payload p = {.data = message, .len = len};
	struct curl_slist *rcpt = NULL;
	char errbuf[CURL_ERROR_SIZE] = "", rcpt_addr[512];
	long code = 0;
	CURLcode rc;

	snprintf(rcpt_addr, sizeof(rcpt_addr), "<%s>", to);
	rcpt = curl_slist_append(NULL, rcpt_addr);
	if (rcpt == NULL) {
		out->outcome = SEND_RETRY;
		snprintf(out->error, sizeof(out->error), "brak pamięci");
		return;
	}
	/* reset per message, keeping the connection cache of the handle */
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, s->cfg->smtp_url);
	/* smtp://: STARTTLS or nothing, unless the server is this machine; smtps:// is TLS anyway */
	curl_easy_setopt(s->curl, CURLOPT_USE_SSL, s->loopback ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, s->envelope_from);
	curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, payload_read);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, &p);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, (long)s->cfg->send_timeout);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(rcpt);
	if (rc == CURLE_OK) {
		out->outcome = SEND_OK;
		out->error[0] = '\0';
		return;
	}
	/* 5xx: the server refuses this message for good; anything else may pass */
	out->outcome = code >= 500 && code < 600 ? SEND_PERMANENT : SEND_RETRY;
	if (code >= 400)
		snprintf(out->error, sizeof(out->error), "SMTP %ld: %s", code, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		snprintf(out->error, sizeof(out->error), "SMTP: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
}
