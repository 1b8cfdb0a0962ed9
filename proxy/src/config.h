/* Proxy configuration: read once at startup from the environment and an optional .env file. */
#ifndef TA_CONFIG_H
#define TA_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_ORIGINS 16
#define CONFIG_MIN_JWT_SECRET 32

/* Looks a name up; returns NULL when it is not set. The string must outlive the config. */
typedef const char *(*config_lookup_fn)(void *ctx, const char *name);

struct proxy_config {
	/* Either database_url or the DB_* parts; NULL when not given. Strings point into the lookup's storage. */
	const char *database_url;
	const char *db_host, *db_port, *db_user, *db_password, *db_name;
	const char *db_sslmode;    /* DB_SSLMODE, else "require" for a DB_HOST that is not this machine; NULL: libpq's */
	const char *jwt_secret;
	size_t jwt_secret_len;
	int jwt_expiration_hours;
	const char *allowed_origins[CONFIG_MAX_ORIGINS];
	size_t allowed_origin_lengths[CONFIG_MAX_ORIGINS];
	size_t allowed_origin_count;
	char origins_storage[2048];
	char database_url_storage[1024];
	const char *listen_address;
	unsigned port;
	unsigned threads;
	unsigned pool_size;
	/* DB_PREPARED_STATEMENTS: 1 (default) prepares each route's statement once per connection; 0 sends it with
	 * every request as an unnamed statement, for poolers that hand each transaction another server connection
	 * (pgbouncer in transaction mode before 1.21). */
	unsigned prepared_statements;
	/* DB_READ_URL: a streaming replica (hot standby) for GET routes, NULL when not set; DB_READ_MAX_LAG_MS
	 * (default 1000): reads go to the primary while the replica has replayed no commit of that long. */
	const char *read_database_url;
	unsigned read_max_lag_ms;
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned connection_timeout_seconds;
	/* TRUSTED_PROXIES in canonical form, comma separated: peers whose X-Real-IP/X-Forwarded-For is believed. */
	char trusted_proxies[512];
};

/* Fills cfg from lookup. Returns 0, or -1 with a human message in err (the proxy then refuses to start). */
int config_load(struct proxy_config *cfg, config_lookup_fn lookup, void *ctx, char *err, size_t errlen);

/* Number of libpq keyword/value pairs config_conninfo writes, plus the NULL terminator. */
#define CONFIG_CONNINFO_MAX 12

/* Writes NULL-terminated libpq keyword/value arrays (for PQconnectdbParams with expand_dbname=1). */
void config_conninfo(const struct proxy_config *cfg, const char *keywords[CONFIG_CONNINFO_MAX],
		     const char *values[CONFIG_CONNINFO_MAX]);
/* The same for the read replica (DB_READ_URL); only when read_database_url is set. */
void config_read_conninfo(const struct proxy_config *cfg, const char *keywords[CONFIG_CONNINFO_MAX],
			  const char *values[CONFIG_CONNINFO_MAX]);

/*
 * A parsed .env file: KEY=VALUE lines, '#' comments, optional "export " and surrounding quotes.
 * Owns a copy of the text; values point into it.
 */
#define DOTENV_MAX_ENTRIES 64
struct dotenv {
	char *text;
	size_t count;
	const char *names[DOTENV_MAX_ENTRIES];
	const char *values[DOTENV_MAX_ENTRIES];
};

/* Parses text (len bytes) into env. Returns 0, or -1 when out of memory. Caller frees with dotenv_free. */
int dotenv_parse(struct dotenv *env, const char *text, size_t len);
/* Reads and parses path; a missing file yields an empty env. Returns -1 on other read errors. */
int dotenv_read_file(struct dotenv *env, const char *path);
const char *dotenv_get(const struct dotenv *env, const char *name);
void dotenv_free(struct dotenv *env);

#endif
