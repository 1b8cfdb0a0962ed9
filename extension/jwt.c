/*
 * HS256 JSON Web Tokens: ta.jwt_sign(claims json, secret text) and
 * ta.jwt_verify(token text, secret text). Verification never raises for a bad
 * token: anything malformed, forged, of another algorithm, without a numeric
 * exp or expired answers NULL. Only a bad secret (a configuration error) raises.
 */
#include "postgres.h"

#include <math.h>
#include <time.h>

#include "common/hmac.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "base64url.h"
#include "jwt.h"

PG_FUNCTION_INFO_V1(jwt_sign);
PG_FUNCTION_INFO_V1(jwt_verify);

#define SHA256_LEN 32
/* Our tokens are ~250 bytes; the cap bounds the work a hostile token costs. */
#define JWT_MAX_LEN 8192
/* Claims are flat objects; the cap keeps the recursive JSON parser shallow. */
#define JSON_MAX_NESTING 16
#define MIN_SECRET_LEN 32

/* base64url of {"alg":"HS256","typ":"JWT"} */
static const char header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static void
check_secret(const text *secret)
{
	if (VARSIZE_ANY_EXHDR(secret) < MIN_SECRET_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("JWT secret must be at least %d bytes", MIN_SECRET_LEN)));
}

/* HMAC-SHA256 of data under the secret into out[SHA256_LEN]. */
static void
hmac_sha256(const text *secret, const char *data, size_t len, uint8 *out)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) VARDATA_ANY(secret), VARSIZE_ANY_EXHDR(secret)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) data, len) < 0 ||
		pg_hmac_final(ctx, out, SHA256_LEN) < 0)
	{
		char	   *reason = pstrdup(pg_hmac_error(ctx));

		pg_hmac_free(ctx);
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("HMAC-SHA256 failed: %s", reason)));
	}
	pg_hmac_free(ctx);
}

Datum
jwt_sign(PG_FUNCTION_ARGS)
{
	text	   *claims = PG_GETARG_TEXT_PP(0);
	text	   *secret = PG_GETARG_TEXT_PP(1);
	char	   *payload_b64;
	StringInfoData buf;
	uint8		mac[SHA256_LEN];
	char	   *sig_b64;

	check_secret(secret);
	payload_b64 = base64url_encode((const unsigned char *) VARDATA_ANY(claims),
								   VARSIZE_ANY_EXHDR(claims));
	initStringInfo(&buf);
	appendStringInfo(&buf, "%s.%s", header_b64, payload_b64);
	hmac_sha256(secret, buf.data, buf.len, mac);
	sig_b64 = base64url_encode(mac, SHA256_LEN);
	appendStringInfo(&buf, ".%s", sig_b64);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* What json_scan_members looks for, and where it is in the document. */
typedef struct MemberScan
{
	JsonMember *members;		/* the top-level members wanted */
	int			n;
	int			depth;			/* current nesting */
	bool		root_is_object;
	int			current;		/* the wanted member whose value comes next, or -1 */
} MemberScan;

static void
scan_object_start(void *state)
{
	MemberScan *s = state;

	if (s->depth == 0)
		s->root_is_object = true;
	s->depth++;
}

static void
scan_array_start(void *state)
{
	((MemberScan *) state)->depth++;
}

static void
scan_end(void *state)
{
	((MemberScan *) state)->depth--;
}

static void
scan_field(void *state, char *fname, bool isnull)
{
	MemberScan *s = state;

	if (s->depth != 1)
		return;
	s->current = -1;
	for (int i = 0; i < s->n; i++)
		if (strcmp(fname, s->members[i].name) == 0)
		{
			s->current = i;
			s->members[i].seen++;
			s->members[i].token = NULL;	/* this occurrence's value, when it is a scalar */
		}
}

static void
scan_scalar(void *state, char *token, JsonTokenType type)
{
	MemberScan *s = state;

	if (s->depth == 1 && s->current >= 0)
	{
		s->members[s->current].token = token;
		s->members[s->current].type = type;
	}
}

/* Deepest nesting of objects and arrays in json, ignoring brackets in strings. */
static int
json_nesting(const char *json, size_t len)
{
	int			depth = 0,
				deepest = 0;
	bool		in_string = false;
	size_t		i;

	for (i = 0; i < len; i++)
	{
		char		c = json[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
			deepest = Max(deepest, ++depth);
		else if (c == '}' || c == ']')
			depth--;
	}
	return deepest;
}

bool
json_scan_members(char *json, size_t len, JsonMember *members, int n)
{
	MemberScan	scan = {.members = members, .n = n, .current = -1};
	JsonSemAction sem = {
		.semstate = &scan,
		.object_start = scan_object_start,
		.object_end = scan_end,
		.array_start = scan_array_start,
		.array_end = scan_end,
		.object_field_start = scan_field,
		.scalar = scan_scalar,
	};
	JsonLexContext *lex;

	for (int i = 0; i < n; i++)
	{
		members[i].seen = 0;
		members[i].token = NULL;
	}
	if (!pg_verify_mbstr(GetDatabaseEncoding(), json, (int) len, true) ||
		json_nesting(json, len) > JSON_MAX_NESTING)
		return false;
	lex = makeJsonLexContextCstringLen(json, (int) len, GetDatabaseEncoding(), true);
	return pg_parse_json(lex, &sem) == JSON_SUCCESS && scan.root_is_object;
}

/*
 * Parses json (len bytes, any bytes) as a JSON object and finds its top-level
 * member `name`. Returns true, with *token and *type set, only when json is a
 * valid object in the database encoding holding `name` exactly once as a scalar.
 */
static bool
scan_member(char *json, size_t len, const char *name, char **token, JsonTokenType *type)
{
	JsonMember	m = {.name = name};

	if (!json_scan_members(json, len, &m, 1) || m.seen != 1 || m.token == NULL)
		return false;
	*token = m.token;
	*type = m.type;
	return true;
}

/* True when a JSON number token is a finite time in the future. */
static bool
exp_in_future(const char *token)
{
	char	   *end;
	double		exp = strtod(token, &end);

	return *end == '\0' && isfinite(exp) && exp > (double) time(NULL);
}

text *
jwt_claims(const char *token, size_t len, const text *secret, JsonMember *members, int n)
{
	JsonMember	m[1 + JWT_MAX_MEMBERS] = {{.name = "exp"}};
	const char *dot1,
			   *dot2;
	unsigned char *header,
			   *payload,
			   *sig;
	size_t		header_len,
				payload_len,
				sig_len;
	uint8		mac[SHA256_LEN];
	char	   *value;
	JsonTokenType type;

	check_secret(secret);
	if (len > JWT_MAX_LEN)
		return NULL;
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', token + len - dot1 - 1) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', token + len - dot2 - 1) != NULL)
		return NULL;

	/* The signature first, compared in constant time: unsigned input is never parsed. */
	sig = base64url_decode(dot2 + 1, token + len - dot2 - 1, &sig_len);
	if (sig == NULL || sig_len != SHA256_LEN)
		return NULL;
	hmac_sha256(secret, token, dot2 - token, mac);
	if (timingsafe_bcmp(mac, sig, SHA256_LEN) != 0)
		return NULL;

	header = base64url_decode(token, dot1 - token, &header_len);
	if (header == NULL ||
		!scan_member((char *) header, header_len, "alg", &value, &type) ||
		type != JSON_TOKEN_STRING || strcmp(value, "HS256") != 0)
		return NULL;

	/* exp, and in the same pass the members the caller wants */
	if (n < 0 || n > JWT_MAX_MEMBERS)
		ereport(ERROR, (errmsg("jwt_claims: at most %d members", JWT_MAX_MEMBERS)));
	for (int i = 0; i < n; i++)
		m[1 + i] = (JsonMember) {.name = members[i].name};
	payload = base64url_decode(dot1 + 1, dot2 - dot1 - 1, &payload_len);
	if (payload == NULL || !json_scan_members((char *) payload, payload_len, m, 1 + n) ||
		m[0].seen != 1 || m[0].token == NULL || m[0].type != JSON_TOKEN_NUMBER || !exp_in_future(m[0].token))
		return NULL;
	for (int i = 0; i < n; i++)
		members[i] = m[1 + i];

	return cstring_to_text_with_len((char *) payload, payload_len);
}

Datum
jwt_verify(PG_FUNCTION_ARGS)
{
	text	   *token = PG_GETARG_TEXT_PP(0);
	text	   *claims = jwt_claims(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), PG_GETARG_TEXT_PP(1), NULL, 0);

	if (claims == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(claims);
}
