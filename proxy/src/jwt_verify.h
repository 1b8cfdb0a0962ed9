/* Bearer-token verification with libjwt, before the database is touched. */
#ifndef TA_JWT_VERIFY_H
#define TA_JWT_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "token_cache.h"

enum jwt_verdict {
	JWT_VALID,
	JWT_INVALID,   /* malformed, bad signature, alg other than HS256, no sub or exp */
	JWT_EXPIRED,   /* exp <= now (or nbf > now) */
};

/*
 * Verifies an HS256 token signed with key. On JWT_VALID sets *claims to the payload's JSON text exactly as
 * signed (caller frees with free()); otherwise *claims is NULL.
 */
enum jwt_verdict jwt_verify_hs256(const char *token, const unsigned char *key, size_t key_len, time_t now,
				  char **claims);

/*
 * jwt_verify_hs256 with cache (NULL: none): a token byte-identical to one this cache saw verified with key
 * passes again while its exp (and nbf) allow, without the HMAC; anything else is verified in full, and kept
 * only when valid. A cache must only ever see one key: the server's. claims may be NULL when only the verdict
 * matters (then nothing is copied).
 */
enum jwt_verdict jwt_verify_hs256_cached(struct token_cache *cache, const char *token, const unsigned char *key,
					 size_t key_len, time_t now, char **claims);

#endif
