/*
 * The one PG_MODULE_MAGIC of therapyassistance.so and its settings; the functions live in
 * one file per concern. Loaded through shared_preload_libraries, the library also sets up
 * the audit queue (audit_queue.c) that takes read-audit rows off the reads' transactions;
 * loaded on first use instead, every row is written by its own call, as in the plain-SQL
 * install.
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "audit_queue.h"
#include "audit_writer.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;

/*
 * therapyassistance.malloc_retain: how much freed memory a backend keeps for its next request
 * instead of handing it back to the kernel. glibc's defaults return a large allocation (the
 * calendar feed of a busy year is ~450 kB, and PostgreSQL copies it a few times on its way
 * out) to the kernel at once, so the next request faults every page in again; on the
 * development VM a fresh page costs ~25 us, and those faults were most of the feed's time
 * (bench/REPORT.md). Set once per process: in the postmaster when preloaded (the backends
 * inherit it), else in the backend that loads the library. 0 leaves glibc's defaults.
 */
static int	malloc_retain_kb = 8192;

static void
apply_malloc_retain(void)
{
#ifdef __GLIBC__
	if (malloc_retain_kb > 0)
	{
		/* allocations under half of it come from the heap; a free top beyond it is trimmed */
		mallopt(M_MMAP_THRESHOLD, malloc_retain_kb / 2 * 1024);
		mallopt(M_TRIM_THRESHOLD, malloc_retain_kb * 1024);
	}
#endif
}

static void
request_shmem(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	audit_queue_request_shmem();
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("therapyassistance.audit_defer",
							 "Queue the audit rows of reads for the audit writer instead of writing them in the read's transaction.",
							 "Only with shared_preload_libraries = 'therapyassistance'; off: every read writes its own row.",
							 &audit_defer_enabled, false, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.audit_batch_delay",
							"How long the audit writer gathers queued rows before it writes a batch.",
							NULL, &audit_batch_delay_ms, 5, 0, 1000, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.audit_batch_rows",
							"The most audit rows the audit writer appends in one transaction.",
							NULL, &audit_batch_rows, 200, 1, 100000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.audit_writer_idle",
							"How long an audit writer waits on an empty queue before it leaves its database.",
							NULL, &audit_writer_idle_ms, 2000, 10, 3600000, PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.audit_queue_size",
							"Shared memory for queued audit rows, per database.",
							"A batch leaves the queue only when it commits: keep audit_batch_rows entries well under it.",
							&audit_queue_kb, 1024, 64, 1048576, PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.audit_queue_databases",
							"How many databases can queue audit rows at the same time.",
							NULL, &audit_queue_slots, 4, 1, 64, PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("therapyassistance.malloc_retain",
							"Freed memory a backend keeps for its next request instead of returning it to the kernel.",
							"Allocations under half of it come from the heap. 0: glibc's defaults.",
							&malloc_retain_kb, 8192, 0, 65536, PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	MarkGUCPrefixReserved("therapyassistance");
	apply_malloc_retain();

	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = request_shmem;
	audit_queue_init_shmem();
}
