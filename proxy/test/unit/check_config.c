/* Configuration: .env parsing, defaults, refusals, libpq parameters. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "suites.h"

#define SECRET "JWT_SECRET=0123456789abcdef0123456789abcdef\n"

static const char *from_dotenv(void *ctx, const char *name)
{
	return dotenv_get(ctx, name);
}

/* Loads cfg from .env text; returns config_load's result, err holds its message. */
static int load(struct proxy_config *cfg, struct dotenv *env, const char *text, char *err, size_t errlen)
{
	ck_assert_int_eq(dotenv_parse(env, text, strlen(text)), 0);
	return config_load(cfg, from_dotenv, env, err, errlen);
}

START_TEST(dotenv_syntax)
{
	struct dotenv env;
	const char *text = "# comment\n"
			   "export A=1\n"
			   "B = \"two words\"  \n"
			   "C='single # not a comment'\r\n"
			   "D=value # a comment\n"
			   "not a pair\n"
			   "=nameless\n"
			   "E=\n"
			   "A=last wins";

	ck_assert_int_eq(dotenv_parse(&env, text, strlen(text)), 0);
	ck_assert_str_eq(dotenv_get(&env, "A"), "last wins");
	ck_assert_str_eq(dotenv_get(&env, "B"), "two words");
	ck_assert_str_eq(dotenv_get(&env, "C"), "single # not a comment");
	ck_assert_str_eq(dotenv_get(&env, "D"), "value");
	ck_assert_str_eq(dotenv_get(&env, "E"), "");
	ck_assert_ptr_null(dotenv_get(&env, "not a pair"));
	ck_assert_ptr_null(dotenv_get(&env, "F"));
	dotenv_free(&env);
}
END_TEST

START_TEST(refuses_short_or_missing_secret)
{
	static struct proxy_config cfg;
	struct dotenv env;
	char err[256];

	ck_assert_int_eq(load(&cfg, &env, "DB_NAME=x\nJWT_SECRET=short\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "JWT_SECRET") != NULL);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, "DB_NAME=x\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "at least 32 bytes") != NULL);
	dotenv_free(&env);
	/* 31 bytes is one too few */
	ck_assert_int_eq(load(&cfg, &env, "DB_NAME=x\nJWT_SECRET=0123456789abcdef0123456789abcde\n", err, sizeof(err)),
			 -1);
	dotenv_free(&env);
}
END_TEST

START_TEST(defaults)
{
	static struct proxy_config cfg;
	struct dotenv env;
	char err[256];

	ck_assert_int_eq(load(&cfg, &env, SECRET "DATABASE_URL=postgresql:///ta\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.port, 8000);
	ck_assert_str_eq(cfg.listen_address, "127.0.0.1");
	ck_assert_int_eq(cfg.jwt_expiration_hours, 24);
	ck_assert_uint_eq(cfg.pool_size, cfg.threads);
	ck_assert_uint_eq(cfg.jwt_secret_len, 32);
	ck_assert_str_eq(cfg.trusted_proxies, "127.0.0.1,::1");
	ck_assert_uint_eq(cfg.prepared_statements, 1);
	dotenv_free(&env);
}
END_TEST

START_TEST(trusted_proxies)
{
	static struct proxy_config cfg;
	struct dotenv env;
	char err[256];

	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nTRUSTED_PROXIES= 172.18.0.5 , ::FFFF:10.0.0.2,\n", err,
			      sizeof(err)),
			 0);
	ck_assert_str_eq(cfg.trusted_proxies, "172.18.0.5,10.0.0.2");
	dotenv_free(&env);
	/* Empty: no one is believed, every client is its peer address. */
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nTRUSTED_PROXIES=\n", err, sizeof(err)), 0);
	ck_assert_str_eq(cfg.trusted_proxies, "");
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nTRUSTED_PROXIES=127.0.0.0/8\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "TRUSTED_PROXIES") != NULL);
	dotenv_free(&env);
}
END_TEST

START_TEST(refuses_bad_numbers_and_missing_database)
{
	static struct proxy_config cfg;
	struct dotenv env;
	char err[256];

	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nPORT=80a\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "PORT") != NULL);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nPORT=70000\n", err, sizeof(err)), -1);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nDB_POOL_SIZE=0\n", err, sizeof(err)), -1);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nJWT_EXPIRATION_HOURS=-1\n", err, sizeof(err)), -1);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nDB_PREPARED_STATEMENTS=yes\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "DB_PREPARED_STATEMENTS") != NULL);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nDB_PREPARED_STATEMENTS=0\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.prepared_statements, 0);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_HOST=localhost\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "DATABASE_URL") != NULL);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=x\nPROXY_THREADS=8\nPORT=8100\n", err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.threads, 8);
	ck_assert_uint_eq(cfg.pool_size, 8);
	ck_assert_uint_eq(cfg.port, 8100);
	dotenv_free(&env);
}
END_TEST

/* Returns the value libpq gets for keyword, or NULL. */
static const char *conninfo_value(const struct proxy_config *cfg, const char *keyword)
{
	static const char *keywords[CONFIG_CONNINFO_MAX], *values[CONFIG_CONNINFO_MAX];

	config_conninfo(cfg, keywords, values);
	for (size_t i = 0; keywords[i] != NULL; i++)
		if (strcmp(keywords[i], keyword) == 0)
			return values[i];
	return NULL;
}

START_TEST(database_url_or_parts)
{
	static struct proxy_config cfg;
	struct dotenv env;
	char err[256];

	/* The original's SQLAlchemy URL works; DB_* parts do not override it. */
	ck_assert_int_eq(load(&cfg, &env,
			      SECRET "DATABASE_URL=postgresql+asyncpg://u:p@db:5432/ta\nDB_HOST=other\nDB_PORT=1\n", err,
			      sizeof(err)),
			 0);
	ck_assert_str_eq(conninfo_value(&cfg, "dbname"), "postgresql://u:p@db:5432/ta");
	ck_assert_ptr_null(conninfo_value(&cfg, "host"));
	ck_assert_str_eq(conninfo_value(&cfg, "client_encoding"), "UTF8");
	/* Every pooled connection caps how long one request may run. */
	ck_assert_str_eq(conninfo_value(&cfg, "options"), "-c statement_timeout=10000");
	dotenv_free(&env);

	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_HOST=db\nDB_PORT=5432\nDB_USER=u\nDB_PASSWORD=p\nDB_NAME=ta\n",
			      err, sizeof(err)),
			 0);
	ck_assert_str_eq(conninfo_value(&cfg, "host"), "db");
	ck_assert_str_eq(conninfo_value(&cfg, "port"), "5432");
	ck_assert_str_eq(conninfo_value(&cfg, "user"), "u");
	ck_assert_str_eq(conninfo_value(&cfg, "password"), "p");
	ck_assert_str_eq(conninfo_value(&cfg, "dbname"), "ta");
	/* Another machine: TLS required unless DB_SSLMODE says otherwise. */
	ck_assert_str_eq(conninfo_value(&cfg, "sslmode"), "require");
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_HOST=psql01.mikr.us\nDB_NAME=ta\nDB_SSLMODE=verify-full\n", err,
			      sizeof(err)), 0);
	ck_assert_str_eq(conninfo_value(&cfg, "sslmode"), "verify-full");
	dotenv_free(&env);
	for (const char *const *local = (const char *const[]){"127.0.0.1", "localhost", "::1", "/var/run/postgresql",
								NULL}; *local != NULL; local++) {
		char text[160];

		snprintf(text, sizeof(text), SECRET "DB_HOST=%s\nDB_NAME=ta\n", *local);
		ck_assert_int_eq(load(&cfg, &env, text, err, sizeof(err)), 0);
		ck_assert_ptr_null(conninfo_value(&cfg, "sslmode"));
		dotenv_free(&env);
	}
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_HOST=db\nDB_NAME=ta\nDB_SSLMODE=sometimes\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "DB_SSLMODE") != NULL);
	dotenv_free(&env);
}
END_TEST

START_TEST(read_replica)
{
	static struct proxy_config cfg;
	struct dotenv env;
	const char *keywords[CONFIG_CONNINFO_MAX], *values[CONFIG_CONNINFO_MAX];
	char err[256];

	/* Without DB_READ_URL every read goes to the primary. */
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=ta\n", err, sizeof(err)), 0);
	ck_assert_ptr_null(cfg.read_database_url);
	ck_assert_uint_eq(cfg.read_max_lag_ms, 1000);
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env,
			      SECRET "DB_NAME=ta\nDB_READ_URL=postgresql://u:p@replica/ta\nDB_READ_MAX_LAG_MS=250\n", err,
			      sizeof(err)),
			 0);
	ck_assert_uint_eq(cfg.read_max_lag_ms, 250);
	config_read_conninfo(&cfg, keywords, values);
	ck_assert_str_eq(keywords[0], "dbname");
	ck_assert_str_eq(values[0], "postgresql://u:p@replica/ta");
	/* Its connections are told apart in pg_stat_activity and capped like the primary's. */
	for (size_t i = 1; keywords[i] != NULL; i++) {
		if (strcmp(keywords[i], "application_name") == 0)
			ck_assert_str_eq(values[i], "therapyassistance-proxy-read");
		if (strcmp(keywords[i], "options") == 0)
			ck_assert_str_eq(values[i], "-c statement_timeout=10000");
	}
	dotenv_free(&env);
	ck_assert_int_eq(load(&cfg, &env, SECRET "DB_NAME=ta\nDB_READ_MAX_LAG_MS=0\n", err, sizeof(err)), -1);
	ck_assert(strstr(err, "DB_READ_MAX_LAG_MS") != NULL);
	dotenv_free(&env);
}
END_TEST

Suite *config_suite(void)
{
	return SUITE("config",
		     dotenv_syntax,
		     refuses_short_or_missing_secret,
		     defaults,
		     trusted_proxies,
		     refuses_bad_numbers_and_missing_database,
		     database_url_or_parts,
		     read_replica);
}
