/* Token verification: only HS256 with our key, exp required and in the future, sub required. */
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_verify.h"
#include "suites.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KEY_LEN 32
#define NOW 1800000000L

/* Signs {"sub": sub, "exp": exp, "pid": 1} (sub/exp left out when NULL/0) with alg and k. Caller frees. */
static char *token(jwt_alg_t alg, const unsigned char *k, const char *sub, long exp)
{
	jwt_t *jwt;
	char *out;

	ck_assert_int_eq(jwt_new(&jwt), 0);
	if (sub != NULL)
		jwt_add_grant(jwt, "sub", sub);
	if (exp != 0)
		jwt_add_grant_int(jwt, "exp", exp);
	jwt_add_grant_int(jwt, "pid", 1);
	ck_assert_int_eq(jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : k, alg == JWT_ALG_NONE ? 0 : KEY_LEN), 0);
	out = jwt_encode_str(jwt);
	jwt_free(jwt);
	ck_assert_ptr_nonnull(out);
	return out;
}

static enum jwt_verdict verify(const char *t, char **claims)
{
	return jwt_verify_hs256(t, key, KEY_LEN, NOW, claims);
}

START_TEST(valid_token_yields_its_claims)
{
	char *t = token(JWT_ALG_HS256, key, "7", NOW + 60);
	char *claims = NULL;
	json_t *parsed;

	ck_assert_int_eq(verify(t, &claims), JWT_VALID);
	parsed = json_loads(claims, 0, NULL);
	ck_assert_ptr_nonnull(parsed);
	ck_assert_str_eq(json_string_value(json_object_get(parsed, "sub")), "7");
	ck_assert_int_eq(json_integer_value(json_object_get(parsed, "pid")), 1);
	json_decref(parsed);
	free(claims);
	free(t);
}
END_TEST

/* Appends the HS256 signature (with key) to "header.payload", the way any JWT library does. Caller frees. */
static char *hs256_sign(const char *signing_input)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char b64[EVP_MAX_MD_SIZE * 2];
	size_t in_len = strlen(signing_input);
	char *out;
	int n;

	HMAC(EVP_sha256(), key, KEY_LEN, (const unsigned char *)signing_input, in_len, mac, &mac_len);
	n = EVP_EncodeBlock((unsigned char *)b64, mac, (int)mac_len);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out = malloc(in_len + 1 + (size_t)n + 1);
	sprintf(out, "%s.%.*s", signing_input, n, b64);
	return out;
}

START_TEST(claims_are_passed_exactly_as_signed)
{
	/* {"sub" : "7", "exp" : 9999999999, "x" : 1.50}: the database's spacing and number format are kept. */
	char *t = hs256_sign("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
			     "eyJzdWIiIDogIjciLCAiZXhwIiA6IDk5OTk5OTk5OTksICJ4IiA6IDEuNTB9");
	char *claims = NULL;

	ck_assert_int_eq(verify(t, &claims), JWT_VALID);
	ck_assert_str_eq(claims, "{\"sub\" : \"7\", \"exp\" : 9999999999, \"x\" : 1.50}");
	free(claims);
	free(t);
}
END_TEST

START_TEST(refuses_other_algorithms_and_keys)
{
	static const unsigned char other[] = "another-secret-another-secret-xx";
	char *claims = (char *)"untouched";
	char *t;

	t = token(JWT_ALG_NONE, NULL, "7", NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	ck_assert_ptr_null(claims);
	free(t);
	t = token(JWT_ALG_HS512, key, "7", NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	t = token(JWT_ALG_HS384, key, "7", NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	t = token(JWT_ALG_HS256, other, "7", NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
}
END_TEST

START_TEST(refuses_tampering_and_garbage)
{
	char *t = token(JWT_ALG_HS256, key, "7", NOW + 60);
	char *claims = NULL;
	char *dot = strchr(t, '.');
	char long_token[5000];

	/* Flip one payload character: the signature no longer matches. */
	dot[2] = dot[2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	/* A valid token with its signature cut off. */
	t = token(JWT_ALG_HS256, key, "7", NOW + 60);
	strrchr(t, '.')[1] = '\0';
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	ck_assert_int_eq(verify("", &claims), JWT_INVALID);
	ck_assert_int_eq(verify("a.b.c", &claims), JWT_INVALID);
	ck_assert_int_eq(verify("....", &claims), JWT_INVALID);
	ck_assert_int_eq(verify("eyJhbGciOiJIUzI1NiJ9", &claims), JWT_INVALID);
	ck_assert_int_eq(verify(NULL, &claims), JWT_INVALID);
	memset(long_token, 'a', sizeof(long_token) - 1);
	long_token[sizeof(long_token) - 1] = '\0';
	ck_assert_int_eq(verify(long_token, &claims), JWT_INVALID);
}
END_TEST

START_TEST(exp_and_sub_are_required)
{
	char *claims = NULL;
	char *t;

	t = token(JWT_ALG_HS256, key, "7", NOW - 1);
	ck_assert_int_eq(verify(t, &claims), JWT_EXPIRED);
	free(t);
	t = token(JWT_ALG_HS256, key, "7", NOW);
	ck_assert_int_eq(verify(t, &claims), JWT_EXPIRED);
	free(t);
	t = token(JWT_ALG_HS256, key, "7", 0);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	t = token(JWT_ALG_HS256, key, NULL, NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	t = token(JWT_ALG_HS256, key, "", NOW + 60);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	ck_assert_ptr_null(claims);
}
END_TEST

START_TEST(exp_must_be_a_number)
{
	jwt_t *jwt;
	char *t, *claims = NULL;

	jwt_new(&jwt);
	jwt_add_grant(jwt, "sub", "7");
	jwt_add_grant(jwt, "exp", "9999999999");
	jwt_set_alg(jwt, JWT_ALG_HS256, key, KEY_LEN);
	t = jwt_encode_str(jwt);
	jwt_free(jwt);
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
}
END_TEST

/* RFC 7515: "alg" is case-sensitive. libjwt reads "hs256" as HS256; we and the database do not. */
START_TEST(alg_must_be_exactly_HS256)
{
	char *claims = NULL;
	/* {"alg":"hs256","typ":"JWT"} . {"sub":"7","exp":9999999999} */
	char *t = hs256_sign("eyJhbGciOiJoczI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3IiwiZXhwIjo5OTk5OTk5OTk5fQ");

	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	ck_assert_ptr_null(claims);
	free(t);
	/* The same payload under {"alg":"HS256","typ":"JWT"} is fine. */
	t = hs256_sign("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3IiwiZXhwIjo5OTk5OTk5OTk5fQ");
	ck_assert_int_eq(verify(t, &claims), JWT_VALID);
	free(claims);
	free(t);
}
END_TEST

/* libjwt reads each segment as a C string: bytes after a NUL were signed but never checked. Found by fuzz/. */
START_TEST(segments_with_nul_bytes_are_refused)
{
	char *claims = NULL;
	/* {"alg":"HS256","typ":"JWT"}\0\0 . {"sub":"7","exp":9999999999} */
	char *t = hs256_sign("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9AAA.eyJzdWIiOiI3IiwiZXhwIjo5OTk5OTk5OTk5fQ");

	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	free(t);
	/* {"alg":"HS256","typ":"JWT"} . {"sub":"7","exp":9999999999}\0{"sub":"8"} */
	t = hs256_sign("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3IiwiZXhwIjo5OTk5OTk5OTk5fQB7InN1YiI6IjgifQ");
	ck_assert_int_eq(verify(t, &claims), JWT_INVALID);
	ck_assert_ptr_null(claims);
	free(t);
}
END_TEST

/* Only a verified token is remembered; a remembered one still expires and is then refused. */
START_TEST(the_cache_keeps_valid_tokens_only_and_enforces_exp)
{
	struct token_cache *cache = token_cache_create(16);
	char *valid = token(JWT_ALG_HS256, key, "7", NOW + 60);
	char *expired = token(JWT_ALG_HS256, key, "7", NOW - 1);
	char *foreign = token(JWT_ALG_HS256, (const unsigned char *)"fedcba9876543210fedcba9876543210", "7", NOW + 60);
	char *claims = NULL, *again = NULL;

	ck_assert_int_eq(jwt_verify_hs256_cached(cache, foreign, key, KEY_LEN, NOW, &claims), JWT_INVALID);
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, expired, key, KEY_LEN, NOW, &claims), JWT_EXPIRED);
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, "not.a.token", key, KEY_LEN, NOW, &claims), JWT_INVALID);
	ck_assert_ptr_null(claims);
	ck_assert_uint_eq(token_cache_count(cache), 0);
	/* Still refused the second time: nothing about a failure was kept. */
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, foreign, key, KEY_LEN, NOW, &claims), JWT_INVALID);

	ck_assert_int_eq(jwt_verify_hs256_cached(cache, valid, key, KEY_LEN, NOW, &claims), JWT_VALID);
	ck_assert_uint_eq(token_cache_count(cache), 1);
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, valid, key, KEY_LEN, NOW + 59, &again), JWT_VALID);
	ck_assert_str_eq(again, claims);
	free(again);
	again = NULL;
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, valid, key, KEY_LEN, NOW + 60, &again), JWT_EXPIRED);
	ck_assert_ptr_null(again);
	ck_assert_uint_eq(token_cache_count(cache), 0);
	/* One changed byte of a cached token is a different token, verified in full (and refused). */
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, valid, key, KEY_LEN, NOW, &again), JWT_VALID);
	free(again);
	again = NULL;
	valid[strlen(valid) - 10] = valid[strlen(valid) - 10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(jwt_verify_hs256_cached(cache, valid, key, KEY_LEN, NOW, &again), JWT_INVALID);
	ck_assert_ptr_null(again);
	free(claims);
	free(valid);
	free(expired);
	free(foreign);
	token_cache_destroy(cache);
}
END_TEST

Suite *jwt_verify_suite(void)
{
	return SUITE("jwt_verify", claims_are_passed_exactly_as_signed,
		     valid_token_yields_its_claims,
		     refuses_other_algorithms_and_keys,
		     refuses_tampering_and_garbage,
		     exp_and_sub_are_required,
		     exp_must_be_a_number,
		     alg_must_be_exactly_HS256,
		     segments_with_nul_bytes_are_refused,
		     the_cache_keeps_valid_tokens_only_and_enforces_exp);
}
