/*
 * Bearer-token verification (proxy/src/jwt_verify.c, with libjwt). The first byte picks a mode: verify the rest as
 * a token, or sign "header\npayload" with the key the way any HS256 library does and verify that, so that
 * the claim checks behind the signature are reached. A valid verdict needs alg exactly "HS256", a sub and a
 * future numeric exp, and hands on the payload exactly as signed.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt_verify.h"

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)
#define NOW 1800000000L

static const unsigned char key[] = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

/* base64url of len bytes into out (room for len * 4 / 3 + 4), no padding. Returns the length. */
static size_t b64url(const unsigned char *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	out[n] = '\0';
	return (size_t)n;
}

static void verify_token(const char *token, const char *payload, size_t payload_len, const unsigned char *head,
			 size_t head_len)
{
	json_t *header;

	char *claims = (char *)"untouched";
	enum jwt_verdict v = jwt_verify_hs256(token, key, sizeof(key) - 1, NOW, &claims);

	CHECK(v == JWT_VALID || v == JWT_INVALID || v == JWT_EXPIRED);
	if (v != JWT_VALID) {
		CHECK(claims == NULL);
		return;
	}
	if (payload == NULL) {
		/* A token taken as is (a seed may be signed with the key): its claims are a JSON object. */
		json_t *obj = json_loads(claims, 0, NULL);

		CHECK(json_is_object(obj));
		json_decref(obj);
		free(claims);
		return;
	}
	header = json_loadb((const char *)head, head_len, 0, NULL);
	CHECK(header != NULL && json_is_string(json_object_get(header, "alg")));
	CHECK(strcmp(json_string_value(json_object_get(header, "alg")), "HS256") == 0);
	json_decref(header);
	CHECK(strlen(claims) == payload_len && memcmp(claims, payload, payload_len) == 0);
	CHECK(strstr(claims, "\"sub\"") != NULL && strstr(claims, "\"exp\"") != NULL);
	free(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4096)
		return 0;
	if (data[0] % 2 == 0) {
		char *token = strndup((const char *)data + 1, size - 1);

		verify_token(token, NULL, 0, NULL, 0);
		free(token);
	} else {
		const unsigned char *head = data + 1;
		const unsigned char *nl = memchr(head, '\n', size - 1);
		size_t head_len = nl != NULL ? (size_t)(nl - head) : size - 1;
		const unsigned char *payload = nl != NULL ? nl + 1 : head + head_len;
		size_t payload_len = (size_t)(data + size - payload);
		char *token = malloc(size * 2 + 128);
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;
		size_t n = b64url(head, head_len, token);

		token[n++] = '.';
		n += b64url(payload, payload_len, token + n);
		HMAC(EVP_sha256(), key, sizeof(key) - 1, (const unsigned char *)token, n, mac, &mac_len);
		token[n++] = '.';
		b64url(mac, mac_len, token + n);
		/* A payload with a NUL cannot be handed on as text: it must not verify (checked by the length). */
		verify_token(token, (const char *)payload, payload_len, head, head_len);
		free(token);
	}
	return 0;
}
