/* Bearer tokens: each server thread keeps its own token cache (token_cache.c), made on first use. */
#define _POSIX_C_SOURCE 200809L
#include "bearer_auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>

#include "jwt_verify.h"
#include "token_cache.h"

/* Verified tokens each server thread remembers: a practice's few users, many times over. */
#define TOKEN_CACHE_PER_THREAD 256

struct bearer_auth {
	const unsigned char *key;
	size_t key_len;
	pthread_key_t cache;   /* each server thread's struct token_cache */
};

struct bearer_auth *bearer_auth_create(const char *key, size_t key_len)
{
	struct bearer_auth *auth = calloc(1, sizeof(*auth));

	if (auth == NULL)
		return NULL;
	auth->key = (const unsigned char *)key;
	auth->key_len = key_len;
	/* A server thread's cache is freed when the thread ends (MHD_stop_daemon joins them). */
	if (pthread_key_create(&auth->cache, token_cache_destroy) != 0) {
		free(auth);
		return NULL;
	}
	return auth;
}

void bearer_auth_destroy(struct bearer_auth *auth)
{
	if (auth == NULL)
		return;
	pthread_key_delete(auth->cache);
	free(auth);
}

/* This thread's token cache (NULL when out of memory: tokens are then verified in full). */
static struct token_cache *thread_cache(struct bearer_auth *auth)
{
	struct token_cache *cache = pthread_getspecific(auth->cache);

	if (cache == NULL) {
		cache = token_cache_create(TOKEN_CACHE_PER_THREAD);
		if (cache != NULL && pthread_setspecific(auth->cache, cache) != 0) {
			token_cache_destroy(cache);
			cache = NULL;
		}
	}
	return cache;
}

const char *bearer_auth_token(const char *header)
{
	const char *token = header + 7;

	while (*token == ' ')
		token++;
	return token;
}

void bearer_auth_forget(struct bearer_auth *auth, const char *token)
{
	struct token_cache *cache = thread_cache(auth);

	if (cache != NULL && token != NULL)
		token_cache_remove(cache, token);
}

const char *bearer_auth_verify(struct bearer_auth *auth, const char *header, time_t now, char **claims)
{
	const char *token;

	if (claims != NULL)
		*claims = NULL;
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return "Not authenticated";
	token = bearer_auth_token(header);
	if (jwt_verify_hs256_cached(thread_cache(auth), token, auth->key, auth->key_len, now, claims) != JWT_VALID)
		return "Could not validate credentials";
	return NULL;
}
