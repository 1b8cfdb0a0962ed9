/*
 * The few PostgreSQL backend symbols extension/ uses that libpgcommon/libpgport (the frontend builds of the
 * same code) do not provide. Each is either a plain copy of what the backend does for the inputs the harnesses
 * give (untoasted 4-byte-header varlenas, a UTF-8 database), or an oracle that aborts when the extension asks
 * for something its contract says it never does (raising an error for client input, handing numeric_in a string
 * parse_money should have refused). palloc, StringInfo, the JSON parser, HMAC and timingsafe_bcmp are the real
 * ones from libpgcommon/libpgport.
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

#include "pg_shim.h"

/* ereport(ERROR): the extension raises only for a bad secret or out of memory, never for client input. */
bool errstart(int elevel, const char *domain)
{
	if (elevel >= ERROR) {
		fprintf(stderr, "pg_shim: ereport(ERROR) reached from client input\n");
		abort();
	}
	return false;
}

bool errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void errfinish(const char *filename, int lineno, const char *funcname)
{
}

int errcode(int sqlerrcode)
{
	return 0;
}

int errmsg(const char *fmt, ...)
{
	return 0;
}

/* The harnesses build untoasted values only; anything else would be a harness bug. */
struct varlena *pg_detoast_datum_packed(struct varlena *datum)
{
	if (VARATT_IS_EXTENDED(datum))
		abort();
	return datum;
}

text *cstring_to_text_with_len(const char *s, int len)
{
	text *result = palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

char *text_to_cstring(const text *t)
{
	int len = VARSIZE_ANY_EXHDR(t);
	char *result = palloc(len + 1);

	memcpy(result, VARDATA_ANY(t), len);
	result[len] = '\0';
	return result;
}

/* The stack's database is UTF-8 (initdb -E UTF8). */
int GetDatabaseEncoding(void)
{
	return PG_UTF8;
}

bool pg_verify_mbstr(int encoding, const char *mbstr, int len, bool noError)
{
	if (!noError)
		abort();
	return pg_encoding_verifymbstr(encoding, mbstr, len) == len;
}

/* The backend's DirectFunctionCall3Coll (fmgr.c), minus the error for a NULL result. */
Datum DirectFunctionCall3Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2, Datum arg3)
{
	LOCAL_FCINFO(fcinfo, 3);
	Datum result;

	InitFunctionCallInfoData(*fcinfo, NULL, 3, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	fcinfo->args[2].value = arg3;
	fcinfo->args[2].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		abort();
	return result;
}

/*
 * numeric_in is PostgreSQL's own parser: not ours to fuzz. This stand-in is the oracle for parse_money: it
 * aborts unless the text is what parse_money promises to pass on, -?[0-9]{1,8}(\.[0-9]{1,2})?, and returns it.
 */
const char *shim_last_numeric;

Datum numeric_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	const char *p = s;
	int digits = 0, decimals = 0;

	if (*p == '-')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, decimals++;
		if (decimals == 0)
			abort();
	}
	if (*p != '\0' || digits == 0 || digits > 8 || decimals > 2) {
		fprintf(stderr, "pg_shim: parse_money passed \"%s\" to numeric_in\n", s);
		abort();
	}
	shim_last_numeric = s;
	PG_RETURN_POINTER(s);
}

/* From PostgreSQL's utils/adt/datetime.c (the backend's; pure arithmetic). */
const int day_tab[2][13] = {
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

int date2j(int year, int month, int day)
{
	int julian;
	int century;

	if (month > 2) {
		month += 1;
		year += 4800;
	} else {
		month += 13;
		year += 4799;
	}
	century = year / 100;
	julian = year * 365 - 32167;
	julian += year / 4 - century + century / 4;
	julian += 7834 * month / 256 + day;
	return julian;
}

/* A text datum holding len bytes of data (palloc'd, caller frees). */
text *shim_text(const uint8_t *data, size_t len)
{
	return cstring_to_text_with_len((const char *)data, (int)len);
}

/* Calls a V1 function with two (or one, when b is NULL) text arguments. Sets *isnull. */
Datum shim_call(PGFunction fn, text *a, text *b, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum result;

	InitFunctionCallInfoData(*fcinfo, NULL, b != NULL ? 2 : 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = PointerGetDatum(a);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = PointerGetDatum(b);
	fcinfo->args[1].isnull = false;
	result = fn(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}
