/*
 * ta.json_rows(anycompatible): json_agg for composite rows, the same text byte for byte, with
 * each column's JSON category and output function looked up once per aggregate instead of
 * once per column of every row (PostgreSQL 15's composite_to_json does the latter, about
 * 24 k instructions a row of ta.appointment_out).
 *
 * The format is json_agg's: "[" then the elements separated by ", ", "\n " before every
 * non-null composite or array element after the first, "]"; a row is "{" then "name":value
 * joined by "," then "}". A column value is written as datum_to_json (json.c) writes it:
 * null; true/false; numbers as their output unless that is no JSON number (NaN, Infinity:
 * then quoted); date and timestamps by JsonEncodeDateTime (timestamptz formatted here the same way); json and jsonb as their output;
 * every other built-in scalar and a user type without a cast to json (enums) as its output,
 * quoted by escape_json. Anything else (arrays, nested rows, domains, types with a cast to
 * json), and an input that is no row at all, is written by PostgreSQL's own to_json, so the
 * text can never differ from json_agg's.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "common/jsonapi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_coerce.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "zone_offset.h"

PG_FUNCTION_INFO_V1(json_rows_transfn);
PG_FUNCTION_INFO_V1(json_rows_finalfn);

#define ENUM_LABELS 16

typedef enum
{
	COLUMN_BOOL,
	COLUMN_INTEGER,				/* int2, int4, int8: their output, always a JSON number */
	COLUMN_NUMBER,				/* the output, quoted unless a JSON number */
	COLUMN_DATETIME,			/* date, timestamp, timestamptz: JsonEncodeDateTime */
	COLUMN_JSON,				/* json, jsonb: the output as it is */
	COLUMN_STRING,				/* text, varchar: the output (the text itself), escaped */
	COLUMN_TEXT,				/* the output, escaped */
	COLUMN_TO_JSON				/* to_json's text */
} ColumnKind;

typedef struct
{
	ColumnKind	kind;
	bool		dropped;
	Oid			typid;
	char	   *key;			/* "name": after the first column ,"name": */
	int			key_len;
	FmgrInfo	fn;				/* the output function, or to_json */
	/* an enum's labels met so far, escaped: enum_out looks each value up in the catalog */
	MemoryContext cxt;			/* the aggregate's, where they are kept */
	bool		is_enum;
	int			n_labels;
	Oid			label_oid[ENUM_LABELS];
	char	   *label[ENUM_LABELS];
} Column;

typedef struct
{
	StringInfo	out;
	bool		rows;			/* the input is a row type: written column by column */
	FmgrInfo	to_json;		/* else every element by to_json */
	bool		spaced;			/* a structured element: "\n " after the first */
	Oid			tuptype;		/* the columns below are of this row type */
	int32		tuptypmod;
	TupleDesc	tupdesc;
	Column	   *columns;
	Datum	   *values;
	bool	   *nulls;
	ZoneOffsetCache zones;		/* the session zone's offsets, for timestamptz */
} JsonRowsState;

/* fn calls to_json on values of typid (to_json takes the type from its call's expression) */
static void
to_json_info(FmgrInfo *fn, Oid typid, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	fmgr_info_cxt(F_TO_JSON, fn, cxt);
	fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSON, JSONOID,
											 list_make1(makeNullConst(typid, -1, InvalidOid)),
											 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL), fn);
	MemoryContextSwitchTo(old);
}

/* json.c's json_categorize_type, mapped onto the kinds above */
static void
column_info(Column *c, Oid typid, MemoryContext cxt)
{
	Oid			out;
	bool		varlena;
	Oid			cast;

	c->typid = typid;
	switch (typid)
	{
		case BOOLOID:
			c->kind = COLUMN_BOOL;
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			c->kind = COLUMN_INTEGER;
			return;
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			c->kind = COLUMN_NUMBER;
			break;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			c->kind = COLUMN_DATETIME;
			return;
		case JSONOID:
		case JSONBOID:
			c->kind = COLUMN_JSON;
			break;
		case TEXTOID:
		case VARCHAROID:
			c->kind = COLUMN_STRING;
			return;
		default:
			c->kind = COLUMN_TEXT;
			if (get_typtype(typid) == TYPTYPE_DOMAIN || OidIsValid(get_element_type(typid)) ||
				type_is_rowtype(typid) || typid == ANYARRAYOID || typid == ANYCOMPATIBLEARRAYOID ||
				typid == RECORDARRAYOID ||
				(typid >= FirstNormalObjectId &&
				 find_coercion_pathway(JSONOID, typid, COERCION_EXPLICIT, &cast) == COERCION_PATH_FUNC &&
				 OidIsValid(cast)))
			{
				c->kind = COLUMN_TO_JSON;
				to_json_info(&c->fn, typid, cxt);
				return;
			}
			c->is_enum = type_is_enum(typid);
			c->cxt = cxt;
			break;
	}
	getTypeOutputInfo(typid, &out, &varlena);
	fmgr_info_cxt(out, &c->fn, cxt);
}

/* The columns of row type (tuptype, tuptypmod), in the aggregate's memory */
static void
columns_info(JsonRowsState *s, Oid tuptype, int32 tuptypmod, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	TupleDesc	td = lookup_rowtype_tupdesc_copy(tuptype, tuptypmod);
	StringInfoData key;
	bool		first = true;
	int			i;

	s->tuptype = tuptype;
	s->tuptypmod = tuptypmod;
	s->tupdesc = td;
	s->columns = palloc0(sizeof(Column) * Max(td->natts, 1));
	s->values = palloc(sizeof(Datum) * Max(td->natts, 1));
	s->nulls = palloc(sizeof(bool) * Max(td->natts, 1));
	for (i = 0; i < td->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, i);
		Column	   *c = &s->columns[i];

		c->dropped = att->attisdropped;
		if (c->dropped)
			continue;
		initStringInfo(&key);
		if (!first)
			appendStringInfoChar(&key, ',');
		first = false;
		escape_json(&key, NameStr(att->attname));
		appendStringInfoChar(&key, ':');
		c->key = key.data;
		c->key_len = key.len;
		column_info(c, att->atttypid, cxt);
	}
	MemoryContextSwitchTo(old);
}

/* n as exactly width decimal digits (n < 10^width) */
static char *
put_digits(char *p, int n, int width)
{
	for (int i = width - 1; i >= 0; i--, n /= 10)
		p[i] = (char) ('0' + n % 10);
	return p + width;
}

/*
 * A finite timestamptz of the years 1 to 9999 whose zone offset is whole minutes, written as
 * JsonEncodeDateTime writes it (EncodeDateTime, USE_XSD_DATES: YYYY-MM-DDTHH:MM:SS, the
 * microseconds without their trailing zeros, +HH:MM), into buf; false for anything else, which
 * then goes to JsonEncodeDateTime itself. The conversion to the session's zone is timestamp2tm's
 * done in two steps: the zone's offset at the instant, whole seconds (timestamp2tm hands
 * pg_localtime the second the instant falls in), from the cache of offsets (zone_offset.c,
 * pg_localtime's own offset, looked up once per stretch between DST boundaries instead of once
 * per value), then the fields of the instant moved by that offset, with no zone.
 */
static bool
encode_timestamptz(char *buf, TimestampTz ts, ZoneOffsetCache *zones)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	int			offset;
	long		gmtoff;
	pg_time_t	second;
	char	   *p = buf;

	if (TIMESTAMP_NOT_FINITE(ts))
		return false;
	/* the second, rounded down, since 1970 */
	second = ts / USECS_PER_SEC - (ts % USECS_PER_SEC < 0) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	if (!zone_offset(zones, second, &gmtoff) || gmtoff <= -SECS_PER_DAY || gmtoff >= SECS_PER_DAY ||
		timestamp2tm(ts + gmtoff * USECS_PER_SEC, NULL, &tm, &fsec, NULL, NULL) != 0)
		return false;
	tz = (int) -gmtoff;
	if (tm.tm_year < 1 || tm.tm_year > 9999 || tz % SECS_PER_MINUTE != 0 || fsec < 0)
		return false;
	p = put_digits(p, tm.tm_year, 4);
	*p++ = '-';
	p = put_digits(p, tm.tm_mon, 2);
	*p++ = '-';
	p = put_digits(p, tm.tm_mday, 2);
	*p++ = 'T';
	p = put_digits(p, tm.tm_hour, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_min, 2);
	*p++ = ':';
	p = put_digits(p, tm.tm_sec, 2);
	if (fsec != 0)
	{
		*p++ = '.';
		p = put_digits(p, fsec, 6);
		while (p[-1] == '0')
			p--;
	}
	/* tz is seconds west of UTC: the sign shown is the opposite */
	*p++ = tz <= 0 ? '+' : '-';
	offset = abs(tz) / SECS_PER_MINUTE;
	p = put_digits(p, offset / MINS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, offset % MINS_PER_HOUR, 2);
	*p = '\0';
	return true;
}

/*
 * appendBinaryStringInfo, inlined: the appends of a row are a few bytes each, and the call
 * cost more than the copy (issue 18)
 */
static inline void
put(StringInfo out, const char *str, int len)
{
	if (out->len + len >= out->maxlen)
		enlargeStringInfo(out, len);
	memcpy(out->data + out->len, str, len);
	out->len += len;
	out->data[out->len] = '\0';
}

/*
 * escape_json's text of the len bytes at str, written in runs: a text is no C string, and
 * escape_json would stop at a NUL byte (which a text cannot hold; stopping there too all the same).
 */
static void
append_json_string(StringInfo out, const char *str, int len)
{
	static const char hex[] = "0123456789abcdef";
	const char *end = str + len;

	enlargeStringInfo(out, len + 2);
	put(out, "\"", 1);
	while (str < end)
	{
		const char *run = str;
		unsigned char ch;

		while (str < end && (unsigned char) *str >= ' ' && *str != '"' && *str != '\\')
			str++;
		if (str > run)
			put(out, run, str - run);
		if (str == end || *str == '\0')
			break;
		ch = (unsigned char) *str++;
		switch (ch)
		{
			case '\b':
				put(out, "\\b", 2);
				break;
			case '\f':
				put(out, "\\f", 2);
				break;
			case '\n':
				put(out, "\\n", 2);
				break;
			case '\r':
				put(out, "\\r", 2);
				break;
			case '\t':
				put(out, "\\t", 2);
				break;
			case '"':
				put(out, "\\\"", 2);
				break;
			case '\\':
				put(out, "\\\\", 2);
				break;
			default:
				{
					/* "\\u%04x" */
					char		u[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};

					put(out, u, 6);
				}
				break;
		}
	}
	put(out, "\"", 1);
}

/* An enum's value as escape_json writes its label, each label looked up once per aggregate */
static void
append_enum(StringInfo out, Column *c, Datum value)
{
	Oid			v = DatumGetObjectId(value);
	MemoryContext old;
	StringInfoData e;
	char	   *str;

	for (int i = 0; i < c->n_labels; i++)
		if (c->label_oid[i] == v)
		{
			appendStringInfoString(out, c->label[i]);
			return;
		}
	str = OutputFunctionCall(&c->fn, value);
	old = MemoryContextSwitchTo(c->cxt);
	initStringInfo(&e);
	escape_json(&e, str);
	MemoryContextSwitchTo(old);
	put(out, e.data, e.len);
	if (c->n_labels < ENUM_LABELS)
	{
		c->label_oid[c->n_labels] = v;
		c->label[c->n_labels++] = e.data;
	}
	else
		pfree(e.data);
}

static void
append_column(StringInfo out, Column *c, Datum value, ZoneOffsetCache *zones)
{
	char	   *str;
	char		buf[MAXDATELEN + 1];

	switch (c->kind)
	{
		case COLUMN_BOOL:
			if (DatumGetBool(value))
				put(out, "true", 4);
			else
				put(out, "false", 5);
			break;
		case COLUMN_INTEGER:
			/* int2out, int4out and int8out's digits, without their palloc */
			if (c->typid == INT8OID)
				put(out, buf, pg_lltoa(DatumGetInt64(value), buf));
			else if (c->typid == INT4OID)
				put(out, buf, pg_ltoa(DatumGetInt32(value), buf));
			else
				put(out, buf, pg_itoa(DatumGetInt16(value), buf));
			break;
		case COLUMN_NUMBER:
			str = OutputFunctionCall(&c->fn, value);
			if (IsValidJsonNumber(str, strlen(str)))
				appendStringInfoString(out, str);
			else
				escape_json(out, str);
			break;
		case COLUMN_DATETIME:
			/* written in place: the quotes and at most MAXDATELEN + 1 bytes between */
			enlargeStringInfo(out, MAXDATELEN + 3);
			str = out->data + out->len;
			*str++ = '"';
			if (c->typid != TIMESTAMPTZOID || !encode_timestamptz(str, DatumGetTimestampTz(value), zones))
				JsonEncodeDateTime(str, value, c->typid, NULL);
			str += strlen(str);
			*str++ = '"';
			*str = '\0';
			out->len = str - out->data;
			break;
		case COLUMN_JSON:
			appendStringInfoString(out, OutputFunctionCall(&c->fn, value));
			break;
		case COLUMN_STRING:
			{
				text	   *t = DatumGetTextPP(value);

				append_json_string(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			break;
		case COLUMN_TEXT:
			if (c->is_enum)
				append_enum(out, c, value);
			else
				escape_json(out, OutputFunctionCall(&c->fn, value));
			break;
		case COLUMN_TO_JSON:
			{
				text	   *json = DatumGetTextPP(FunctionCall1(&c->fn, value));

				put(out, VARDATA_ANY(json), VARSIZE_ANY_EXHDR(json));
			}
			break;
	}
}

static void
append_row(JsonRowsState *s, Datum row, MemoryContext cxt)
{
	HeapTupleHeader td = DatumGetHeapTupleHeader(row);
	HeapTupleData tuple;
	int			i;

	if (s->tupdesc == NULL || HeapTupleHeaderGetTypeId(td) != s->tuptype ||
		HeapTupleHeaderGetTypMod(td) != s->tuptypmod)
		columns_info(s, HeapTupleHeaderGetTypeId(td), HeapTupleHeaderGetTypMod(td), cxt);

	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;
	heap_deform_tuple(&tuple, s->tupdesc, s->values, s->nulls);

	put(s->out, "{", 1);
	for (i = 0; i < s->tupdesc->natts; i++)
	{
		Column	   *c = &s->columns[i];

		if (c->dropped)
			continue;
		put(s->out, c->key, c->key_len);
		if (s->nulls[i])
			put(s->out, "null", 4);
		else
			append_column(s->out, c, s->values[i], &s->zones);
	}
	put(s->out, "}", 1);
}

Datum
json_rows_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext cxt;
	JsonRowsState *s;
	bool		first = PG_ARGISNULL(0);

	if (!AggCheckCallContext(fcinfo, &cxt))
		elog(ERROR, "json_rows_transfn called in non-aggregate context");

	if (first)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 1);
		MemoryContext old;

		if (!OidIsValid(type))
			elog(ERROR, "could not determine input data type");
		old = MemoryContextSwitchTo(cxt);
		s = palloc0(sizeof(JsonRowsState));
		s->out = makeStringInfo();
		MemoryContextSwitchTo(old);
		appendStringInfoChar(s->out, '[');
		/* json_categorize_type looks through a domain; a row goes column by column */
		type = getBaseType(type);
		s->spaced = OidIsValid(get_element_type(type)) || type_is_rowtype(type) ||
			type == ANYARRAYOID || type == ANYCOMPATIBLEARRAYOID || type == RECORDARRAYOID;
		s->rows = type_is_rowtype(type);
		if (!s->rows)
			to_json_info(&s->to_json, get_fn_expr_argtype(fcinfo->flinfo, 1), cxt);
	}
	else
	{
		s = (JsonRowsState *) PG_GETARG_POINTER(0);
		put(s->out, ", ", 2);
	}

	if (PG_ARGISNULL(1))
	{
		appendStringInfoString(s->out, "null");
		PG_RETURN_POINTER(s);
	}
	if (!first && s->spaced)
		put(s->out, "\n ", 2);
	if (s->rows)
		append_row(s, PG_GETARG_DATUM(1), cxt);
	else
	{
		text	   *json = DatumGetTextPP(FunctionCall1(&s->to_json, PG_GETARG_DATUM(1)));

		appendBinaryStringInfo(s->out, VARDATA_ANY(json), VARSIZE_ANY_EXHDR(json));
	}
	PG_RETURN_POINTER(s);
}

Datum
json_rows_finalfn(PG_FUNCTION_ARGS)
{
	JsonRowsState *s;
	text	   *result;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "json_rows_finalfn called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	s = (JsonRowsState *) PG_GETARG_POINTER(0);
	/* the text and "]"; the state stays as it is (a final function may run more than once on it) */
	result = palloc(VARHDRSZ + s->out->len + 1);
	SET_VARSIZE(result, VARHDRSZ + s->out->len + 1);
	memcpy(VARDATA(result), s->out->data, s->out->len);
	VARDATA(result)[s->out->len] = ']';
	PG_RETURN_TEXT_P(result);
}
