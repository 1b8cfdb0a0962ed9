/* therapyassistance-notifier: sends what the outbox says is due, one message per transaction.
 * Loop: claim (row locked) -> hand over (SMTP or SMSAPI) -> record, commit and claim the next,
 * in one round trip -> ...; when nothing is due, wait for NOTIFY ta_outbox or the next due time.
 * SIGTERM/SIGINT finish the message in hand, record it, and exit. See README.md for why a crash
 * duplicates at most one. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "mail_message.h"
#include "outbox.h"
#include "sms_send.h"
#include "smtp_send.h"
#include "url_security.h"

static volatile int stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct senders {
	const struct config *cfg;
	struct smtp_sender *smtp;
	struct sms_sender *sms;
};

/* Hands m over on its channel; the outcome goes to r. */
static void deliver(const struct senders *s, const struct outbox_message *m, struct send_result *r)
{
	r->outcome = SEND_PERMANENT;
	r->error[0] = '\0';
	if (m->recipient == NULL || m->body == NULL) {
		snprintf(r->error, sizeof(r->error), "brak adresata lub treści");
	} else if (strcmp(m->channel, "email") == 0 && s->smtp != NULL) {
		size_t len;
		char *text = mail_message_build(s->cfg->mail_from, m->recipient, m->subject ? m->subject : "", m->body,
						m->message_key, time(NULL), &len);

		if (text == NULL) {
			r->outcome = SEND_RETRY;
			snprintf(r->error, sizeof(r->error), "brak pamięci");
			return;
		}
		smtp_send(s->smtp, m->recipient, text, len, r);
		free(text);
	} else if (strcmp(m->channel, "sms") == 0 && s->sms != NULL) {
		sms_send(s->sms, m->recipient, m->body, m->id, r);
	} else {
		r->outcome = SEND_RETRY;
		snprintf(r->error, sizeof(r->error), "kanał %s nie jest skonfigurowany", m->channel);
	}
}

/* Sends everything due. false when the connection must be remade. Each record goes to the
 * database with the next claim (one round trip per message); after SIGTERM, the last record goes
 * alone and nothing more is claimed. */
static bool drain(struct outbox *o, const struct senders *s)
{
	struct outbox_message m;
	int claimed;

	if (stop)
		return true;
	claimed = outbox_claim(o, &m);
	while (claimed == 1) {
		struct outbox_message next;
		struct send_result r;

		deliver(s, &m, &r);
		claimed = outbox_record(o, &m, &r, stop ? NULL : &next);
		fprintf(stderr, "notifier: %s %s %s: %s%s%s%s%s\n", m.kind, m.id, m.channel,
			r.outcome == SEND_OK ? "sent" : r.outcome == SEND_RETRY ? "failed, will retry" : "failed",
			r.error[0] ? " (" : "", r.error, r.error[0] ? ")" : "", claimed < 0 ? ", database error on recording" : "");
		outbox_message_clear(&m);
		if (claimed == 1)
			m = next;
	}
	return claimed == 0;
}

static void describe(const struct config *cfg)
{
	if (cfg->smtp_url != NULL) {
		char *host = url_host(cfg->smtp_url);

		fprintf(stderr, "notifier: e-mail through %s (%s)\n", host ? host : "?",
			strncmp(cfg->smtp_url, "smtps://", 8) == 0 ? "TLS"
			: url_is_loopback(cfg->smtp_url)           ? "loopback: STARTTLS when offered"
								   : "STARTTLS required");
		curl_free(host);
	}
	if (cfg->smsapi_token != NULL) {
		char *host = url_host(cfg->smsapi_url);

		fprintf(stderr, "notifier: SMS through %s\n", host ? host : "?");
		curl_free(host);
	}
}

int main(void)
{
	struct config cfg;
	struct senders s = {.cfg = &cfg};
	struct sigaction sa;
	int backoff = 1;

	if (!config_load(&cfg))
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (cfg.smtp_url != NULL && (s.smtp = smtp_sender_new(&cfg)) == NULL)
		return 1;
	if (cfg.smsapi_token != NULL && (s.sms = sms_sender_new(&cfg)) == NULL)
		return 1;
	describe(&cfg);
	while (!stop) {
		struct outbox *o = outbox_connect(&cfg, s.smtp != NULL, s.sms != NULL);

		if (o == NULL) {
			/* the database is away: try again, waiting longer each time (at most 30 s) */
			for (int i = 0; i < backoff * 10 && !stop; i++)
				nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
			backoff = backoff < 30 ? backoff * 2 : 30;
			continue;
		}
		backoff = 1;
		fprintf(stderr, "notifier: connected, waiting for due messages\n");
		while (!stop && drain(o, &s) && outbox_wait(o, &stop))
			;
		outbox_close(o);
	}
	smtp_sender_free(s.smtp);
	sms_sender_free(s.sms);
	curl_global_cleanup();
	fprintf(stderr, "notifier: stopped\n");
	return 0;
}
