-- Issue 17: what the outbox costs POST /appointments (bench/outbox.sh: -33 % with e-mail and SMS reminders on).

-- The referent of ta.outbox's (user_id, practice_id), so a test or reset row's practice is its user's.
ALTER TABLE ta.users ADD CONSTRAINT users_id_practice_key UNIQUE (id, practice_id);

-- The row's practice is its patient's (a reminder) or its user's (a test, a reset link), so it
-- exists and is the right one: the FK to ta.practices locked the practice's row FOR KEY SHARE
-- for every reminder written, where the patient's row is already locked by the appointment's FK.
ALTER TABLE ta.outbox DROP CONSTRAINT outbox_practice_id_fkey, DROP CONSTRAINT outbox_user_id_fkey,
    ADD CONSTRAINT outbox_patient_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    ADD CONSTRAINT outbox_user_fkey FOREIGN KEY (user_id, practice_id) REFERENCES ta.users (id, practice_id);

-- The wanted reminders of an appointment in one inlinable SQL query (ta.practice_timezone and
-- ta.sms_number were parsed and planned on every call inside plpgsql expressions).
-- @function ta.reminder_plan

-- A new appointment's reminders are written by its trigger (one INSERT for both channels, no
-- lookups of rows it cannot have yet), so sync_reminders is for changes only and loses "fresh".
DROP FUNCTION ta.sync_reminders(ta.appointments, boolean);
-- @function ta.sync_reminders
-- @function ta.appointments_sync_reminders
