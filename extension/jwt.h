/* HS256 token verification and the JSON member scan, shared by ta.jwt_verify and the caller check (caller.c). */
#ifndef TA_JWT_H
#define TA_JWT_H

#include "postgres.h"

#include "common/jsonapi.h"


/* A top-level member of a JSON object: how often it occurs, and its last occurrence's scalar value. */
typedef struct JsonMember
{
	const char *name;
	int			seen;
	char	   *token;			/* the last occurrence's value (palloc'd, unescaped), NULL unless a scalar */
	JsonTokenType type;			/* its token type (JSON_TOKEN_NULL for null) */
} JsonMember;

/*
 * Parses json (len bytes, any bytes) as a JSON object of the database encoding and reads the
 * top-level members named in members[0..n-1]; false when it is not such an object.
 */
extern bool json_scan_members(char *json, size_t len, JsonMember *members, int n);

#define JWT_MAX_MEMBERS 8

/*
 * The claims (the payload's JSON text, palloc'd) of a valid HS256 token with a numeric exp in
 * the future, or NULL for anything else; raises only for a secret under 32 bytes. The payload's
 * members[0..n-1] (n at most JWT_MAX_MEMBERS) are read in the pass that checks exp, as
 * json_scan_members reads them.
 */
extern text *jwt_claims(const char *token, size_t len, const text *secret, JsonMember *members, int n);

#endif
