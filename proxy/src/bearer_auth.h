/* The bearer token of a request: the Authorization header verified (jwt_verify.c) through each thread's cache. */
#ifndef TA_BEARER_AUTH_H
#define TA_BEARER_AUTH_H

#include <stddef.h>
#include <time.h>

struct bearer_auth;

/* Verification with key (the server's JWT_SECRET, which must outlive it). Returns NULL when out of resources. */
struct bearer_auth *bearer_auth_create(const char *key, size_t key_len);
/* Frees it; the server threads' caches went with their threads. NULL is allowed. */
void bearer_auth_destroy(struct bearer_auth *auth);

/*
 * Verifies an Authorization header ("Bearer <token>", or NULL when absent). Returns NULL and sets *claims (caller
 * frees; claims may be NULL when the verdict is all that is needed), or returns the detail of the 401 to answer
 * ("Not authenticated", "Could not validate credentials").
 */
const char *bearer_auth_verify(struct bearer_auth *auth, const char *header, time_t now, char **claims);

/* The token of a verified Authorization header (a pointer into header). */
const char *bearer_auth_token(const char *header);

/*
 * Drops token from this thread's cache once the database has ended it (a 401 from the caller check, or the
 * request was its logout): the cache never vouches for a token the database refused.
 */
void bearer_auth_forget(struct bearer_auth *auth, const char *token);

#endif
