/* HS256 token verification, shared by ta.jwt_verify and the caller check (caller.c). */
#ifndef TA_JWT_H
#define TA_JWT_H

#include "postgres.h"

/*
 * The claims (the payload's JSON text, palloc'd) of a valid HS256 token with a numeric exp in
 * the future, or NULL for anything else; raises only for a secret under 32 bytes.
 */
extern text *jwt_claims(const char *token, size_t len, const text *secret);

#endif
