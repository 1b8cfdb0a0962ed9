/* The token cache: exact bytes only, exp and nbf checked at every use, bounded, never a failure kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"
#include "token_cache.h"

#define NOW 1800000000L

START_TEST(a_put_token_is_found_by_its_exact_bytes_only)
{
	struct token_cache *c = token_cache_create(16);

	token_cache_put(c, "aaa.bbb.ccc", "{\"sub\":\"7\"}", NOW + 60, -1);
	ck_assert_str_eq(token_cache_get(c, "aaa.bbb.ccc", NOW), "{\"sub\":\"7\"}");
	ck_assert_ptr_null(token_cache_get(c, "aaa.bbb.ccd", NOW));
	ck_assert_ptr_null(token_cache_get(c, "aaa.bbb.cc", NOW));
	ck_assert_ptr_null(token_cache_get(c, "aaa.bbb.ccc ", NOW));
	ck_assert_uint_eq(token_cache_count(c), 1);
	token_cache_destroy(c);
}
END_TEST

START_TEST(exp_is_checked_at_every_use)
{
	struct token_cache *c = token_cache_create(16);

	token_cache_put(c, "t", "{}", NOW + 10, -1);
	ck_assert_ptr_nonnull(token_cache_get(c, "t", NOW + 9));
	ck_assert_ptr_null(token_cache_get(c, "t", NOW + 10));
	/* Dropped once found expired: not even an earlier clock brings it back. */
	ck_assert_uint_eq(token_cache_count(c), 0);
	ck_assert_ptr_null(token_cache_get(c, "t", NOW));
	token_cache_destroy(c);
}
END_TEST

START_TEST(nbf_in_the_future_is_no_hit)
{
	struct token_cache *c = token_cache_create(16);

	token_cache_put(c, "t", "{}", NOW + 60, NOW + 5);
	ck_assert_ptr_null(token_cache_get(c, "t", NOW));
	token_cache_put(c, "t", "{}", NOW + 60, NOW + 5);
	ck_assert_ptr_nonnull(token_cache_get(c, "t", NOW + 5));
	token_cache_destroy(c);
}
END_TEST

START_TEST(the_cache_is_bounded)
{
	struct token_cache *c = token_cache_create(4);
	char token[32], *long_token = malloc(TOKEN_CACHE_MAX_TOKEN + 2);

	for (int i = 0; i < 1000; i++) {
		snprintf(token, sizeof(token), "token-%d", i);
		token_cache_put(c, token, "{}", NOW + 60, -1);
		ck_assert_uint_le(token_cache_count(c), 4);
	}
	/* The newest is always there: it took its slot. */
	ck_assert_ptr_nonnull(token_cache_get(c, "token-999", NOW));
	memset(long_token, 'x', TOKEN_CACHE_MAX_TOKEN + 1);
	long_token[TOKEN_CACHE_MAX_TOKEN + 1] = '\0';
	token_cache_put(c, long_token, "{}", NOW + 60, -1);
	ck_assert_ptr_null(token_cache_get(c, long_token, NOW));
	free(long_token);
	token_cache_destroy(c);
}
END_TEST

START_TEST(a_put_replaces_the_same_token)
{
	struct token_cache *c = token_cache_create(16);

	token_cache_put(c, "t", "{\"a\":1}", NOW + 60, -1);
	token_cache_put(c, "t", "{\"a\":2}", NOW + 60, -1);
	ck_assert_uint_eq(token_cache_count(c), 1);
	ck_assert_str_eq(token_cache_get(c, "t", NOW), "{\"a\":2}");
	token_cache_destroy(c);
	token_cache_destroy(NULL);
}
END_TEST

/* A token the database refused is forgotten: only that one, and only by its exact bytes. The slots are
 * direct-mapped by a random seed, so the second token is one that does not share the first's slot. */
START_TEST(a_removed_token_is_no_hit)
{
	struct token_cache *c = token_cache_create(16);
	char other[32];
	int tries = 0;

	token_cache_put(c, "aaa.bbb.ccc", "{\"sub\":\"7\"}", NOW + 60, -1);
	token_cache_remove(c, "aaa.bbb.cc");
	token_cache_remove(c, "aaa.bbb.cccc");
	token_cache_remove(c, "never.put.token");
	ck_assert_uint_eq(token_cache_count(c), 1);
	ck_assert_str_eq(token_cache_get(c, "aaa.bbb.ccc", NOW), "{\"sub\":\"7\"}");
	for (;;) {
		ck_assert_int_lt(tries, 64);
		snprintf(other, sizeof(other), "ddd.eee.fff%d", tries++);
		token_cache_put(c, other, "{\"sub\":\"8\"}", NOW + 60, -1);
		if (token_cache_get(c, "aaa.bbb.ccc", NOW) != NULL)
			break;  /* a slot of its own */
		/* It took the first one's slot: put that back and try the next. */
		token_cache_put(c, "aaa.bbb.ccc", "{\"sub\":\"7\"}", NOW + 60, -1);
	}
	ck_assert_uint_eq(token_cache_count(c), 2);
	token_cache_remove(c, "aaa.bbb.ccc");
	ck_assert_ptr_null(token_cache_get(c, "aaa.bbb.ccc", NOW));
	ck_assert_str_eq(token_cache_get(c, other, NOW), "{\"sub\":\"8\"}");
	ck_assert_uint_eq(token_cache_count(c), 1);
	token_cache_remove(c, "aaa.bbb.ccc");
	ck_assert_uint_eq(token_cache_count(c), 1);
	token_cache_destroy(c);
}
END_TEST

Suite *token_cache_suite(void)
{
	return SUITE("token_cache", a_put_token_is_found_by_its_exact_bytes_only, exp_is_checked_at_every_use,
		     nbf_in_the_future_is_no_hit, the_cache_is_bounded, a_put_replaces_the_same_token,
		     a_removed_token_is_no_hit);
}
