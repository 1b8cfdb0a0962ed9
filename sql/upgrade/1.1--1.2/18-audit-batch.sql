-- Issue 18, the audit writer's batches: the C install's writer appends a batch of queued read rows with one
-- call instead of one ta.audit_append per row (bench/README.md, "The audit writer's batches").

-- The queued entry as the writer hands it over (a row without id, chain and hash).
CREATE TYPE ta.audit_entry AS (practice_id bigint, user_id bigint, action ta.audit_action, route text,
                               patient_ids bigint[], client_addr inet, at timestamptz);
COMMENT ON TYPE ta.audit_entry IS 'A queued audit row for ta.audit_append_batch (no id, chain or hash yet).';
-- One chain lock, one predecessor lookup and one INSERT per practice and batch, chained as ta.audit_append does.
-- @function ta.audit_append_batch
-- Its comment no longer calls it the only way rows are written.
-- @function ta.audit_append
