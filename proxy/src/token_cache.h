/*
 * A bounded cache of verified bearer tokens: the token's exact bytes → its claims, exp and nbf, so that a client's
 * next requests skip the HMAC and the JSON parsing. Not thread-safe: each server thread has its own.
 * It never vouches for a token by itself: an entry is only ever put after a full verification with the server's
 * one secret, and every get checks exp and nbf against the time again.
 */
#ifndef TA_TOKEN_CACHE_H
#define TA_TOKEN_CACHE_H

#include <stddef.h>
#include <time.h>

/* Longer tokens are verified every time (ours are about 200 bytes): bounds an entry's memory. */
#define TOKEN_CACHE_MAX_TOKEN 1024
#define TOKEN_CACHE_MAX_CLAIMS 1024

struct token_cache;

/* A cache of at most capacity entries (rounded up to a power of two). Returns NULL when out of memory. */
struct token_cache *token_cache_create(size_t capacity);
/* Frees the cache and every entry; NULL is allowed. Takes void * to serve as a pthread key destructor. */
void token_cache_destroy(void *cache);

/*
 * The claims of token when it is cached and valid at now (exp > now, no nbf after now), borrowed until the next
 * put; NULL otherwise. An entry found expired is dropped.
 */
const char *token_cache_get(struct token_cache *cache, const char *token, time_t now);
/*
 * Remembers a token that was just verified, with its claims and its exp and nbf (nbf: a negative value when the
 * token has none). Replaces whatever shared its slot. Tokens or claims over the limits above are not kept.
 */
void token_cache_put(struct token_cache *cache, const char *token, const char *claims, double exp, double nbf);
/*
 * Forgets token (a no-op when it is not cached): the database refused it (logged out, password changed, user
 * archived), so the next request with it is verified in full again, never answered from memory.
 */
void token_cache_remove(struct token_cache *cache, const char *token);
/* Entries held now. */
size_t token_cache_count(const struct token_cache *cache);

#endif
