/* Configuration from the environment and .env: the original's names plus the proxy's own. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include "client_addr.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (text == NULL || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Reads an optional unsigned setting; keeps *out (the default) when unset. */
static int setting_unsigned(config_lookup_fn lookup, void *ctx, const char *name, unsigned min, unsigned max,
			    unsigned *out, char *err, size_t errlen)
{
	const char *text = lookup(ctx, name);

	if (text == NULL || text[0] == '\0')
		return 0;
	if (parse_unsigned(text, min, max, out) != 0) {
		snprintf(err, errlen, "%s must be an integer between %u and %u, got \"%s\"", name, min, max, text);
		return -1;
	}
	return 0;
}

static const char *nonempty(const char *s)
{
	return (s != NULL && s[0] != '\0') ? s : NULL;
}

/* Splits ALLOWED_ORIGINS on commas into cfg, trimming spaces and one trailing slash per entry. */
static int split_origins(struct proxy_config *cfg, const char *text, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *p, *next;

	if (len >= sizeof(cfg->origins_storage)) {
		snprintf(err, errlen, "ALLOWED_ORIGINS is longer than %zu bytes", sizeof(cfg->origins_storage) - 1);
		return -1;
	}
	memcpy(cfg->origins_storage, text, len + 1);
	for (p = cfg->origins_storage; p != NULL; p = next) {
		char *end;

		next = strchr(p, ',');
		if (next != NULL)
			*next++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (end > p && end[-1] == '/')
			*--end = '\0';
		if (end == p)
			continue;
		if (cfg->allowed_origin_count == CONFIG_MAX_ORIGINS) {
			snprintf(err, errlen, "ALLOWED_ORIGINS lists more than %d origins", CONFIG_MAX_ORIGINS);
			return -1;
		}
		cfg->allowed_origins[cfg->allowed_origin_count] = p;
		cfg->allowed_origin_lengths[cfg->allowed_origin_count] = (size_t)(end - p);
		cfg->allowed_origin_count++;
	}
	return 0;
}

/* Canonicalises TRUSTED_PROXIES (comma-separated numeric addresses) into cfg->trusted_proxies. */
static int parse_trusted_proxies(struct proxy_config *cfg, const char *text, char *err, size_t errlen)
{
	size_t used = 0;

	for (const char *p = text; *p != '\0';) {
		size_t len = strcspn(p, ",");
		char addr[CLIENT_ADDR_MAX];

		if (strspn(p, " \t") < len) {
			if (client_addr_normalize(p, len, addr) != 0) {
				snprintf(err, errlen, "TRUSTED_PROXIES must list numeric IP addresses, got \"%.*s\"",
					 (int)len, p);
				return -1;
			}
			if (used + strlen(addr) + 2 > sizeof(cfg->trusted_proxies)) {
				snprintf(err, errlen, "TRUSTED_PROXIES is too long");
				return -1;
			}
			used += (size_t)snprintf(cfg->trusted_proxies + used, sizeof(cfg->trusted_proxies) - used,
						 "%s%s", used ? "," : "", addr);
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* SQLAlchemy-style URLs (postgresql+asyncpg://) from the original's .env become plain libpq URLs. */
static int normalise_database_url(struct proxy_config *cfg, const char *url, char *err, size_t errlen)
{
	const char *plus = strchr(url, '+');
	const char *scheme_end = strstr(url, "://");

	if (plus == NULL || scheme_end == NULL || plus > scheme_end) {
		cfg->database_url = url;
		return 0;
	}
	if ((size_t)(plus - url) + strlen(scheme_end) >= sizeof(cfg->database_url_storage)) {
		snprintf(err, errlen, "DATABASE_URL is too long");
		return -1;
	}
	snprintf(cfg->database_url_storage, sizeof(cfg->database_url_storage), "%.*s%s", (int)(plus - url), url,
		 scheme_end);
	cfg->database_url = cfg->database_url_storage;
	return 0;
}

/* True for a DB_HOST on this machine: a Unix socket folder, localhost or a loopback address. */
static bool host_is_local(const char *host)
{
	return host == NULL || host[0] == '/' || strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
	       strcmp(host, "::1") == 0;
}

/*
 * DB_SSLMODE (one of libpq's), else "require" when DB_HOST is another machine: passwords and patient data never
 * cross a network in clear by default. A DATABASE_URL says its own sslmode; DB_SSLMODE, when set, wins.
 */
static int database_sslmode(struct proxy_config *cfg, const char *mode, char *err, size_t errlen)
{
	static const char *const modes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};

	cfg->db_sslmode = NULL;
	if (mode == NULL) {
		if (cfg->database_url == NULL && !host_is_local(cfg->db_host))
			cfg->db_sslmode = "require";
		return 0;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i]) == 0) {
			cfg->db_sslmode = modes[i];
			return 0;
		}
	snprintf(err, errlen, "DB_SSLMODE must be disable, allow, prefer, require, verify-ca or verify-full");
	return -1;
}

int config_load(struct proxy_config *cfg, config_lookup_fn lookup, void *ctx, char *err, size_t errlen)
{
	const char *origins, *url, *trusted;
	unsigned hours = 24;

	memset(cfg, 0, sizeof(*cfg));
	cfg->port = 8000;
	cfg->threads = 4;
	cfg->max_connections = 1024;
	cfg->max_connections_per_ip = 256;
	cfg->connection_timeout_seconds = 30;

	cfg->jwt_secret = lookup(ctx, "JWT_SECRET");
	if (cfg->jwt_secret == NULL || strlen(cfg->jwt_secret) < CONFIG_MIN_JWT_SECRET) {
		snprintf(err, errlen, "JWT_SECRET must be set and at least %d bytes long (use e.g. `openssl rand -hex 32`)",
			 CONFIG_MIN_JWT_SECRET);
		return -1;
	}
	cfg->jwt_secret_len = strlen(cfg->jwt_secret);

	url = nonempty(lookup(ctx, "DATABASE_URL"));
	if (url != NULL && normalise_database_url(cfg, url, err, errlen) != 0)
		return -1;
	cfg->db_host = nonempty(lookup(ctx, "DB_HOST"));
	cfg->db_port = nonempty(lookup(ctx, "DB_PORT"));
	cfg->db_user = nonempty(lookup(ctx, "DB_USER"));
	cfg->db_password = nonempty(lookup(ctx, "DB_PASSWORD"));
	cfg->db_name = nonempty(lookup(ctx, "DB_NAME"));
	if (cfg->database_url == NULL && cfg->db_name == NULL) {
		snprintf(err, errlen, "set DATABASE_URL or DB_NAME (with DB_HOST, DB_PORT, DB_USER, DB_PASSWORD)");
		return -1;
	}
	if (database_sslmode(cfg, nonempty(lookup(ctx, "DB_SSLMODE")), err, errlen) != 0)
		return -1;

	if (setting_unsigned(lookup, ctx, "JWT_EXPIRATION_HOURS", 1, 24 * 366, &hours, err, errlen) != 0)
		return -1;
	cfg->jwt_expiration_hours = (int)hours;

	origins = lookup(ctx, "ALLOWED_ORIGINS");
	if (split_origins(cfg, origins != NULL ? origins : "http://localhost:3000,http://localhost:5173", err,
			  errlen) != 0)
		return -1;

	/* Only a proxy on this machine (nginx) is believed about who the client is, unless told otherwise. */
	trusted = lookup(ctx, "TRUSTED_PROXIES");
	if (parse_trusted_proxies(cfg, trusted != NULL ? trusted : "127.0.0.1,::1", err, errlen) != 0)
		return -1;

	cfg->listen_address = nonempty(lookup(ctx, "LISTEN_ADDRESS"));
	if (cfg->listen_address == NULL)
		cfg->listen_address = "127.0.0.1";
	if (setting_unsigned(lookup, ctx, "PORT", 1, 65535, &cfg->port, err, errlen) != 0 ||
	    setting_unsigned(lookup, ctx, "PROXY_THREADS", 1, 256, &cfg->threads, err, errlen) != 0 ||
	    setting_unsigned(lookup, ctx, "PROXY_MAX_CONNECTIONS", 1, 65536, &cfg->max_connections, err, errlen) != 0 ||
	    setting_unsigned(lookup, ctx, "PROXY_MAX_CONNECTIONS_PER_IP", 1, 65536, &cfg->max_connections_per_ip, err,
			     errlen) != 0 ||
	    setting_unsigned(lookup, ctx, "PROXY_CONNECTION_TIMEOUT", 1, 3600, &cfg->connection_timeout_seconds, err,
			     errlen) != 0)
		return -1;
	/* One connection per server thread by default: a thread then never waits for the pool. */
	cfg->pool_size = cfg->threads;
	if (setting_unsigned(lookup, ctx, "DB_POOL_SIZE", 1, 64, &cfg->pool_size, err, errlen) != 0)
		return -1;
	cfg->prepared_statements = 1;
	if (setting_unsigned(lookup, ctx, "DB_PREPARED_STATEMENTS", 0, 1, &cfg->prepared_statements, err, errlen) != 0)
		return -1;
	cfg->read_database_url = nonempty(lookup(ctx, "DB_READ_URL"));
	cfg->read_max_lag_ms = 1000;
	if (setting_unsigned(lookup, ctx, "DB_READ_MAX_LAG_MS", 10, 600000, &cfg->read_max_lag_ms, err, errlen) != 0)
		return -1;
	return 0;
}

/* The settings every connection of the proxy gets, from keywords[n] on, and the NULL terminator. */
static void conninfo_common(size_t n, const char *application_name, const char *keywords[CONFIG_CONNINFO_MAX],
			    const char *values[CONFIG_CONNINFO_MAX])
{
	static const char *const names[] = {"client_encoding", "application_name", "connect_timeout", "options"};
	/* No request may hold a pooled connection for long: the slowest api call (a bcrypt login) takes
	 * about 0.1 s, so 10 s means a runaway query, answered 503 (SQLSTATE 57014) instead of hanging. */
	const char *const settings[] = {"UTF8", application_name, "3", "-c statement_timeout=10000"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		keywords[n] = names[i];
		values[n] = settings[i];
		n++;
	}
	keywords[n] = NULL;
	values[n] = NULL;
}

void config_conninfo(const struct proxy_config *cfg, const char *keywords[CONFIG_CONNINFO_MAX],
		     const char *values[CONFIG_CONNINFO_MAX])
{
	size_t n = 0;

#define PUT(k, v)                        \
	do {                             \
		if ((v) != NULL) {       \
			keywords[n] = (k); \
			values[n] = (v);   \
			n++;             \
		}                        \
	} while (0)
	/* DATABASE_URL, when given, says everything (as in the original); DB_* parts only without it. */
	if (cfg->database_url != NULL) {
		PUT("dbname", cfg->database_url);
	} else {
		PUT("host", cfg->db_host);
		PUT("port", cfg->db_port);
		PUT("user", cfg->db_user);
		PUT("password", cfg->db_password);
		PUT("dbname", cfg->db_name);
	}
	PUT("sslmode", cfg->db_sslmode);
#undef PUT
	conninfo_common(n, "therapyassistance-proxy", keywords, values);
}

void config_read_conninfo(const struct proxy_config *cfg, const char *keywords[CONFIG_CONNINFO_MAX],
			  const char *values[CONFIG_CONNINFO_MAX])
{
	keywords[0] = "dbname";
	values[0] = cfg->read_database_url;
	conninfo_common(1, "therapyassistance-proxy-read", keywords, values);
}

static char *trim(char *s, char **end)
{
	while (*s == ' ' || *s == '\t')
		s++;
	while (*end > s && ((*end)[-1] == ' ' || (*end)[-1] == '\t' || (*end)[-1] == '\r'))
		(*end)--;
	**end = '\0';
	return s;
}

int dotenv_parse(struct dotenv *env, const char *text, size_t len)
{
	char *line, *next;

	memset(env, 0, sizeof(*env));
	env->text = malloc(len + 1);
	if (env->text == NULL)
		return -1;
	memcpy(env->text, text, len);
	env->text[len] = '\0';
	for (line = env->text; line != NULL && *line != '\0'; line = next) {
		char *eq, *name, *value, *end;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		end = line + strlen(line);
		line = trim(line, &end);
		if (*line == '#' || *line == '\0')
			continue;
		if (strncmp(line, "export ", 7) == 0)
			line += 7;
		eq = strchr(line, '=');
		if (eq == NULL || env->count == DOTENV_MAX_ENTRIES)
			continue;
		*eq = '\0';
		end = eq;
		name = trim(line, &end);
		end = eq + 1 + strlen(eq + 1);
		value = trim(eq + 1, &end);
		if ((value[0] == '"' || value[0] == '\'') && end - value >= 2 && end[-1] == value[0]) {
			end[-1] = '\0';
			value++;
		} else {
			/* Unquoted values end at an inline comment. */
			char *hash = strstr(value, " #");

			if (hash != NULL) {
				end = hash;
				value = trim(value, &end);
			}
		}
		if (*name == '\0')
			continue;
		env->names[env->count] = name;
		env->values[env->count] = value;
		env->count++;
	}
	return 0;
}

int dotenv_read_file(struct dotenv *env, const char *path)
{
	char buf[16384];
	size_t len;
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL) {
		if (errno == ENOENT)
			return dotenv_parse(env, "", 0);
		return -1;
	}
	len = fread(buf, 1, sizeof(buf), f);
	rc = ferror(f) ? -1 : dotenv_parse(env, buf, len);
	fclose(f);
	return rc;
}

const char *dotenv_get(const struct dotenv *env, const char *name)
{
	/* The last assignment wins, as in a shell. */
	for (size_t i = env->count; i > 0; i--)
		if (strcmp(env->names[i - 1], name) == 0)
			return env->values[i - 1];
	return NULL;
}

void dotenv_free(struct dotenv *env)
{
	free(env->text);
	memset(env, 0, sizeof(*env));
}
