/* The audit writer: the background worker that appends one database's queued entries. */
#ifndef AUDIT_WRITER_H
#define AUDIT_WRITER_H

#include "postgres.h"

#include "fmgr.h"

extern bool am_audit_writer;
extern bool audit_defer_enabled;
extern int	audit_batch_delay_ms;
extern int	audit_batch_rows;
extern int	audit_writer_idle_ms;

extern PGDLLEXPORT void audit_writer_main(Datum main_arg);

#endif
