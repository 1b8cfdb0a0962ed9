/*
 * The audit writer of one database: a dynamic background worker, started by the first
 * backend that finds its database's queue without one, that appends the queued entries
 * to ta.audit_log in batches of one transaction and one call of ta.audit_append_batch each
 * (which chains the rows as ta.audit_append, the function of every synchronous row, would:
 * one chain lock, one predecessor lookup and one INSERT per practice and batch). It leaves
 * when the queue has been empty for audit_writer_idle ms (so it does not keep the database
 * busy for DROP or RENAME), and on SIGTERM it stops taking entries, writes what is queued
 * and leaves.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "audit_queue.h"
#include "audit_writer.h"

bool		am_audit_writer = false;
int			audit_batch_delay_ms = 5;
int			audit_batch_rows = 200;
int			audit_writer_idle_ms = 2000;

/* On SIGTERM, entries reserved by open transactions are waited for this long at most. */
#define SHUTDOWN_WAIT_MS 5000

static volatile sig_atomic_t got_sigterm = false;
static SPIPlanPtr append_plan = NULL;
static Oid	owner = InvalidOid;

static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
detach(int code, Datum arg)
{
	AuditQueue *q = (AuditQueue *) DatumGetPointer(arg);

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	q->writer_pid = 0;
	q->writer_latch = NULL;
	q->accepting = false;
	LWLockRelease(q->lock);
	audit_queue_release_if_empty(q);
	ConditionVariableBroadcast(&q->written);
}

/* Becomes q's writer; false when another one already is. */
static bool
attach(AuditQueue *q)
{
	bool		ok;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	ok = q->writer_pid == 0 && q->dboid == MyDatabaseId;
	if (ok)
	{
		q->writer_pid = MyProcPid;
		q->writer_latch = MyLatch;
		q->accepting = true;
		q->launched_at = GetCurrentTimestamp();
	}
	LWLockRelease(q->lock);
	if (ok)
		before_shmem_exit(detach, PointerGetDatum(q));
	return ok;
}

/*
 * What the batches need, looked up once per process. A database still on a schema without
 * ta.audit_append_batch (1.1 and older, before ALTER EXTENSION ... UPDATE) gets its entries
 * appended one ta.audit_append at a time, as those versions' writer did.
 */
static SPIPlanPtr row_plan = NULL;	/* the old schemas' ta.audit_append */
static Oid	entry_type = InvalidOid;	/* ta.audit_entry */
static TupleDesc entry_desc = NULL;
static Datum action_datum[2];	/* AUDIT_READ, AUDIT_EXPORT as ta.audit_action */

static Datum
first_row_value(int col)
{
	bool		isnull;

	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);
}

/* The extension's owner (who owns ta.audit_log), the entry type and the prepared append. */
static void
prepare_append(void)
{
	static Oid	row_argtypes[7] = {INT8OID, INT8OID, TEXTOID, TEXTOID, INT8ARRAYOID, INETOID, TIMESTAMPTZOID};
	Oid			argtype;
	MemoryContext old;

	if (append_plan != NULL || row_plan != NULL)
		return;
	if (SPI_execute("SELECT e.extowner, pg_catalog.to_regtype('ta.audit_entry') IS NOT NULL"
					"  FROM pg_catalog.pg_extension e WHERE e.extname = 'therapyassistance'",
					true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("therapyassistance audit writer: the extension is not installed in this database")));
	owner = DatumGetObjectId(first_row_value(1));
	if (!DatumGetBool(first_row_value(2)))
	{
		row_plan = SPI_prepare("SELECT ta.audit_append($1, $2, $3, $4, $5, $6, $7)", 7, row_argtypes);
		if (row_plan == NULL)
			elog(ERROR, "therapyassistance audit writer: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(row_plan);
		return;
	}
	if (SPI_execute("SELECT 'ta.audit_entry'::pg_catalog.regtype::pg_catalog.oid,"
					" 'read'::ta.audit_action, 'export'::ta.audit_action", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "therapyassistance audit writer: ta.audit_entry not found");
	entry_type = DatumGetObjectId(first_row_value(1));
	/* Enum values are oids, passed by value. */
	action_datum[AUDIT_READ] = first_row_value(2);
	action_datum[AUDIT_EXPORT] = first_row_value(3);
	old = MemoryContextSwitchTo(TopMemoryContext);
	entry_desc = lookup_rowtype_tupdesc_copy(entry_type, -1);
	MemoryContextSwitchTo(old);
	if (entry_desc->natts != 7)
		elog(ERROR, "therapyassistance audit writer: ta.audit_entry has %d fields, not 7", entry_desc->natts);
	argtype = get_array_type(entry_type);
	append_plan = SPI_prepare("SELECT ta.audit_append_batch($1)", 1, &argtype);
	if (append_plan == NULL)
		elog(ERROR, "therapyassistance audit writer: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(append_plan);
}

/* The queued entry at pos (len bytes): its header, and its fields as ta.audit_append's arguments. */
static void
read_entry(AuditQueue *q, uint64 pos, uint32 len, AuditEntryHeader *h, Datum *values, bool *nulls)
{
	char	   *data = palloc(len);

	audit_queue_get(q, pos, data, len);
	memcpy(h, data, sizeof(*h));
	audit_entry_datums(data, values, nulls);
}

/* The queued entry at pos as a ta.audit_entry datum, in the current memory context. */
static Datum
entry_datum(AuditQueue *q, uint64 pos, uint32 len)
{
	AuditEntryHeader h;
	Datum		values[7];
	bool		nulls[7];

	read_entry(q, pos, len, &h, values, nulls);
	values[2] = action_datum[h.action == AUDIT_EXPORT ? AUDIT_EXPORT : AUDIT_READ];
	return heap_copy_tuple_as_datum(heap_form_tuple(entry_desc, values, nulls), entry_desc);
}

/* The old schemas' way: the queued entry at pos through ta.audit_append, in its practice's context. */
static void
append_row(AuditQueue *q, uint64 pos, uint32 len)
{
	AuditEntryHeader h;
	char		claims[64];
	Datum		values[7];
	bool		nulls[7];
	char		nullflags[7];

	read_entry(q, pos, len, &h, values, nulls);
	for (int i = 0; i < 7; i++)
		nullflags[i] = nulls[i] ? 'n' : ' ';
	snprintf(claims, sizeof(claims), "{\"pid\": " INT64_FORMAT "}", h.practice_id);
	(void) set_config_option("request.jwt.claims", claims, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
	if (SPI_execute_plan(row_plan, values, nullflags, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "therapyassistance audit writer: ta.audit_append failed");
}

/*
 * Appends the entries of [tail, head) (at most audit_batch_rows) in one transaction, as the
 * extension's owner, with one call of ta.audit_append_batch (which sets each practice's
 * context itself, as row-level security requires), then moves the tail past them. Returns how
 * many it wrote.
 */
static int
write_batch(AuditQueue *q, MemoryContext batch_cxt)
{
	uint64		head;
	uint64		pos;
	int			n = 0;
	Oid			save_uid;
	int			save_sec;
	MemoryContext old;
	Datum	   *entries;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	head = q->head;
	pos = q->tail;
	q->urgent = false;
	LWLockRelease(q->lock);
	if (pos == head)
		return 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "therapyassistance: writing queued audit rows");
	prepare_append();
	GetUserIdAndSecContext(&save_uid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	old = MemoryContextSwitchTo(batch_cxt);
	entries = palloc(sizeof(Datum) * audit_batch_rows);
	while (pos < head && n < audit_batch_rows)
	{
		AuditEntryHeader h;

		audit_queue_get(q, pos, (char *) &h, sizeof(h));
		if (row_plan != NULL)
			append_row(q, pos, h.len);
		else
			entries[n] = entry_datum(q, pos, h.len);
		pos += h.len;
		n++;
	}
	if (row_plan == NULL)
	{
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum		arg;

		get_typlenbyvalalign(entry_type, &typlen, &typbyval, &typalign);
		arg = PointerGetDatum(construct_array(entries, n, entry_type, typlen, typbyval, typalign));
		if (SPI_execute_plan(append_plan, &arg, " ", false, 0) != SPI_OK_SELECT)
			elog(ERROR, "therapyassistance audit writer: ta.audit_append_batch failed");
	}
	MemoryContextSwitchTo(old);
	SetUserIdAndSecContext(save_uid, save_sec);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextReset(batch_cxt);
	pgstat_report_activity(STATE_IDLE, NULL);

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	q->tail = pos;
	LWLockRelease(q->lock);
	ConditionVariableBroadcast(&q->written);
	return n;
}

/* Leaves an empty queue: false when entries arrived or are reserved meanwhile. */
static bool
try_leave(AuditQueue *q)
{
	bool		empty;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	empty = q->head == q->tail && q->reserved == 0;
	if (empty)
		q->accepting = false;
	LWLockRelease(q->lock);
	return empty;
}

void
audit_writer_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	AuditQueue *q;
	MemoryContext batch_cxt;
	TimestampTz stop_at = 0;
	bool		full = false;

	pqsignal(SIGTERM, handle_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	am_audit_writer = true;
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	q = audit_queue_find(dboid);
	if (q == NULL || !attach(q))
		proc_exit(0);
	/* Read rows commit as they did in the reads' own transactions: without waiting for the flush. */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	batch_cxt = AllocSetContextCreate(TopMemoryContext, "audit writer batch", ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		uint64		avail;
		uint64		reserved;
		bool		urgent;

		ResetLatch(MyLatch);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (got_sigterm && stop_at == 0)
		{
			LWLockAcquire(q->lock, LW_EXCLUSIVE);
			q->accepting = false;
			LWLockRelease(q->lock);
			stop_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SHUTDOWN_WAIT_MS);
		}
		LWLockAcquire(q->lock, LW_SHARED);
		avail = q->head - q->tail;
		reserved = q->reserved;
		urgent = q->urgent;
		LWLockRelease(q->lock);

		if (avail == 0)
		{
			int			rc;

			if (stop_at != 0 && (reserved == 0 || GetCurrentTimestamp() >= stop_at))
				break;
			rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						   stop_at != 0 ? 10 : audit_writer_idle_ms, PG_WAIT_EXTENSION);
			if ((rc & WL_TIMEOUT) && stop_at == 0 && try_leave(q))
				break;
			continue;
		}
		/* Gather a batch for a few milliseconds unless someone waits or the last one was full. */
		if (!urgent && !full && stop_at == 0)
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 audit_batch_delay_ms, PG_WAIT_EXTENSION);
		full = write_batch(q, batch_cxt) >= audit_batch_rows;
	}
	if (q->head != q->tail || q->reserved != 0)
		ereport(LOG,
				(errmsg("therapyassistance audit writer: leaving with entries still reserved by open transactions")));
	proc_exit(0);
}
