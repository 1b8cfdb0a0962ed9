/*
 * The audit queue's shared memory: a fixed number of slots, one per database that defers
 * read-audit rows, each a byte ring with its lock and condition variable (audit_queue.h).
 * A slot is taken by the first backend of a database that finds none, and freed by its
 * writer when it leaves an empty queue behind.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "audit_queue.h"

/* 1 MB: at 32 clients 256 kB left 12-23 % of reads writing their own row, 1 MB 0-4 % (bench/README.md). */
int			audit_queue_kb = 1024;
int			audit_queue_slots = 4;

/* A launch that has not attached its writer after this long is asked for again. */
#define LAUNCH_RETRY_MS 2000

typedef struct AuditShared
{
	LWLock	   *slots_lock;		/* taking and freeing slots (dboid) */
	int			nslots;
	AuditQueue	slots[FLEXIBLE_ARRAY_MEMBER];
} AuditShared;

static AuditShared *shared = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

uint64
audit_queue_size(void)
{
	return (uint64) audit_queue_kb * 1024;
}

static Size
shared_size(void)
{
	Size		size = MAXALIGN(add_size(offsetof(AuditShared, slots),
										 mul_size(audit_queue_slots, sizeof(AuditQueue))));

	return add_size(size, mul_size(audit_queue_slots, audit_queue_size()));
}

static void
startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("therapyassistance audit queue", shared_size(), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("therapyassistance_audit");
		char	   *rings = (char *) shared + MAXALIGN(offsetof(AuditShared, slots) +
													   audit_queue_slots * sizeof(AuditQueue));

		memset(shared, 0, offsetof(AuditShared, slots) + audit_queue_slots * sizeof(AuditQueue));
		shared->slots_lock = &locks[0].lock;
		shared->nslots = audit_queue_slots;
		for (int i = 0; i < audit_queue_slots; i++)
		{
			AuditQueue *q = &shared->slots[i];

			q->lock = &locks[i + 1].lock;
			q->dboid = InvalidOid;
			ConditionVariableInit(&q->written);
			q->ring = rings + (Size) i * audit_queue_size();
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/* From the shmem_request_hook (PostgreSQL 15): only while shared_preload_libraries load. */
void
audit_queue_request_shmem(void)
{
	RequestAddinShmemSpace(shared_size());
	RequestNamedLWLockTranche("therapyassistance_audit", audit_queue_slots + 1);
}

void
audit_queue_init_shmem(void)
{
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = startup;
}

AuditQueue *
audit_queue_find(Oid dboid)
{
	AuditQueue *found = NULL;

	if (shared == NULL)
		return NULL;
	LWLockAcquire(shared->slots_lock, LW_SHARED);
	for (int i = 0; i < shared->nslots && found == NULL; i++)
		if (shared->slots[i].dboid == dboid)
			found = &shared->slots[i];
	LWLockRelease(shared->slots_lock);
	return found;
}

AuditQueue *
audit_queue_acquire(Oid dboid)
{
	AuditQueue *q = audit_queue_find(dboid);

	if (q != NULL || shared == NULL)
		return q;
	LWLockAcquire(shared->slots_lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->nslots && q == NULL; i++)
		if (shared->slots[i].dboid == dboid)
			q = &shared->slots[i];
	for (int i = 0; i < shared->nslots && q == NULL; i++)
	{
		AuditQueue *free_slot = &shared->slots[i];

		if (free_slot->dboid != InvalidOid)
			continue;
		LWLockAcquire(free_slot->lock, LW_EXCLUSIVE);
		free_slot->dboid = dboid;
		free_slot->head = free_slot->tail = free_slot->reserved = 0;
		free_slot->writer_pid = 0;
		free_slot->accepting = false;
		free_slot->launched_at = 0;
		LWLockRelease(free_slot->lock);
		q = free_slot;
	}
	LWLockRelease(shared->slots_lock);
	return q;
}

void
audit_queue_launch_writer(AuditQueue *q)
{
	BackgroundWorker worker;
	TimestampTz now = GetCurrentTimestamp();
	bool		launch;

	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	launch = q->writer_pid == 0 &&
		(q->launched_at == 0 || TimestampDifferenceExceeds(q->launched_at, now, LAUNCH_RETRY_MS));
	if (launch)
		q->launched_at = now;
	LWLockRelease(q->lock);
	if (!launch)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "therapyassistance", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "audit_writer_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "therapyassistance audit writer for database %u", q->dboid);
	strlcpy(worker.bgw_type, "therapyassistance audit writer", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(q->dboid);
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, NULL))
	{
		/* No worker slot free (max_worker_processes): the next caller tries again. */
		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		q->launched_at = 0;
		LWLockRelease(q->lock);
	}
}

void
audit_queue_put(AuditQueue *q, uint64 pos, const char *data, uint32 len)
{
	uint64		size = audit_queue_size();
	uint64		off = pos % size;
	uint64		first = Min((uint64) len, size - off);

	memcpy(q->ring + off, data, first);
	if (first < len)
		memcpy(q->ring, data + first, len - first);
}

void
audit_queue_get(AuditQueue *q, uint64 pos, char *data, uint32 len)
{
	uint64		size = audit_queue_size();
	uint64		off = pos % size;
	uint64		first = Min((uint64) len, size - off);

	memcpy(data, q->ring + off, first);
	if (first < len)
		memcpy(data + first, q->ring, len - first);
}

void
audit_queue_wait_written(AuditQueue *q)
{
	uint64		target;
	bool		done;

	LWLockAcquire(q->lock, LW_SHARED);
	target = q->head;
	done = q->tail >= target || q->dboid != MyDatabaseId;
	LWLockRelease(q->lock);
	if (done)
		return;

	ConditionVariablePrepareToSleep(&q->written);
	for (;;)
	{
		Latch	   *latch = NULL;
		bool		no_writer;

		LWLockAcquire(q->lock, LW_EXCLUSIVE);
		done = q->tail >= target || q->dboid != MyDatabaseId;
		q->urgent = true;
		no_writer = q->writer_pid == 0;
		if (!no_writer)
			latch = q->writer_latch;
		LWLockRelease(q->lock);
		if (done)
			break;
		if (no_writer)
			audit_queue_launch_writer(q);
		else
			SetLatch(latch);
		/* Wakes on every batch; the timeout only bounds how soon a lost writer is relaunched. */
		(void) ConditionVariableTimedSleep(&q->written, 100, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
}

void
audit_queue_release_if_empty(AuditQueue *q)
{
	LWLockAcquire(shared->slots_lock, LW_EXCLUSIVE);
	LWLockAcquire(q->lock, LW_EXCLUSIVE);
	if (q->head == q->tail && q->reserved == 0 && q->writer_pid == 0)
		q->dboid = InvalidOid;
	LWLockRelease(q->lock);
	LWLockRelease(shared->slots_lock);
}

void
audit_entry_datums(const char *data, Datum *values, bool *nulls)
{
	AuditEntryHeader h;
	const char *p = data + sizeof(h);
	Datum	   *ids;

	memcpy(&h, data, sizeof(h));
	values[0] = Int64GetDatum(h.practice_id);
	values[1] = Int64GetDatum(h.user_id);
	values[2] = CStringGetTextDatum(h.action == AUDIT_EXPORT ? "export" : "read");
	nulls[3] = h.route_len < 0;
	values[3] = nulls[3] ? (Datum) 0 : PointerGetDatum(cstring_to_text_with_len(p, h.route_len));
	p += Max(h.route_len, 0);
	nulls[5] = h.addr_len < 0;
	if (!nulls[5])
	{
		char	   *addr = palloc(h.addr_len);

		memcpy(addr, p, h.addr_len);
		values[5] = PointerGetDatum(addr);
	}
	else
		values[5] = (Datum) 0;
	p += Max(h.addr_len, 0);
	ids = palloc(sizeof(Datum) * Max(h.npatients, 1));
	for (int i = 0; i < h.npatients; i++)
	{
		int64		id;

		memcpy(&id, p + (Size) i * sizeof(int64), sizeof(int64));
		ids[i] = Int64GetDatum(id);
	}
	values[4] = PointerGetDatum(construct_array(ids, h.npatients, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	nulls[0] = nulls[1] = nulls[2] = nulls[4] = false;
	values[6] = TimestampTzGetDatum(h.at);
	nulls[6] = false;
}
