-- Issue 17 (the outbox's cost on POST /appointments): a new appointment's reminders wait on its own
-- row instead of two outbox rows with their keys and checks (+29 % of the statement, bench/README.md);
-- the notifier's claim, or any later change of the appointment, turns them into outbox rows with the
-- same ids. Pending rows of 1.2 stay pending outbox rows: the claim sends them as before.
ALTER TABLE ta.appointments ADD COLUMN reminder_starts_at timestamptz, ADD COLUMN reminder_send_at timestamptz,
    ADD COLUMN email_reminder_id bigint, ADD COLUMN sms_reminder_id bigint;
-- the notifier's probe per practice and GET /reminders find the waiting ones by this index
CREATE INDEX appointments_reminder_due_idx ON ta.appointments (practice_id, reminder_send_at)
    WHERE reminder_send_at IS NOT NULL;
-- GET /reminders and the export list the outbox and the waiting reminders together
-- @function ta.messages
-- turning waiting reminders into outbox rows (a change of the appointment, the claim)
-- @function ta.promote_reminders
-- @function ta.take_reminders
-- @function ta.sync_reminders
-- the insert trigger plans the reminders into the row (BEFORE) by ta.reminder_plan's rule, in its parts;
-- the update trigger promotes them first
-- @function ta.reminder_start
-- @function ta.reminder_due
-- @function ta.reminder_plan
DROP TRIGGER appointments_reminders_insert ON ta.appointments;
DROP TRIGGER appointments_reminders_update ON ta.appointments;
-- @function ta.appointments_plan_reminders
-- @function ta.appointments_sync_reminders
CREATE TRIGGER appointments_reminders_insert BEFORE INSERT ON ta.appointments
    FOR EACH ROW EXECUTE FUNCTION ta.appointments_plan_reminders();
CREATE TRIGGER appointments_reminders_update BEFORE UPDATE ON ta.appointments
    FOR EACH ROW WHEN (ta.appointment_reminder_key(OLD) IS DISTINCT FROM ta.appointment_reminder_key(NEW))
    EXECUTE FUNCTION ta.appointments_sync_reminders();
-- the notifier finds the waiting reminders practice by practice
-- @function ta.waits_for
-- @function ta.next_waiting_reminder
-- @function ta.take_due_reminders
-- @function notifier.next_due
-- @function notifier.claim
-- GET /reminders and the export read ta.messages; the export leaves the waiting reminders' columns out
-- @function api.list_reminders
-- @function api.export_patient
