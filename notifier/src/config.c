/* Settings from the environment, with their defaults and checks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* An integer setting within [lo, hi], dflt when unset; -1 when malformed. */
static int env_int(const char *name, int dflt, int lo, int hi)
{
	const char *v = env_or_null(name);
	char *end;
	long n;

	if (v == NULL)
		return dflt;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < lo || n > hi) {
		fprintf(stderr, "notifier: %s must be a whole number from %d to %d\n", name, lo, hi);
		return -1;
	}
	return (int)n;
}

/* Appends " key='value'" to a libpq conninfo, quoting as libpq wants; false when it does not fit. */
static bool conninfo_add(char *buf, size_t size, const char *key, const char *value)
{
	size_t n = strlen(buf);

	if (value == NULL)
		return true;
	n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s='", n ? " " : "", key);
	for (const char *p = value; *p != '\0' && n + 3 < size; p++) {
		if (*p == '\'' || *p == '\\')
			buf[n++] = '\\';
		buf[n++] = *p;
	}
	if (n + 2 >= size)
		return false;
	buf[n++] = '\'';
	buf[n] = '\0';
	return true;
}

/* Whether DB_HOST is this machine (a socket folder, localhost, 127.x, ::1): the proxy's rule. */
static bool host_is_local(const char *host)
{
	return host[0] == '/' || strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0;
}

/* DB_SSLMODE (one of libpq's), else "require" for a DB_HOST that is another machine, as the proxy does: the
 * reminders' names, addresses and the role's password never cross a network in clear. NULL: libpq's default;
 * *bad when DB_SSLMODE is none of libpq's modes. */
static const char *database_sslmode(const char *host, bool *bad)
{
	static const char *const modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
	const char *mode = env_or_null("DB_SSLMODE");

	*bad = false;
	if (mode == NULL)
		return host_is_local(host) ? NULL : "require";
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0)
			return modes[i];
	*bad = true;
	return NULL;
}

/* The contract's DB_HOST, DB_PORT, DB_NAME with the notifier's own role (DB_NOTIFIER,
 * DB_NOTIFIER_PASSWORD) and DB_SSLMODE, as deploy-mikrus.sh writes them; NULL when DB_HOST is unset. */
static const char *conninfo_from_parts(bool *bad_sslmode)
{
	static char conninfo[2048];
	const char *sslmode;

	*bad_sslmode = false;
	if (env_or_null("DB_HOST") == NULL)
		return NULL;
	sslmode = database_sslmode(env_or_null("DB_HOST"), bad_sslmode);
	if (*bad_sslmode)
		return NULL;
	conninfo[0] = '\0';
	if (!conninfo_add(conninfo, sizeof(conninfo), "host", env_or_null("DB_HOST")) ||
	    !conninfo_add(conninfo, sizeof(conninfo), "port", env_or_null("DB_PORT")) ||
	    !conninfo_add(conninfo, sizeof(conninfo), "dbname", env_or_null("DB_NAME")) ||
	    !conninfo_add(conninfo, sizeof(conninfo), "user", env_or_null("DB_NOTIFIER")) ||
	    !conninfo_add(conninfo, sizeof(conninfo), "password", env_or_null("DB_NOTIFIER_PASSWORD")) ||
	    !conninfo_add(conninfo, sizeof(conninfo), "sslmode", sslmode))
		return NULL;
	return conninfo;
}

bool config_load(struct config *cfg)
{
	bool bad_sslmode = false;

	memset(cfg, 0, sizeof(*cfg));
	cfg->database_url = env_or_null("NOTIFIER_DATABASE_URL");
	if (cfg->database_url == NULL)
		cfg->database_url = conninfo_from_parts(&bad_sslmode);
	if (bad_sslmode) {
		fprintf(stderr, "notifier: DB_SSLMODE must be disable, allow, prefer, require, verify-ca or verify-full\n");
		return false;
	}
	if (cfg->database_url == NULL)
		cfg->database_url = env_or_null("DATABASE_URL");
	cfg->smtp_url = env_or_null("SMTP_URL");
	cfg->mail_from = env_or_null("MAIL_FROM");
	cfg->app_url = env_or_null("APP_URL");
	cfg->smsapi_token = env_or_null("SMSAPI_TOKEN");
	cfg->smsapi_url = env_or_null("SMSAPI_URL");
	cfg->smsapi_from = env_or_null("SMSAPI_FROM");
	if (cfg->smsapi_url == NULL)
		cfg->smsapi_url = "https://api.smsapi.pl/sms.do";
	cfg->retry_seconds = env_int("NOTIFIER_RETRY_SECONDS", 60, 1, 3600);
	cfg->send_timeout = env_int("NOTIFIER_SEND_TIMEOUT", 30, 1, 120);
	if (cfg->retry_seconds < 0 || cfg->send_timeout < 0)
		return false;
	if (cfg->database_url == NULL) {
		fprintf(stderr, "notifier: set NOTIFIER_DATABASE_URL (or DB_HOST, DB_PORT, DB_NAME, DB_NOTIFIER, DB_NOTIFIER_PASSWORD)\n");
		return false;
	}
	if (cfg->smtp_url != NULL && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
	    strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
		fprintf(stderr, "notifier: SMTP_URL must start with smtp:// or smtps://\n");
		return false;
	}
	if (cfg->smtp_url != NULL && cfg->mail_from == NULL) {
		fprintf(stderr, "notifier: SMTP_URL needs MAIL_FROM (the sender's address)\n");
		return false;
	}
	if (cfg->app_url == NULL)
		cfg->app_url = "http://localhost:8080";
	if (cfg->smtp_url == NULL && cfg->smsapi_token == NULL) {
		fprintf(stderr, "notifier: neither SMTP_URL nor SMSAPI_TOKEN is set: nothing to send with\n");
		return false;
	}
	return true;
}
