/*
 * ta.appointments_plan_reminders(): the BEFORE INSERT trigger of ta.appointments that plans a new
 * appointment's reminders on its own row (sql/reminders.sql; its PL/pgSQL twin is in
 * sql/fallback/native.sql and states the same rule). In PL/pgSQL its two queries' executor start-up
 * and SPI were most of its cost (issue 17: +6.2 % on POST /appointments with reminders on); here the
 * settings row and the patient row are fetched by primary key, with the snapshot SPI would take.
 *
 * The rule, as the PL/pgSQL version has it:
 *   - no settings row of NEW.practice_id, or neither channel enabled: nothing;
 *   - the appointment not live (ta.appointment_is_live: deleted_at IS NULL AND status =
 *     'scheduled'; a NULL status is "unknown", which, as in PL/pgSQL's IF, does not stop it);
 *   - no patient NEW.patient_id that is not archived, or it consents to none of the enabled
 *     channels: nothing;
 *   - the start (ta.appointment_start: (date + start_time) AT TIME ZONE 'Europe/Warsaw') at or
 *     before now(): nothing (a NULL start does not stop it, as in PL/pgSQL);
 *   - else reminder_starts_at := the start, reminder_send_at := ta.reminder_due(start, hours) =
 *     greatest(start - hours, now()), and one nextval('ta.outbox_id_seq') per wanted channel,
 *     e-mail first.
 * The regress suite (regress/sql/reminders.sql) compares every case with ta.reminder_plan.
 *
 * Row-level security: both tables FORCE it, and these lookups do not apply it. That is safe
 * because what they read only fills the inserted row itself, of the practice NEW.practice_id:
 * the settings are that practice's row, and the patient must have that practice too (checked
 * here; the appointment's foreign key requires it anyway). The INSERT's own policy (WITH CHECK
 * practice_id = ta.current_practice_id()) then rejects a row of any practice but the caller's,
 * the very practice whose rows the PL/pgSQL queries could see, so a row that is stored carries
 * exactly what they read, and nothing of another practice ever leaves. Only the api's SECURITY
 * DEFINER functions insert appointments (nobody else has the privilege), always with the
 * caller's practice. The caller's SELECT privilege on the two tables is checked as a query
 * would; nextval checks the sequence's.
 *
 * The relations are found in namespace ta by name (never by search_path); their OIDs, the
 * primary keys' and the column numbers are kept per backend until a relcache invalidation of
 * any of them (ALTER, DROP, DROP EXTENSION: the same backend then looks them up again) or of
 * pg_enum (the 'scheduled' label's OID).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(appointments_plan_reminders);

/* A table read by primary key: the columns wanted, in order. */
typedef struct
{
	const char *name;
	Oid			relid;
	Oid			pkey;
	int			ncols;
	const char *cols[4];
	Oid			types[4];
	AttrNumber	attnums[4];
} KeyedTable;

static KeyedTable settings = {"reminder_settings", InvalidOid, InvalidOid, 4,
	{"practice_id", "email_enabled", "sms_enabled", "hours_before"},
{INT8OID, BOOLOID, BOOLOID, INT4OID}};
static KeyedTable patients = {"patients", InvalidOid, InvalidOid, 4,
	{"practice_id", "deleted_at", "reminder_email", "reminder_sms"},
{INT8OID, TIMESTAMPTZOID, BOOLOID, BOOLOID}};

enum
{
	A_PRACTICE, A_PATIENT, A_DATE, A_START, A_STATUS, A_DELETED,
	A_STARTS_AT, A_SEND_AT, A_EMAIL_ID, A_SMS_ID, A_COLS
};
static const char *const appointment_cols[A_COLS] = {
	"practice_id", "patient_id", "date", "start_time", "status", "deleted_at",
	"reminder_starts_at", "reminder_send_at", "email_reminder_id", "sms_reminder_id"
};
static const Oid appointment_types[A_COLS] = {
	INT8OID, INT8OID, DATEOID, TIMEOID, InvalidOid /* ta.appointment_status */ , TIMESTAMPTZOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT8OID
};

static bool cache_valid = false;
static bool learning = false;	/* in learn(): any invalidation counts */
static bool invalidated = false;	/* one arrived during learn() */
static bool callbacks_registered = false;
static Oid	appointments_relid = InvalidOid;	/* the trigger's table the columns below are of */
static AttrNumber appointment_attnums[A_COLS];
static Oid	scheduled_oid = InvalidOid; /* ta.appointment_status 'scheduled' */
static Oid	outbox_seq = InvalidOid;
static text *warsaw = NULL;		/* ta.appointment_start's zone, in TopMemoryContext */

static void
forget_relation(Datum arg, Oid relid)
{
	if (learning)
		invalidated = true;
	if (relid == InvalidOid || relid == appointments_relid || relid == settings.relid ||
		relid == settings.pkey || relid == patients.relid || relid == patients.pkey || relid == outbox_seq)
		cache_valid = false;
}

static void
forget_enum(Datum arg, int cacheid, uint32 hashvalue)
{
	invalidated = true;
	cache_valid = false;
}

/* The column NAME of DESC, of type TYPE (any type when InvalidOid), or an error. */
static AttrNumber
column(Relation rel, const char *name, Oid type)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0 || (OidIsValid(type) && TupleDescAttr(desc, attnum - 1)->atttypid != type))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
						errmsg("ta.appointments_plan_reminders: %s has no column %s of the expected type",
							   RelationGetRelationName(rel), name)));
	return (AttrNumber) attnum;
}

static void
learn_table(Oid nsp, KeyedTable *t)
{
	Relation	rel;
	Relation	index;

	t->relid = get_relname_relid(t->name, nsp);
	if (!OidIsValid(t->relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("ta.appointments_plan_reminders: no table ta.%s", t->name)));
	rel = table_open(t->relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("ta.appointments_plan_reminders: ta.%s is not a table", t->name)));
	for (int i = 0; i < t->ncols; i++)
		t->attnums[i] = column(rel, t->cols[i], t->types[i]);
	t->pkey = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(t->pkey))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("ta.appointments_plan_reminders: ta.%s has no primary key", t->name)));
	/* the key must be one bigint column of a btree (scanned with int8eq below) */
	index = index_open(t->pkey, AccessShareLock);
	if (index->rd_rel->relam != BTREE_AM_OID || index->rd_index->indnkeyatts != 1 ||
		TupleDescAttr(RelationGetDescr(rel), index->rd_index->indkey.values[0] - 1)->atttypid != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
						errmsg("ta.appointments_plan_reminders: the primary key of ta.%s is not one bigint", t->name)));
	index_close(index, NoLock);
	table_close(rel, NoLock);
}

static void
learn(Relation appointments)
{
	Oid			nsp = get_namespace_oid("ta", false);
	HeapTuple	label;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(forget_relation, (Datum) 0);
		CacheRegisterSyscacheCallback(ENUMOID, forget_enum, (Datum) 0);
		callbacks_registered = true;
	}
	if (warsaw == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		warsaw = cstring_to_text("Europe/Warsaw");
		MemoryContextSwitchTo(old);
	}
	cache_valid = false;
	learning = true;
	invalidated = false;
	learn_table(nsp, &settings);
	learn_table(nsp, &patients);
	outbox_seq = get_relname_relid("outbox_id_seq", nsp);
	if (!OidIsValid(outbox_seq) || get_rel_relkind(outbox_seq) != RELKIND_SEQUENCE)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
						errmsg("ta.appointments_plan_reminders: no sequence ta.outbox_id_seq")));
	for (int i = 0; i < A_COLS; i++)
		appointment_attnums[i] = column(appointments, appointment_cols[i], appointment_types[i]);
	label = SearchSysCache2(ENUMTYPOIDNAME,
							ObjectIdGetDatum(TupleDescAttr(RelationGetDescr(appointments),
														   appointment_attnums[A_STATUS] - 1)->atttypid),
							CStringGetDatum("scheduled"));
	if (!HeapTupleIsValid(label))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
						errmsg("ta.appointments_plan_reminders: the status of ta.appointments has no label scheduled")));
	scheduled_oid = ((Form_pg_enum) GETSTRUCT(label))->oid;
	ReleaseSysCache(label);
	appointments_relid = RelationGetRelid(appointments);
	/* (the tables stay locked to the end of the transaction: what was found holds for this call) */
	learning = false;
	/* any invalidation while looking them up: look again next time */
	cache_valid = !invalidated;
}

/* The caller may read the columns, as SELECT would require (the table's or each column's privilege). */
static void
check_select(const KeyedTable *t)
{
	Oid			user = GetUserId();

	if (pg_class_aclcheck(t->relid, user, ACL_SELECT) == ACLCHECK_OK)
		return;
	for (int i = 0; i < t->ncols; i++)
		if (pg_attribute_aclcheck(t->relid, t->attnums[i], user, ACL_SELECT) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(t->relid));
}

/*
 * The row of T whose primary key is KEY, visible to the active snapshot: its wanted columns
 * into values/nulls (all of them passed by value); false when there is none.
 */
static bool
fetch(const KeyedTable *t, int64 key, Datum *values, bool *nulls)
{
	Relation	rel;
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData skey;
	bool		found;

	check_select(t);
	/* the locks a query takes, kept to the end of the transaction as a query's are */
	rel = table_open(t->relid, AccessShareLock);
	index = index_open(t->pkey, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	ScanKeyInit(&skey, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key));
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 1, 0);
	index_rescan(scan, &skey, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found)
		for (int i = 0; i < t->ncols; i++)
			values[i] = slot_getattr(slot, t->attnums[i], &nulls[i]);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return found;
}

/*
 * The lookups of the rule for the appointment's columns A: false when they plan nothing, else
 * the settings and the patient's columns and the channels wanted.
 */
static bool
plan(const Datum *a, const bool *a_null, Datum *s, bool *s_null, Datum *p, bool *p_null, bool *email, bool *sms)
{
	bool		email_on;
	bool		sms_on;

	/* ta.appointment_is_live false (archived, or a status other than scheduled) */
	if (!a_null[A_DELETED] || (!a_null[A_STATUS] && DatumGetObjectId(a[A_STATUS]) != scheduled_oid))
		return false;
	/* the practice's settings: none, or neither channel on (the default), plans nothing */
	if (!fetch(&settings, DatumGetInt64(a[A_PRACTICE]), s, s_null))
		return false;
	/* (the columns are NOT NULL; a NULL would be PL/pgSQL's "not true") */
	email_on = !s_null[1] && DatumGetBool(s[1]);
	sms_on = !s_null[2] && DatumGetBool(s[2]);
	if (!email_on && !sms_on)
		return false;
	/* the patient, not archived, of the same practice, and its consent to an enabled channel */
	if (a_null[A_PATIENT] || !fetch(&patients, DatumGetInt64(a[A_PATIENT]), p, p_null) ||
		p_null[0] || DatumGetInt64(p[0]) != DatumGetInt64(a[A_PRACTICE]) || !p_null[1])
		return false;
	*email = email_on && !p_null[2] && DatumGetBool(p[2]);
	*sms = sms_on && !p_null[3] && DatumGetBool(p[3]);
	return *email || *sms;
}

Datum
appointments_plan_reminders(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	row;
	TupleDesc	desc;
	Datum		a[A_COLS];
	bool		a_null[A_COLS];
	Datum		s[4];
	bool		s_null[4];
	Datum		p[4];
	bool		p_null[4];
	bool		email;
	bool		sms;
	bool		planned;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Datum		starts = (Datum) 0;
	bool		starts_null;
	TimestampTz send_at = now;
	int			ncols;
	int			cols[4];
	Datum		values[4];
	bool		nulls[4];

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) || !TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("ta.appointments_plan_reminders: only a BEFORE INSERT trigger FOR EACH ROW")));
	row = trigdata->tg_trigtuple;
	desc = RelationGetDescr(trigdata->tg_relation);
	if (!cache_valid || appointments_relid != RelationGetRelid(trigdata->tg_relation))
		learn(trigdata->tg_relation);
	for (int i = 0; i < A_COLS; i++)
		a[i] = heap_getattr(row, appointment_attnums[i], desc, &a_null[i]);

	if (a_null[A_PRACTICE])
		return PointerGetDatum(row);
	/*
	 * What a query of the PL/pgSQL version saw (SPI's snapshot): the effects of this very
	 * statement too (a patient inserted by a WITH of the INSERT), and under READ COMMITTED a new
	 * snapshot. One for both lookups.
	 */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	planned = plan(a, a_null, s, s_null, p, p_null, &email, &sms);
	PopActiveSnapshot();
	if (!planned)
		return PointerGetDatum(row);
	/* ta.appointment_start: (date + start_time) AT TIME ZONE 'Europe/Warsaw' */
	starts_null = a_null[A_DATE] || a_null[A_START];
	if (!starts_null)
	{
		starts = DirectFunctionCall2(timestamp_zone, PointerGetDatum(warsaw),
									 DirectFunctionCall2(datetime_timestamp, a[A_DATE], a[A_START]));
		if (timestamptz_cmp_internal(DatumGetTimestampTz(starts), now) <= 0)
			return PointerGetDatum(row);
	}
	/* ta.reminder_due: greatest(start - hours_before hours, now()); greatest skips a NULL */
	if (!starts_null && !s_null[3])
	{
		Interval	hours = {.time = (int64) DatumGetInt32(s[3]) * USECS_PER_HOUR, .day = 0, .month = 0};
		TimestampTz due = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_mi_interval, starts,
																  PointerGetDatum(&hours)));

		if (timestamptz_cmp_internal(due, now) > 0)
			send_at = due;
	}

	/* the columns PL/pgSQL assigned: the start, the due time, the id of each wanted channel */
	cols[0] = appointment_attnums[A_STARTS_AT];
	values[0] = starts;
	nulls[0] = starts_null;
	cols[1] = appointment_attnums[A_SEND_AT];
	values[1] = TimestampTzGetDatum(send_at);
	nulls[1] = false;
	ncols = 2;
	if (email)
	{
		cols[ncols] = appointment_attnums[A_EMAIL_ID];
		values[ncols] = Int64GetDatum(nextval_internal(outbox_seq, true));
		nulls[ncols++] = false;
	}
	if (sms)
	{
		cols[ncols] = appointment_attnums[A_SMS_ID];
		values[ncols] = Int64GetDatum(nextval_internal(outbox_seq, true));
		nulls[ncols++] = false;
	}
	return PointerGetDatum(heap_modify_tuple_by_cols(row, desc, ncols, cols, values, nulls));
}
