/* HS256 only, exp required and enforced, sub required: libjwt checks the signature, we check the rest. */
#define _POSIX_C_SOURCE 200809L
#include "jwt_verify.h"

#include <errno.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

/* A token carries a handful of claims; anything this long is not ours. */
#define JWT_MAX_TOKEN 4096

/* Reads a numeric claim (NumericDate). Returns 0 and sets *out, or -1 when it is missing or not a number. */
static int numeric_claim(jwt_t *jwt, const char *name, double *out)
{
	char *text = jwt_get_grants_json(jwt, name);
	char *end;
	int rc = -1;

	if (text == NULL)
		return -1;
	errno = 0;
	*out = strtod(text, &end);
	if (errno == 0 && end != text && *end == '\0')
		rc = 0;
	free(text);
	return rc;
}

static int base64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/*
 * Decodes len base64url characters at start into a new NUL-terminated string (caller frees). Returns NULL when out
 * of memory, not base64url, or when the bytes hold a NUL: libjwt parsed the segment as a C string, so bytes after
 * a NUL were signed but never checked.
 */
static char *segment_text(const char *start, size_t len)
{
	char *out = malloc(len * 3 / 4 + 1);
	size_t o = 0;
	unsigned bits = 0, nbits = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int v = base64url_value(start[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		bits = (bits << 6) | (unsigned)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (char)((bits >> nbits) & 0xff);
		}
	}
	out[o] = '\0';
	if (memchr(out, '\0', o) != NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/* jwt_verify_hs256, also telling exp and nbf (-1 when absent) of a valid token. */
static enum jwt_verdict verify(const char *token, const unsigned char *key, size_t key_len, time_t now, char **claims,
			       double *exp_out, double *nbf_out)
{
	jwt_t *jwt = NULL;
	enum jwt_verdict verdict = JWT_INVALID;
	const char *sub, *payload;
	char *header;
	double exp, nbf;

	*claims = NULL;
	if (token == NULL || strlen(token) > JWT_MAX_TOKEN)
		return JWT_INVALID;
	/*
	 * libjwt takes the algorithm from the token's header and skips verification for "none", so the alg is
	 * checked after decoding: only HS256 with a verified signature passes. Its signature compare is
	 * constant-time (jwt_strcmp).
	 */
	if (jwt_decode(&jwt, token, key, (int)key_len) != 0 || jwt == NULL)
		goto out;
	/* libjwt maps "alg" case-insensitively ("hs256" too); RFC 7515 and the database compare it exactly. */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256 || jwt_get_header(jwt, "alg") == NULL ||
	    strcmp(jwt_get_header(jwt, "alg"), "HS256") != 0)
		goto out;
	sub = jwt_get_grant(jwt, "sub");
	if (sub == NULL || sub[0] == '\0')
		goto out;
	if (numeric_claim(jwt, "exp", &exp) != 0)
		goto out;
	if (numeric_claim(jwt, "nbf", &nbf) != 0)
		nbf = -1;
	if (exp <= (double)now || nbf > (double)now) {
		verdict = JWT_EXPIRED;
		goto out;
	}
	/* A signature verified means the token has two dots and a JSON payload: the claims exactly as signed. */
	header = segment_text(token, strcspn(token, "."));
	payload = strchr(token, '.') + 1;
	*claims = header != NULL ? segment_text(payload, strcspn(payload, ".")) : NULL;
	free(header);
	if (*claims != NULL) {
		verdict = JWT_VALID;
		*exp_out = exp;
		*nbf_out = nbf;
	}
out:
	jwt_free(jwt);
	return verdict;
}

enum jwt_verdict jwt_verify_hs256(const char *token, const unsigned char *key, size_t key_len, time_t now,
				  char **claims)
{
	double exp, nbf;

	return verify(token, key, key_len, now, claims, &exp, &nbf);
}

enum jwt_verdict jwt_verify_hs256_cached(struct token_cache *cache, const char *token, const unsigned char *key,
					 size_t key_len, time_t now, char **claims)
{
	const char *known = cache != NULL && token != NULL ? token_cache_get(cache, token, now) : NULL;
	enum jwt_verdict verdict;
	char *verified = NULL;
	double exp, nbf;

	/* A caller that only needs the verdict (claims NULL) gets no copy of them: a cached token costs no malloc. */
	if (known != NULL && claims == NULL)
		return JWT_VALID;
	if (known != NULL && (*claims = strdup(known)) != NULL)
		return JWT_VALID;
	verdict = verify(token, key, key_len, now, &verified, &exp, &nbf);
	/* Only a verified token is remembered: a failure is verified again next time. */
	if (verdict == JWT_VALID && cache != NULL)
		token_cache_put(cache, token, verified, exp, nbf);
	if (claims != NULL)
		*claims = verified;
	else
		free(verified);
	return verdict;
}
