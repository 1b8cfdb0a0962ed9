-- Issue 14, parity with the original SPA: payment_date is an instant, a paid appointment can be
-- deleted (its payment keeps the amount and records it), and archiving a patient takes their
-- appointments, notes and payments along, which POST /patients/{id}/restore brings back.

-- payment_date becomes a timestamp: these read its input and draw the Europe/Warsaw days of
-- the date filters; field_day (the date part only) has no caller left.
DROP FUNCTION ta.field_day(json, text);

-- @function ta.warsaw_instant
-- @function ta.field_timestamp

-- The original SPA sends and shows the time of a payment. A 1.0 row keeps its day: its date
-- becomes 00:00 Europe/Warsaw that day, whatever the session's TimeZone.
ALTER TABLE ta.payments ALTER COLUMN payment_date TYPE timestamptz
    USING payment_date::timestamp AT TIME ZONE 'Europe/Warsaw';
ALTER TABLE ta.payments ALTER COLUMN payment_date SET DEFAULT now();

-- Rows archived together with their patient, so that a restore brings back exactly those.
ALTER TABLE ta.session_notes ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.session_notes ADD CONSTRAINT session_notes_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);
-- A paid appointment may now be deleted: its payment records which ones it lost.
ALTER TABLE ta.payments ADD COLUMN deleted_appointment_ids bigint[];
ALTER TABLE ta.payments ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.payments ADD CONSTRAINT payments_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);
ALTER TABLE ta.appointments ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.appointments ADD CONSTRAINT appointments_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);

-- 1.0 archived a patient's appointments and notes in the patient's own statement (same time,
-- same user): mark those, so restoring such a patient brings them back too. Their payments
-- 1.0 left live, and they stay so (no one's accounts change by upgrading). (The plain-SQL
-- upgrade lifts FORCE ROW LEVEL SECURITY for its transaction, so these reach every practice.)
UPDATE ta.appointments a SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = a.patient_id AND p.deleted_at IS NOT NULL
   AND a.deleted_at = p.deleted_at AND a.deleted_by IS NOT DISTINCT FROM p.deleted_by;
UPDATE ta.session_notes n SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = n.patient_id AND p.deleted_at IS NOT NULL
   AND n.deleted_at = p.deleted_at AND n.deleted_by IS NOT DISTINCT FROM p.deleted_by;

-- payment_date: read as an instant; date filters and statistics count Europe/Warsaw days.
-- @function api.create_payment
-- @function api.list_payments
-- @function api.update_payment
-- @function api.payment_statistics
-- Editing a paid appointment in the original SPA sends is_paid: false (its form has no such
-- field): 1.0 refused that edit with 400; now false changes nothing.
-- @function ta.check_is_paid
-- A paid appointment is deleted out of its payment instead of refusing (400 in 1.0).
-- @function api.delete_appointment
-- Archiving a patient takes their payments too, and marks what it archived for the restore.
-- @function api.delete_patient
-- New: POST /patients/{id}/restore.
-- @function api.restore_patient
