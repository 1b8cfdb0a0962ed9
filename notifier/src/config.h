/* The notifier's settings, read once from the environment. Secrets (the SMTP password inside
 * SMTP_URL, SMSAPI_TOKEN) are kept here and never printed. */
#ifndef NOTIFIER_CONFIG_H
#define NOTIFIER_CONFIG_H

#include <stdbool.h>

struct config {
	const char *database_url;  /* NOTIFIER_DATABASE_URL, else DB_HOST... with DB_NOTIFIER, else DATABASE_URL */
	const char *smtp_url;      /* SMTP_URL: smtp:// or smtps://, NULL when e-mail is off */
	const char *mail_from;     /* MAIL_FROM: an address, or "Name <address>" (ASCII) */
	const char *app_url;       /* APP_URL: the SPA's public URL, for password-reset links */
	const char *smsapi_token;  /* SMSAPI_TOKEN, NULL when SMS is off */
	const char *smsapi_url;    /* SMSAPI_URL, default https://api.smsapi.pl/sms.do */
	const char *smsapi_from;   /* SMSAPI_FROM: the sender name, NULL for the account's default */
	int retry_seconds;         /* NOTIFIER_RETRY_SECONDS: first retry after this (default 60) */
	int send_timeout;          /* NOTIFIER_SEND_TIMEOUT: seconds one send may take (default 30) */
	int durable_every;         /* NOTIFIER_DURABLE_EVERY: every n-th record waits for the WAL flush (16) */
};

/* Fills cfg from the environment; returns false and prints why when a setting is unusable. */
bool config_load(struct config *cfg);

#endif
