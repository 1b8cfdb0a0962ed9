/*
 * The audit queue: read-audit entries that committed without writing their row, in shared
 * memory, one ring per database, until that database's audit writer (audit_writer.c)
 * appends them to ta.audit_log. Exists only when the library is in
 * shared_preload_libraries; without it every function here answers "no queue".
 */
#ifndef AUDIT_QUEUE_H
#define AUDIT_QUEUE_H

#include "postgres.h"

#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

/* A serialised entry: this header, then route, client_addr (an inet varlena) and ids. */
typedef struct AuditEntryHeader
{
	uint32		len;			/* the whole entry, header included */
	int32		route_len;		/* -1: NULL */
	int32		addr_len;		/* -1: NULL */
	int32		npatients;
	int64		practice_id;
	int64		user_id;
	int64		at;				/* TimestampTz */
	int32		action;			/* AUDIT_READ or AUDIT_EXPORT */
	int32		pad;
} AuditEntryHeader;

#define AUDIT_READ 0
#define AUDIT_EXPORT 1
/* An entry larger than this (1,000 patient ids take 8 kB) is written synchronously. */
#define AUDIT_ENTRY_MAX 16384

/*
 * One database's queue. head, tail and reserved are byte counts since the slot was taken:
 * [tail, head) holds committed entries not yet written, reserved the bytes that open
 * transactions may still add, so head - tail + reserved never exceeds the ring's size.
 * All fields are protected by lock.
 */
typedef struct AuditQueue
{
	LWLock	   *lock;
	Oid			dboid;			/* InvalidOid: free */
	int			writer_pid;		/* 0: no writer attached */
	bool		accepting;		/* the writer takes new entries (not shutting down) */
	bool		urgent;			/* someone waits for the queue: write without delay */
	TimestampTz launched_at;	/* last launch request (0: none pending) */
	Latch	   *writer_latch;
	uint64		head;
	uint64		tail;
	uint64		reserved;
	ConditionVariable written;	/* broadcast whenever tail advances or the writer leaves */
	char	   *ring;			/* audit_queue_kb kilobytes */
} AuditQueue;

extern int	audit_queue_kb;
extern int	audit_queue_slots;

extern void audit_queue_request_shmem(void);
extern void audit_queue_init_shmem(void);

/* The queue of database dboid, or NULL (no shared memory, or no slot for it). */
extern AuditQueue *audit_queue_find(Oid dboid);
/* The queue of dboid, taking a free slot when it has none; NULL when all are taken. */
extern AuditQueue *audit_queue_acquire(Oid dboid);
/* Asks the postmaster for this queue's writer unless one runs or was asked for lately. */
extern void audit_queue_launch_writer(AuditQueue *q);

/* Copies len bytes into or out of the ring at byte position pos (wrapping). */
extern void audit_queue_put(AuditQueue *q, uint64 pos, const char *data, uint32 len);
extern void audit_queue_get(AuditQueue *q, uint64 pos, char *data, uint32 len);
extern uint64 audit_queue_size(void);

/* Waits until every entry committed to q before the call is written (interruptible). */
extern void audit_queue_wait_written(AuditQueue *q);
/* Frees q's slot when its queue is empty and nothing is reserved (its writer leaving). */
extern void audit_queue_release_if_empty(AuditQueue *q);

/*
 * The serialised entry at data as the arguments of ta.audit_append (practice bigint,
 * uid bigint, action text, route text, patient_ids bigint[], client_addr inet,
 * at timestamptz), allocated in the current memory context.
 */
extern void audit_entry_datums(const char *data, Datum *values, bool *nulls);

#endif
