-- Issue 17: the insert trigger that plans a new appointment's reminders is C in the extension
-- (extension/reminder_plan.c: the settings and the patient fetched by primary key instead of
-- PL/pgSQL's two queries, whose executor start-up was most of POST /appointments' +6 % with
-- reminders on); the plain-SQL install keeps the PL/pgSQL body, now with a comment on both.
-- @function ta.appointments_plan_reminders
-- A C function is the superuser's, as a fresh install leaves every one (extension_tail.sql);
-- CREATE OR REPLACE kept the PL/pgSQL function's owner (the plain-SQL install's stays).
DO $$
BEGIN
    IF (SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
         WHERE p.oid = 'ta.appointments_plan_reminders()'::regprocedure) = 'c' THEN
        ALTER FUNCTION ta.appointments_plan_reminders() OWNER TO CURRENT_USER;
    END IF;
END $$;
