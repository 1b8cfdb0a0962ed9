/*
 * Deferred read-audit rows, the backend's side: ta.audit_defer keeps a read's entry in the
 * transaction (with queue space reserved) and the commit hands it to the database's queue
 * (audit_queue.h); an abort, of the transaction or of the subtransaction that made it,
 * drops it, as it would have rolled its row back. ta.audit_take_pending gives a transaction
 * that turns out to write its own deferred entries to append first; ta.audit_flush waits
 * for the queue before the trail is read.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/inet.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "audit_queue.h"
#include "audit_writer.h"

PG_FUNCTION_INFO_V1(audit_defer);
PG_FUNCTION_INFO_V1(audit_take_pending);
PG_FUNCTION_INFO_V1(audit_flush);

/* Off by default: bench/REPORT.md, issue 18 (on 2 loaded cores it gains at 8 clients, not at 32). */
bool		audit_defer_enabled = false;

/* An entry of this transaction; data is the serialised entry, in TopMemoryContext. */
typedef struct PendingEntry
{
	char	   *data;
	SubTransactionId subid;		/* made in this subtransaction */
	SubTransactionId taken_in;	/* appended by the transaction itself in this one; 0: not */
} PendingEntry;

static PendingEntry *pending = NULL;
static int	npending = 0;
static int	pending_cap = 0;
static AuditQueue *pending_queue = NULL;	/* where the reservations were made */
static bool callbacks_registered = false;
/* This transaction appended synchronously and may hold its practice's chains: never wait. */
static bool appended_this_xact = false;

static uint32
entry_len(const char *data)
{
	return ((const AuditEntryHeader *) data)->len;
}

static void
forget_pending(void)
{
	for (int i = 0; i < npending; i++)
		pfree(pending[i].data);
	npending = 0;
	pending_queue = NULL;
}

/* At commit: untaken entries into the ring (their space is reserved), every reservation released. */
static void
publish_pending(void)
{
	AuditQueue *q = pending_queue;
	Latch	   *wake = NULL;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	for (int i = 0; i < npending; i++)
	{
		uint32		len = entry_len(pending[i].data);

		q->reserved -= len;
		if (pending[i].taken_in != InvalidSubTransactionId)
			continue;
		if (q->head == q->tail && q->writer_pid != 0)
			wake = q->writer_latch;
		audit_queue_put(q, q->head, pending[i].data, len);
		q->head += len;
	}
	LWLockRelease(q->lock);
	if (wake)
		SetLatch(wake);
}

static void
release_pending(void)
{
	AuditQueue *q = pending_queue;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	for (int i = 0; i < npending; i++)
		q->reserved -= entry_len(pending[i].data);
	LWLockRelease(q->lock);
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (npending > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction with deferred audit entries")));
			break;
		case XACT_EVENT_COMMIT:
			if (npending > 0)
				publish_pending();
			forget_pending();
			appended_this_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			if (npending > 0)
				release_pending();
			forget_pending();
			appended_this_xact = false;
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	int			kept = 0;

	if (npending == 0)
		return;
	for (int i = 0; i < npending; i++)
	{
		PendingEntry *e = &pending[i];

		if (event == SUBXACT_EVENT_ABORT_SUB && e->subid == mySubid)
		{
			/* The read is rolled back: so is its entry. */
			LWLockAcquire(pending_queue->lock, LW_EXCLUSIVE);
			pending_queue->reserved -= entry_len(e->data);
			LWLockRelease(pending_queue->lock);
			pfree(e->data);
			continue;
		}
		if (event == SUBXACT_EVENT_ABORT_SUB && e->taken_in == mySubid)
			e->taken_in = InvalidSubTransactionId;	/* its row was rolled back: pending again */
		if (event == SUBXACT_EVENT_COMMIT_SUB)
		{
			if (e->subid == mySubid)
				e->subid = parentSubid;
			if (e->taken_in == mySubid)
				e->taken_in = parentSubid;
		}
		pending[kept++] = *e;
	}
	npending = kept;
}

/* The end of the transaction resets what it deferred and whether it appended. */
static void
ensure_callbacks(void)
{
	if (callbacks_registered)
		return;
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
	callbacks_registered = true;
}

/*
 * Serialises the call's entry into TopMemoryContext; NULL when it cannot be deferred
 * (too large, or ids that are not a plain list).
 */
static char *
serialise(FunctionCallInfo fcinfo)
{
	AuditEntryHeader h;
	text	   *route = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	ArrayType  *ids = PG_GETARG_ARRAYTYPE_P(4);
	inet	   *addr = PG_ARGISNULL(5) ? NULL : PG_GETARG_INET_P(5);
	char	   *action = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int			nids = ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids));
	Size		len;
	char	   *data;
	char	   *p;

	if (ARR_NDIM(ids) > 1 || ARR_HASNULL(ids) || ARR_ELEMTYPE(ids) != INT8OID ||
		(ARR_NDIM(ids) == 1 && ARR_LBOUND(ids)[0] != 1))
		return NULL;
	memset(&h, 0, sizeof(h));
	if (strcmp(action, "read") == 0)
		h.action = AUDIT_READ;
	else if (strcmp(action, "export") == 0)
		h.action = AUDIT_EXPORT;
	else
		return NULL;
	h.practice_id = PG_GETARG_INT64(0);
	h.user_id = PG_GETARG_INT64(1);
	h.at = PG_GETARG_TIMESTAMPTZ(6);
	h.route_len = route ? VARSIZE_ANY_EXHDR(route) : -1;
	h.addr_len = addr ? VARSIZE(addr) : -1;
	h.npatients = nids;
	len = sizeof(h) + Max(h.route_len, 0) + Max(h.addr_len, 0) + (Size) nids * sizeof(int64);
	if (len > AUDIT_ENTRY_MAX)
		return NULL;
	h.len = (uint32) len;

	data = MemoryContextAlloc(TopMemoryContext, len);
	p = data;
	memcpy(p, &h, sizeof(h));
	p += sizeof(h);
	if (route)
		memcpy(p, VARDATA_ANY(route), h.route_len);
	p += Max(h.route_len, 0);
	if (addr)
		memcpy(p, addr, h.addr_len);
	p += Max(h.addr_len, 0);
	if (nids > 0)
		memcpy(p, ARR_DATA_PTR(ids), (Size) nids * sizeof(int64));
	return data;
}

/* Reserves len bytes of q for this transaction; false when the writer is away or q is full. */
static bool
reserve(AuditQueue *q, uint32 len)
{
	bool		ok;
	bool		no_writer;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	no_writer = q->writer_pid == 0;
	ok = !no_writer && q->accepting && q->dboid == MyDatabaseId &&
		q->head - q->tail + q->reserved + len <= audit_queue_size();
	if (ok)
		q->reserved += len;
	LWLockRelease(q->lock);
	if (no_writer && q->dboid == MyDatabaseId)
		audit_queue_launch_writer(q);
	return ok;
}

/*
 * SQL function: ta.audit_defer(practice bigint, uid bigint, action text, route text,
 * patient_ids bigint[], client_addr inet, at timestamptz) returns boolean
 *
 * true: the entry is the transaction's, queued when it commits. false: write the row now
 * (no queue, no writer yet, queue full, a transaction block or one that wrote already).
 */
Datum
audit_defer(PG_FUNCTION_ARGS)
{
	AuditQueue *q;
	char	   *data;

	if (!audit_defer_enabled || am_audit_writer || IsTransactionBlock() ||
		GetTopTransactionIdIfAny() != InvalidTransactionId || appended_this_xact ||
		PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(4) || PG_ARGISNULL(6))
		PG_RETURN_BOOL(false);
	q = audit_queue_acquire(MyDatabaseId);
	if (q == NULL || (pending_queue != NULL && pending_queue != q))
		PG_RETURN_BOOL(false);
	data = serialise(fcinfo);
	if (data == NULL)
		PG_RETURN_BOOL(false);
	if (!reserve(q, entry_len(data)))
	{
		pfree(data);
		PG_RETURN_BOOL(false);	/* back-pressure: the read writes its own row */
	}
	ensure_callbacks();
	if (npending == pending_cap)
	{
		pending_cap = pending_cap ? pending_cap * 2 : 8;
		pending = pending ? repalloc(pending, pending_cap * sizeof(PendingEntry))
			: MemoryContextAlloc(TopMemoryContext, pending_cap * sizeof(PendingEntry));
	}
	pending[npending].data = data;
	pending[npending].subid = GetCurrentSubTransactionId();
	pending[npending].taken_in = InvalidSubTransactionId;
	npending++;
	pending_queue = q;

	PG_RETURN_BOOL(true);
}

/*
 * SQL function: ta.audit_take_pending(practice bigint) returns table (practice_id bigint,
 * user_id bigint, action text, route text, patient_ids bigint[], client_addr inet,
 * at timestamptz)
 *
 * This transaction's deferred entries of the practice, oldest first, for it to append
 * before its own row; they are then no longer queued at commit (unless the
 * subtransaction that appends them aborts).
 */
Datum
audit_take_pending(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		practice = PG_GETARG_INT64(0);

	InitMaterializedSRF(fcinfo, 0);
	ensure_callbacks();
	appended_this_xact = true;
	for (int i = 0; i < npending; i++)
	{
		const char *p = pending[i].data;
		AuditEntryHeader h;
		Datum		values[7];
		bool		nulls[7] = {false};

		memcpy(&h, p, sizeof(h));
		if (pending[i].taken_in != InvalidSubTransactionId || h.practice_id != practice)
			continue;
		audit_entry_datums(p, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pending[i].taken_in = GetCurrentSubTransactionId();
	}
	return (Datum) 0;
}

/*
 * SQL function: ta.audit_flush() returns void
 *
 * Waits until every entry queued in this database before the call is in ta.audit_log
 * (committed), so the caller reads a complete trail. A transaction that has appended a
 * row itself does not wait: it may hold its practice's turn, which the writer needs.
 */
Datum
audit_flush(PG_FUNCTION_ARGS)
{
	AuditQueue *q;

	if (am_audit_writer || appended_this_xact)
		PG_RETURN_VOID();
	q = audit_queue_find(MyDatabaseId);
	if (q != NULL)
		audit_queue_wait_written(q);
	PG_RETURN_VOID();
}
