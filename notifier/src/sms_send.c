/* The gateway request: form fields, bearer header, a bounded reply buffer. */
#include "sms_send.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway_reply.h"
#include "url_security.h"

/* Replies are a few hundred bytes; more is not a reply we understand. */
#define REPLY_MAX 65536

struct sms_sender {
	const struct config *cfg;
	CURL *curl;
	char *auth_header; /* "Authorization: Bearer <token>": secret, never logged */
};

struct reply {
	char data[REPLY_MAX];
	size_t len;
};

static size_t reply_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * nmemb;

	if (n > REPLY_MAX - 1 - r->len)
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

struct sms_sender *sms_sender_new(const struct config *cfg)
{
	struct sms_sender *s;
	size_t n;

	if (strncmp(cfg->smsapi_url, "https://", 8) != 0 && !url_is_loopback(cfg->smsapi_url)) {
		fprintf(stderr, "notifier: SMSAPI_URL must be https:// (plain http only to this machine)\n");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->curl = curl_easy_init();
	n = strlen(cfg->smsapi_token) + 32;
	s->auth_header = malloc(n);
	if (s->curl == NULL || s->auth_header == NULL) {
		sms_sender_free(s);
		return NULL;
	}
	snprintf(s->auth_header, n, "Authorization: Bearer %s", cfg->smsapi_token);
	return s;
}

void sms_sender_free(struct sms_sender *s)
{
	if (s == NULL)
		return;
	if (s->curl != NULL)
		curl_easy_cleanup(s->curl);
	if (s->auth_header != NULL) {
		memset(s->auth_header, 0, strlen(s->auth_header));
		free(s->auth_header);
	}
	free(s);
}

/* Appends "&name=value" (value URL-encoded) to buf; false when it does not fit. */
static bool add_field(CURL *curl, char *buf, size_t size, const char *name, const char *value)
{
	char *escaped = curl_easy_escape(curl, value, 0);
	size_t used = strlen(buf);
	int n;

	if (escaped == NULL)
		return false;
	n = snprintf(buf + used, size - used, "%s%s=%s", used ? "&" : "", name, escaped);
	curl_free(escaped);
	return n >= 0 && (size_t)n < size - used;
}

void sms_send(struct sms_sender *s, const char *number, const char *text, const char *idx, struct send_result *out)
{
	char form[4096] = "", errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	struct reply *reply = malloc(sizeof(*reply));
	long status = 0;
	CURLcode rc;

	out->outcome = SEND_RETRY;
	if (reply == NULL) {
		snprintf(out->error, sizeof(out->error), "brak pamięci");
		return;
	}
	reply->len = 0;
	reply->data[0] = '\0';
	/* normalize: Polish letters as Latin ones, so 160 characters stay one GSM-7 part */
	if (!add_field(s->curl, form, sizeof(form), "to", number) ||
	    !add_field(s->curl, form, sizeof(form), "message", text) ||
	    !add_field(s->curl, form, sizeof(form), "format", "json") ||
	    !add_field(s->curl, form, sizeof(form), "encoding", "utf-8") ||
	    !add_field(s->curl, form, sizeof(form), "normalize", "1") ||
	    !add_field(s->curl, form, sizeof(form), "idx", idx) ||
	    !add_field(s->curl, form, sizeof(form), "check_idx", "1") ||
	    (s->cfg->smsapi_from != NULL && !add_field(s->curl, form, sizeof(form), "from", s->cfg->smsapi_from))) {
		out->outcome = SEND_PERMANENT;
		snprintf(out->error, sizeof(out->error), "SMS za długi do wysłania");
		free(reply);
		return;
	}
	headers = curl_slist_append(headers, s->auth_header);
	headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, s->cfg->smsapi_url);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, (long)s->cfg->send_timeout);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "therapyassistance-notifier");
	rc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK)
		snprintf(out->error, sizeof(out->error), "SMSAPI: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		gateway_reply_classify(status, reply->data, reply->len, out);
	free(reply);
}
