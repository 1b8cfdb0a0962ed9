/*
 * ta.caller(): the user id of the caller, which every authenticated api function asks first.
 * The bearer token in request.jwt is verified with the secret in ta.settings (jwt.c), its
 * claims become the transaction's request.jwt.claims and ta.claims_pid (what row-level
 * security reads, as ta.set_claims sets them), and its user must be live, of the practice it
 * claims (pid), at the token version it carries (ver), with a jti not logged out; anything
 * else clears the claims and answers 28000 'Could not validate credentials' (401).
 *
 * The PL/pgSQL twin (sql/fallback/native.sql) reads the claims with json_to_record and checks
 * them with regular expressions; this reads them in the pass of PostgreSQL's JSON parser that
 * checks the token's exp (jwt_claims: top-level members only, escapes decoded, the last of a
 * repeated member counts, a non-scalar or null value is none) and plain character checks, and runs the two queries from plans
 * prepared once per backend (the plan cache replans them when the tables change).
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "jwt.h"

PG_FUNCTION_INFO_V1(ta_caller);

enum
{
	SUB, PID, VER, JTI, NCLAIMS
};
static const char *const claim_names[NCLAIMS] = {"sub", "pid", "ver", "jti"};

/*
 * The claims as json_to_record(claims) AS r(sub text, pid text, ver text, jti text) gives them,
 * from the members jwt_claims read: the last top-level occurrence's text, NULL when missing,
 * null or not a scalar.
 */
static char *
claim_text(const JsonMember *m)
{
	return m->token != NULL && m->type != JSON_TOKEN_NULL ? m->token : NULL;
}

/* s is 1 to max digits 0-9 (^[0-9]{1,max}$), then *out is their number. */
static bool
parse_digits(const char *s, int max, int64 *out)
{
	int64		v = 0;
	int			n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
	{
		if (n == max || s[n] < '0' || s[n] > '9')
			return false;
		v = v * 10 + (s[n] - '0');
	}
	*out = v;
	return n > 0;
}

/* s is a lower-case uuid (^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$). */
static bool
parse_uuid(const char *s, pg_uuid_t *out)
{
	int			i,
				nibble = 0;

	if (s == NULL)
		return false;
	for (i = 0; i < 36; i++)	/* stops at the NUL of a shorter s: it is neither '-' nor hex */
	{
		char		c = s[i];
		int			d;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (c != '-')
				return false;
			continue;
		}
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		if (nibble % 2 == 0)
			out->data[nibble / 2] = (unsigned char) (d << 4);
		else
			out->data[nibble / 2] |= (unsigned char) d;
		nibble++;
	}
	return s[36] == '\0';
}

/* set_config(name, value, true), as the PL/pgSQL twin calls it. */
static void
set_local(const char *name, const char *value)
{
	(void) set_config_option(name, value, superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/* Runs a query of this file from its plan, prepared and kept on first use. */
static void
run(SPIPlanPtr *plan, const char *query, int nargs, Oid *argtypes, Datum *values)
{
	int			rc;

	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(query, nargs, argtypes);

		if (p == NULL || SPI_keepplan(p) != 0)
			elog(ERROR, "ta.caller: could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result));
		*plan = p;
	}
	/* read_only false: each query sees what committed before it, as in a VOLATILE function */
	rc = SPI_execute_plan(*plan, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "ta.caller: \"%s\" failed: %s", query, SPI_result_code_string(rc));
}

Datum
ta_caller(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr secret_plan = NULL;
	static SPIPlanPtr user_plan = NULL;
	static Oid	user_argtypes[4] = {INT8OID, INT8OID, INT4OID, UUIDOID};
	const char *setting;
	char	   *token;
	text	   *claims = NULL;
	JsonMember	member[NCLAIMS];
	char	   *claim[NCLAIMS];
	int64		sub,
				pid,
				ver;
	pg_uuid_t	jti;
	bool		found = false;
	int64		uid = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "ta.caller: SPI_connect failed");
	/* from here on everything is allocated in SPI's context, freed by SPI_finish */
	setting = GetConfigOption("request.jwt", true, false);
	token = setting != NULL && setting[0] != '\0' ? pstrdup(setting) : NULL;

	run(&secret_plan, "SELECT s.jwt_secret FROM ta.settings s", 0, NULL, NULL);
	if (token != NULL && SPI_processed > 0)
	{
		bool		isnull;
		Datum		secret = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			for (int i = 0; i < NCLAIMS; i++)
				member[i] = (JsonMember) {.name = claim_names[i]};
			claims = jwt_claims(token, strlen(token), DatumGetTextPP(secret), member, NCLAIMS);
		}
	}

	if (claims != NULL)
	{
		for (int i = 0; i < NCLAIMS; i++)
			claim[i] = claim_text(&member[i]);
		if (parse_digits(claim[SUB], 18, &sub) && parse_digits(claim[PID], 18, &pid) &&
			parse_digits(claim[VER], 9, &ver) && parse_uuid(claim[JTI], &jti))
		{
			Datum		values[4] = {Int64GetDatum(sub), Int64GetDatum(pid), Int32GetDatum((int32) ver),
			UUIDPGetDatum(&jti)};

			/* the claims hold while the user is looked up, as after ta.set_claims(claims) */
			set_local("request.jwt.claims", text_to_cstring(claims));
			set_local("ta.claims_pid", claim[PID]);
			run(&user_plan,
				"SELECT u.id FROM ta.users u"
				" WHERE u.id OPERATOR(pg_catalog.=) $1 AND u.practice_id OPERATOR(pg_catalog.=) $2"
				" AND u.deleted_at IS NULL AND u.token_version OPERATOR(pg_catalog.=) $3"
				" AND NOT EXISTS (SELECT FROM ta.revoked_tokens r WHERE r.jti OPERATOR(pg_catalog.=) $4)",
				4, user_argtypes, values);
			if (SPI_processed > 0)
			{
				bool		isnull;
				Datum		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

				found = !isnull;
				if (found)
					uid = DatumGetInt64(id);
			}
		}
	}
	SPI_finish();

	if (!found)
	{
		/* as ta.set_claims('') then ta.raise('28000', ...): a RAISE with SQLSTATE and message only */
		set_local("request.jwt.claims", "");
		set_local("ta.claims_pid", "");
		ereport(ERROR, (errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
						errmsg_internal("Could not validate credentials")));
	}
	PG_RETURN_INT64(uid);
}
