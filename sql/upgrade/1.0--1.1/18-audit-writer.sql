-- Issue 18, the audit trail off the reads' transactions. Every change below says why.

-- The audit queue: in the C install (with shared_preload_libraries) a read's row can be queued
-- in shared memory and written by a background worker; the plain-SQL install's twins never defer.
-- @function ta.audit_defer
-- @function ta.audit_take_pending
-- @function ta.audit_flush

-- Before the trail is read or appended to, the queued rows are written and the transaction's
-- own deferred rows appended first: everyone sees their own reads, ids keep the calls' order.
-- @function ta.audit_settle

-- The synchronous row of before, now a function of its own (after the settle).
-- @function ta.audit_write

-- Reads and exports defer their rows when they can.
-- @function ta.audit

-- Reading the trail waits for the queue.
-- @function api.list_audit
-- @function api.export_patient
-- @function api.verify_audit

-- The replica's read row stays in its own call's transaction: the proxy waits for it anyway.
-- @function api.record_read

-- Lean api functions. The query parameters of every GET (and every body) skip the NUL regular expression unless they hold \u0000.
-- @function ta.require_object
