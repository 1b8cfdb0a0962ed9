/* CORS decisions: listed origins only, preflight vs ordinary requests. */
#include <string.h>

#include "config.h"
#include "cors.h"
#include "suites.h"

/* A configuration with ALLOWED_ORIGINS = ctx and just enough else to load. */
static const char *origins_only(void *ctx, const char *name)
{
	if (strcmp(name, "ALLOWED_ORIGINS") == 0)
		return ctx;
	if (strcmp(name, "JWT_SECRET") == 0)
		return "0123456789abcdef0123456789abcdef";
	if (strcmp(name, "DB_NAME") == 0)
		return "therapyassistance";
	return NULL;
}

START_TEST(listed_origins_only)
{
	static struct proxy_config cfg;
	char err[256];

	ck_assert_int_eq(config_load(&cfg, origins_only, " http://localhost:5173/ ,https://app.example.pl", err,
				     sizeof(err)),
			 0);
	ck_assert(cors_origin_allowed(&cfg, "http://localhost:5173"));
	ck_assert(cors_origin_allowed(&cfg, "https://app.example.pl"));
	ck_assert(!cors_origin_allowed(&cfg, "https://app.example.pl.evil.com"));
	ck_assert(!cors_origin_allowed(&cfg, "https://app.example"));
	ck_assert(!cors_origin_allowed(&cfg, "http://localhost:5174"));
	ck_assert(!cors_origin_allowed(&cfg, "null"));
	ck_assert(!cors_origin_allowed(&cfg, ""));
	ck_assert(!cors_origin_allowed(&cfg, NULL));

	ck_assert_int_eq(cors_decide(&cfg, "GET", "http://localhost:5173", NULL), CORS_ALLOW);
	ck_assert_int_eq(cors_decide(&cfg, "GET", "http://evil.test", NULL), CORS_NONE);
	ck_assert_int_eq(cors_decide(&cfg, "GET", NULL, NULL), CORS_NONE);
	ck_assert_int_eq(cors_decide(&cfg, "OPTIONS", "http://localhost:5173", "POST"), CORS_PREFLIGHT_ALLOW);
	ck_assert_int_eq(cors_decide(&cfg, "OPTIONS", "http://evil.test", "POST"), CORS_PREFLIGHT_REFUSE);
	/* OPTIONS without Access-Control-Request-Method is no preflight: it is routed (and answers 405). */
	ck_assert_int_eq(cors_decide(&cfg, "OPTIONS", "http://localhost:5173", NULL), CORS_ALLOW);
}
END_TEST

START_TEST(star_allows_any_origin)
{
	static struct proxy_config cfg;
	char err[256];

	ck_assert_int_eq(config_load(&cfg, origins_only, "*", err, sizeof(err)), 0);
	ck_assert(cors_origin_allowed(&cfg, "https://anything.example"));
	/* ... but only as "*", which browsers never combine with credentials: no site reads answers as the user. */
	ck_assert(cors_only_wildcard(&cfg, "https://anything.example"));
	/* A client sending the origin "*" itself matches the listed "*" byte for byte: still the wildcard answer, never
	 * "*" echoed with credentials. */
	ck_assert(cors_only_wildcard(&cfg, "*"));
	ck_assert_int_eq(config_load(&cfg, origins_only, "https://gabinet.example, *", err, sizeof(err)), 0);
	ck_assert(!cors_only_wildcard(&cfg, "https://gabinet.example"));
	ck_assert(cors_only_wildcard(&cfg, "https://evil.example"));
	ck_assert(cors_only_wildcard(&cfg, "*"));
	ck_assert_int_eq(config_load(&cfg, origins_only, "", err, sizeof(err)), 0);
	ck_assert(!cors_origin_allowed(&cfg, "http://localhost:5173"));
}
END_TEST

Suite *cors_suite(void)
{
	return SUITE("cors", listed_origins_only, star_allows_any_origin);
}
