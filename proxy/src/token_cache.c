/* Verified tokens, direct-mapped by a hash seeded at random; the cache owns every string it holds. */
#define _POSIX_C_SOURCE 200809L
#include "token_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct entry {
	char *token;     /* NULL: the slot is free */
	size_t token_len;
	char *claims;
	double exp, nbf;
};

struct token_cache {
	uint64_t seed;   /* random, so that nobody can aim tokens at one slot to push others out */
	size_t mask;     /* slots - 1 */
	size_t count;
	struct entry slots[];
};

struct token_cache *token_cache_create(size_t capacity)
{
	size_t slots = 1;
	struct token_cache *cache;

	while (slots < capacity && slots < ((size_t)1 << 20))
		slots <<= 1;
	cache = calloc(1, sizeof(*cache) + slots * sizeof(struct entry));
	if (cache == NULL)
		return NULL;
	cache->mask = slots - 1;
	if (getrandom(&cache->seed, sizeof(cache->seed), 0) != sizeof(cache->seed))
		cache->seed = (uint64_t)(uintptr_t)cache ^ 0x9e3779b97f4a7c15u;
	return cache;
}

static void entry_clear(struct token_cache *cache, struct entry *e)
{
	if (e->token == NULL)
		return;
	free(e->token);
	free(e->claims);
	memset(e, 0, sizeof(*e));
	cache->count--;
}

void token_cache_destroy(void *arg)
{
	struct token_cache *cache = arg;

	if (cache == NULL)
		return;
	for (size_t i = 0; i <= cache->mask; i++)
		entry_clear(cache, &cache->slots[i]);
	free(cache);
}

/* The 8 bytes at p as one word (unaligned, any byte order: only hashed and compared). */
static uint64_t word_at(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

/*
 * FNV-1a over the token eight bytes at a time (the tail byte by byte), started from the seed and finished with a
 * mix so that every bit counts: a ~200-byte token is 25 multiplications, not 200.
 */
static struct entry *slot_of(struct token_cache *cache, const char *token, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u ^ cache->seed;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		h ^= word_at(token + i);
		h *= 0x100000001b3u;
		h ^= h >> 29;
	}
	for (; i < len; i++) {
		h ^= (unsigned char)token[i];
		h *= 0x100000001b3u;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return &cache->slots[h & cache->mask];
}

/*
 * Same bytes, compared in time that depends on the length only (every word and byte is looked at, differences
 * are ORed, no early exit): a lookup tells nothing about a cached token.
 */
static int same_token(const struct entry *e, const char *token, size_t len)
{
	volatile uint64_t diff = 0;  /* volatile: no early exit may be compiled in */
	size_t i = 0;

	if (e->token == NULL || e->token_len != len)
		return 0;
	for (; i + 8 <= len; i += 8)
		diff |= word_at(e->token + i) ^ word_at(token + i);
	for (; i < len; i++)
		diff |= (uint64_t)(unsigned char)(e->token[i] ^ token[i]);
	return diff == 0;
}

const char *token_cache_get(struct token_cache *cache, const char *token, time_t now)
{
	size_t len = strnlen(token, TOKEN_CACHE_MAX_TOKEN + 1);
	struct entry *e;

	if (len > TOKEN_CACHE_MAX_TOKEN)
		return NULL;
	e = slot_of(cache, token, len);
	if (!same_token(e, token, len))
		return NULL;
	if (e->exp <= (double)now || e->nbf > (double)now) {
		entry_clear(cache, e);
		return NULL;
	}
	return e->claims;
}

void token_cache_put(struct token_cache *cache, const char *token, const char *claims, double exp, double nbf)
{
	size_t len = strnlen(token, TOKEN_CACHE_MAX_TOKEN + 1);
	struct entry *e;
	char *token_copy, *claims_copy;

	if (len > TOKEN_CACHE_MAX_TOKEN || strnlen(claims, TOKEN_CACHE_MAX_CLAIMS + 1) > TOKEN_CACHE_MAX_CLAIMS)
		return;
	token_copy = strdup(token);
	claims_copy = strdup(claims);
	if (token_copy == NULL || claims_copy == NULL) {
		free(token_copy);
		free(claims_copy);
		return;
	}
	e = slot_of(cache, token, len);
	entry_clear(cache, e);
	*e = (struct entry){.token = token_copy, .token_len = len, .claims = claims_copy, .exp = exp, .nbf = nbf};
	cache->count++;
}

void token_cache_remove(struct token_cache *cache, const char *token)
{
	size_t len = strnlen(token, TOKEN_CACHE_MAX_TOKEN + 1);
	struct entry *e;

	if (len > TOKEN_CACHE_MAX_TOKEN)
		return;
	e = slot_of(cache, token, len);
	if (same_token(e, token, len))
		entry_clear(cache, e);
}

size_t token_cache_count(const struct token_cache *cache)
{
	return cache->count;
}
