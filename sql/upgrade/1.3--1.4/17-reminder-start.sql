-- Issue 17 (the outbox's cost on POST /appointments): a reminder's start is ta.appointment_start's,
-- the one definition of when an appointment starts (Polish wall-clock time; practice_settings'
-- CHECK allows no other zone), so the insert trigger and ta.reminder_plan no longer read
-- ta.practice_settings (its row-level security) for a zone that can only be Europe/Warsaw.
-- @function ta.reminder_plan
-- @function ta.appointments_plan_reminders
DROP FUNCTION ta.reminder_start(ta.appointments, text);
