/*
 * The extension's HS256 JWT and base64url code (extension/jwt.c, base64url.c) outside the server. The first byte
 * picks a mode: verify the rest as a token; sign it as claims, verify the result and every one-character
 * alteration of it; or round-trip it through base64url. Aborts when a property below does not hold.
 */
#include "postgres.h"

#include <stdlib.h>

#include "pg_shim.h"
#include "../extension/base64url.h"

static const char secret[] = "fuzz-secret-fuzz-secret-fuzz-secret-0123";

#define CHECK(cond) do { if (!(cond)) { fprintf(stderr, "property failed: %s\n", #cond); abort(); } } while (0)

/* Verifies len bytes of token; returns the claims (palloc'd text) or NULL. */
static text *verify(const char *token, size_t len)
{
	bool isnull;
	Datum d = shim_call(jwt_verify, shim_text((const uint8_t *)token, len), shim_text((const uint8_t *)secret,
			    sizeof(secret) - 1), &isnull);

	return isnull ? NULL : (text *)DatumGetPointer(d);
}

/* A token that verifies carries exactly the claims its middle segment encodes. */
static void check_verified(const char *token, size_t len, const text *claims)
{
	const char *dot1 = memchr(token, '.', len);
	const char *dot2;
	size_t n;
	unsigned char *payload;

	CHECK(dot1 != NULL);
	dot2 = memchr(dot1 + 1, '.', token + len - dot1 - 1);
	CHECK(dot2 != NULL);
	payload = base64url_decode(dot1 + 1, dot2 - dot1 - 1, &n);
	CHECK(payload != NULL && n == VARSIZE_ANY_EXHDR(claims) && memcmp(payload, VARDATA_ANY(claims), n) == 0);
	pfree(payload);
}

static void sign_and_verify(const uint8_t *data, size_t size)
{
	bool isnull;
	text *token_text = (text *)DatumGetPointer(shim_call(jwt_sign, shim_text(data, size),
			    shim_text((const uint8_t *)secret, sizeof(secret) - 1), &isnull));
	const char *token = VARDATA_ANY(token_text);
	size_t len = VARSIZE_ANY_EXHDR(token_text);
	text *claims;

	CHECK(!isnull);
	claims = verify(token, len);
	/* What was signed verifies as itself, or not at all (not an object, no future numeric exp, too long). */
	if (claims != NULL) {
		CHECK(VARSIZE_ANY_EXHDR(claims) == size && memcmp(VARDATA_ANY(claims), data, size) == 0);
		/* Any other character anywhere makes it a forgery (tried at 32 spread positions: HMACs cost). */
		for (size_t i = data[0] % (len / 32 + 1); i < len; i += len / 32 + 1) {
			char *copy = palloc(len);
			char c = (char)(size > 0 ? data[i % size] : '.');

			memcpy(copy, token, len);
			copy[i] = c != token[i] ? c : (char)(c ^ 1);
			CHECK(verify(copy, len) == NULL);
			pfree(copy);
		}
	}
}

static void base64url_round_trip(const uint8_t *data, size_t size)
{
	char *encoded = base64url_encode(data, size);
	size_t n;
	unsigned char *decoded = base64url_decode(encoded, strlen(encoded), &n);

	CHECK(decoded != NULL && n == size && memcmp(decoded, data, size) == 0);
	pfree(decoded);
	pfree(encoded);
	/* Whatever decodes has exactly one encoding: the text itself. */
	decoded = base64url_decode((const char *)data, size, &n);
	if (decoded != NULL) {
		encoded = base64url_encode(decoded, n);
		CHECK(strlen(encoded) == size && memcmp(encoded, data, size) == 0);
		pfree(encoded);
		pfree(decoded);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	text *claims;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		claims = verify((const char *)data + 1, size - 1);
		if (claims != NULL)
			check_verified((const char *)data + 1, size - 1, claims);
		break;
	case 1:
		sign_and_verify(data + 1, size - 1);
		break;
	case 2:
		base64url_round_trip(data + 1, size - 1);
		break;
	}
	return 0;
}
