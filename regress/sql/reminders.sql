-- Reminders (issue 17): consent with history, settings and templates, the outbox the
-- appointment changes write in their own transaction, the notifier's claim and record, and
-- password reset by e-mail.
SET client_min_messages = warning;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'regress_ta_notifier') THEN
        CREATE ROLE regress_ta_notifier LOGIN;
    END IF;
END $$;
RESET client_min_messages;
SET ROLE regress_ta_owner;
SELECT ta.grant_notifier('regress_ta_notifier');
RESET ROLE;
-- The application may not call the notifier's functions, the notifier not the api.
SELECT has_function_privilege('regress_ta_app', 'notifier.claim(text, text[])', 'execute') AS app_claims,
       has_function_privilege('regress_ta_notifier', 'notifier.claim(text, text[])', 'execute') AS notifier_claims,
       has_function_privilege('regress_ta_notifier', 'api.list_patients(json)', 'execute') AS notifier_lists;

-- Messages (outbox rows and reminders waiting on appointments) as the owner sees them for one practice, without times that move.
CREATE FUNCTION regress.outbox(pid bigint) RETURNS TABLE (id bigint, kind text, channel text, appointment_id bigint,
                                                        status text, attempts integer, due_vs_start text, last_error text)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT o.id, o.kind::text, o.channel::text, o.appointment_id, o.status::text, o.attempts,
           CASE WHEN o.starts_at IS NULL THEN NULL ELSE (o.starts_at - o.send_at)::text END, o.last_error
      FROM ta.messages() o WHERE o.practice_id = pid ORDER BY o.id
$$;
GRANT EXECUTE ON FUNCTION regress.outbox(bigint) TO regress_ta_app;

SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "przypomnienia@example.com", "password": "haslo-testowe"}')$$) IS NOT NULL;
SELECT regress.login('przypomnienia@example.com');
SELECT (current_setting('request.jwt.claims')::json ->> 'pid')::bigint AS pid \gset

-- Consent needs an address: e-mail for e-mail, a mobile number for SMS.
SELECT regress.call($$SELECT api.create_patient('{"name": "Bez adresu", "reminder_email": true}')$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Bez telefonu", "phone": "123", "reminder_sms": true}')$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Zła zgoda", "email": "a@example.com", "reminder_email": "tak"}')$$);
SELECT (api.create_patient('{"name": "Zofia Zgodna", "email": "zofia@example.com", "phone": "600 100 200",
                            "reminder_email": true, "reminder_sms": true}') ->> 'id')::bigint AS zofia \gset
SELECT (api.create_patient('{"name": "Adam Bez Zgody", "email": "adam@example.com"}') ->> 'id')::bigint AS adam \gset
SELECT p ->> 'reminder_email' AS email, p ->> 'reminder_sms' AS sms,
       p ->> 'reminder_email_changed_at' IS NOT NULL AS email_stamped, p ->> 'reminder_sms_changed_at' IS NOT NULL AS sms_stamped
  FROM api.get_patient(:zofia) p;
SELECT p ->> 'reminder_email' AS email, p ->> 'reminder_email_changed_at' AS email_changed_at FROM api.get_patient(:adam) p;
-- Removing the e-mail while the consent stands is refused too.
SELECT regress.call(format('SELECT api.update_patient(%s, %L)', :zofia, '{"email": null}'));

-- Settings: the defaults, then every kind of bad input, each a Polish 422.
SELECT json_build_object('email_enabled', s -> 'email_enabled', 'sms_enabled', s -> 'sms_enabled',
                         'hours_before', s -> 'hours_before', 'practice_name', s -> 'practice_name',
                         'email_subject', s -> 'email_subject', 'sms_body', s -> 'sms_body',
                         'email_available', s -> 'email_available')
  FROM api.get_reminder_settings() s;
SELECT regress.call(format('SELECT api.update_reminder_settings(%L)', b)) FROM (VALUES
    ('{"hours_before": 0}'), ('{"hours_before": 73}'), ('{"hours_before": "jutro"}'), ('{"hours_before": 2.5}'),
    ('{"email_subject": "Wizyta {data} dla {imie}"}'), ('{"sms_body": "Wizyta {godzina"}'), ('{"email_body": "a } b"}'),
    ('{"email_subject": "Temat\nBcc: ktos@example.com"}'), ('{"practice_name": "   "}'), ('{"email_body": ""}'),
    ('{"sms_body": "' || repeat('x', 140) || ' {data} {godzina} {gabinet}"}'),
    ('{"email_enabled": "tak"}'), ('[]')
) AS t(b);
SELECT regress.call($$SELECT api.update_reminder_settings('{"email_enabled": true, "sms_enabled": true, "hours_before": 24,
    "practice_name": "Gabinet Zdrowa Głowa", "sms_body": "Wizyta {data} {godzina}, {gabinet}"}') ->> 'hours_before'$$);

-- An appointment in 2030: one pending reminder per channel, 24 hours before its start.
SELECT (api.create_appointment(format('{"patient_id": %s, "date": "2030-03-04", "start_time": "10:00",
                                        "end_time": "10:50", "price": 150}', :zofia)::json) ->> 'id')::bigint AS a1 \gset
SELECT (api.create_appointment(format('{"patient_id": %s, "date": "2030-03-05", "start_time": "10:00",
                                        "end_time": "10:50", "price": 150}', :adam)::json) ->> 'id')::bigint AS a2 \gset
SELECT channel, status, due_vs_start, appointment_id = :a1 AS of_a1 FROM regress.outbox(:pid);
SELECT min(id) AS first_id FROM regress.outbox(:pid) \gset
-- Rescheduling moves the same rows (same ids) to the new start.
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> %L', :a1, '{"date": "2030-03-11", "start_time": "12:00", "end_time": "12:50"}', 'date'));
SELECT id - :first_id AS id_offset, channel, status, due_vs_start FROM regress.outbox(:pid);
-- Changing the price changes nothing in the outbox.
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> %L', :a1, '{"price": 200}', 'price'));
SELECT count(*) AS outbox_rows FROM regress.outbox(:pid);
-- Withdrawing the e-mail consent cancels that channel only; the history records both steps.
SELECT regress.call(format('SELECT api.update_patient(%s, %L) ->> %L', :zofia, '{"reminder_email": false}', 'reminder_email'));
SELECT channel, status FROM regress.outbox(:pid);
-- Given again: the cancelled row of that same start comes back (still one per start).
SELECT regress.call(format('SELECT api.update_patient(%s, %L) ->> %L', :zofia, '{"reminder_email": true}', 'reminder_email'));
SELECT id - :first_id AS id_offset, channel, status FROM regress.outbox(:pid);
SELECT json_agg(json_build_object('channel', c ->> 'channel', 'given', c -> 'given', 'by_user', (c ->> 'by_user') IS NOT NULL))
  FROM json_array_elements(api.export_patient(:zofia) -> 'reminder_consents') c;
SELECT json_agg(r ->> 'status') AS exported_reminders FROM json_array_elements(api.export_patient(:zofia) -> 'reminders') r;
-- The SMS channel switched off in the settings cancels the SMS reminder.
SELECT regress.call($$SELECT api.update_reminder_settings('{"sms_enabled": false}') ->> 'sms_enabled'$$);
SELECT channel, status FROM regress.outbox(:pid);
-- Hours before changed: the pending reminder follows.
SELECT regress.call($$SELECT api.update_reminder_settings('{"hours_before": 2}') ->> 'hours_before'$$);
SELECT channel, status, due_vs_start FROM regress.outbox(:pid) WHERE status = 'pending';
-- GET /reminders: the list, a status filter, bad filters.
SELECT json_agg(json_build_object('channel', r ->> 'channel', 'status', r ->> 'status', 'attempts', r -> 'attempts'))
  FROM json_array_elements(api.list_reminders('{}')) r;
SELECT json_array_length(api.list_reminders('{"status": "cancelled"}')) AS cancelled;
SELECT regress.call($$SELECT api.list_reminders('{"status": "wysłane"}')$$);
SELECT regress.call($$SELECT api.list_reminders('{"limit": "0"}')$$);
-- Cancelling (status) cancels the reminder; scheduled again, the same row is pending again.
SELECT (api.create_appointment(format('{"patient_id": %s, "date": "2030-05-06", "start_time": "10:00",
                                        "end_time": "10:50", "price": 150}', :zofia)::json) ->> 'id')::bigint AS a4 \gset
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> %L', :a4, '{"status": "cancelled", "cancel_reason": "patient"}', 'status'));
SELECT channel, status FROM regress.outbox(:pid) WHERE appointment_id = :a4;
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> %L', :a4, '{"status": "scheduled"}', 'status'));
SELECT channel, status FROM regress.outbox(:pid) WHERE appointment_id = :a4;
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> %L', :a4, '{"status": "completed"}', 'status'));
SELECT channel, status FROM regress.outbox(:pid) WHERE appointment_id = :a4;
-- Archiving the appointment cancels its reminder.
SELECT regress.call(format('SELECT api.delete_appointment(%s)', :a1));
SELECT count(*) FILTER (WHERE status = 'pending') AS pending FROM regress.outbox(:pid);
-- Another practice sees none of it.
SELECT regress.login('anna@gabinet-a.example.com');
SELECT api.list_reminders('{}') AS anna_sees;
SELECT regress.login('przypomnienia@example.com');
RESET ROLE;

-- One reminder per appointment, channel and start: a constraint, whatever writes the row.
SET ROLE regress_ta_owner;
SELECT set_config('request.jwt.claims', json_build_object('pid', :pid)::text, false) IS NOT NULL;
INSERT INTO ta.outbox (practice_id, channel, appointment_id, patient_id, starts_at, send_at, status)
SELECT practice_id, channel, appointment_id, patient_id, starts_at, send_at - interval '1 hour', 'sent'
  FROM ta.outbox WHERE appointment_id = :a1 AND channel = 'email';
-- Nothing is due at or after the start.
INSERT INTO ta.outbox (practice_id, channel, appointment_id, patient_id, starts_at, send_at)
VALUES (:pid, 'sms', :a1, :zofia, '2030-01-01 10:00+01', '2030-01-01 10:00+01');
RESET ROLE;
-- A reminder's practice is its patient's, a test's its user's (foreign keys, also for a superuser).
\set VERBOSITY terse
INSERT INTO ta.outbox (practice_id, channel, appointment_id, patient_id, starts_at, send_at)
SELECT p.id, 'sms', :a1, :zofia, '2030-01-01 10:00+01', '2030-01-01 09:00+01'
  FROM ta.practices p WHERE p.id <> :pid ORDER BY p.id LIMIT 1;
INSERT INTO ta.outbox (practice_id, kind, channel, user_id, send_at)
SELECT p.id, 'test', 'email', u.id, now() FROM ta.practices p, ta.users u
 WHERE p.id <> u.practice_id AND u.practice_id = :pid ORDER BY p.id, u.id LIMIT 1;
\set VERBOSITY default

-- Every branch of the insert trigger's rule (C in the extension, PL/pgSQL in the plain-SQL
-- install), as the owner under the practice's row-level security, each row checked against
-- ta.reminder_plan: channels on or off, the appointment not live, the patient archived or
-- without consent, one channel or two, a past start, a start sooner than the hours before.
SET ROLE regress_ta_owner;
SELECT set_config('request.jwt.claims', json_build_object('pid', :pid)::text, false) IS NOT NULL;
BEGIN;
UPDATE ta.reminder_settings SET email_enabled = true, sms_enabled = true, hours_before = 24 WHERE practice_id = :pid;
WITH p (name, email, phone, reminder_email, reminder_sms, deleted_at) AS (VALUES
    ('Ewa Tylko Mail', 'ewa@example.com', NULL, true, false, NULL::timestamptz),
    ('Sara Tylko SMS', NULL, '600 100 201', false, true, NULL),
    ('Artur Zarchiwizowany', 'artur@example.com', '600 100 202', true, true, now()))
INSERT INTO ta.patients (practice_id, name, email, phone, reminder_email, reminder_sms, deleted_at)
SELECT :pid, name, email, phone, reminder_email, reminder_sms, deleted_at FROM p;
SELECT min(id) FILTER (WHERE name = 'Ewa Tylko Mail') AS ewa, min(id) FILTER (WHERE name = 'Sara Tylko SMS') AS sara,
       min(id) FILTER (WHERE name = 'Artur Zarchiwizowany') AS artur FROM ta.patients \gset
SELECT date_trunc('hour', now() AT TIME ZONE 'Europe/Warsaw') + interval '2 hours' AS soon \gset
CREATE TEMP TABLE plan_cases (n serial, label text, patient_id bigint, starts timestamp, status ta.appointment_status,
                              cancel_reason ta.cancel_reason, deleted_at timestamptz, email boolean, sms boolean,
                              appointment ta.appointments, as_plan boolean);
INSERT INTO plan_cases (label, patient_id, starts, status, cancel_reason, deleted_at, email, sms) VALUES
    ('both channels', :zofia, '2031-01-06 10:00', 'scheduled', NULL, NULL, true, true),
    ('e-mail consent only', :ewa, '2031-01-06 11:00', 'scheduled', NULL, NULL, true, true),
    ('SMS consent only', :sara, '2031-01-06 12:00', 'scheduled', NULL, NULL, true, true),
    ('no consent', :adam, '2031-01-06 13:00', 'scheduled', NULL, NULL, true, true),
    ('patient archived', :artur, '2031-01-06 14:00', 'scheduled', NULL, NULL, true, true),
    ('start in the past', :zofia, '2020-01-06 10:00', 'scheduled', NULL, NULL, true, true),
    ('start within the hours before', :zofia, :'soon', 'scheduled', NULL, NULL, true, true),
    ('completed', :zofia, '2031-01-06 15:00', 'completed', NULL, NULL, true, true),
    ('cancelled', :zofia, '2031-01-06 16:00', 'cancelled', 'therapist', NULL, true, true),
    ('appointment archived', :zofia, '2031-01-06 17:00', 'scheduled', NULL, now(), true, true),
    ('e-mail on, SMS off: both consents', :zofia, '2031-01-07 10:00', 'scheduled', NULL, NULL, true, false),
    ('e-mail on, SMS off: SMS consent', :sara, '2031-01-07 11:00', 'scheduled', NULL, NULL, true, false),
    ('SMS on, e-mail off: both consents', :zofia, '2031-01-08 10:00', 'scheduled', NULL, NULL, false, true),
    ('reminders off', :zofia, '2031-01-09 10:00', 'scheduled', NULL, NULL, false, false);
-- each case: the practice's channels, the INSERT, and what ta.reminder_plan says of the new row then
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM plan_cases ORDER BY n LOOP
        UPDATE ta.reminder_settings SET email_enabled = c.email, sms_enabled = c.sms
         WHERE practice_id = ta.current_practice_id();
        WITH a AS (
            INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price, status,
                                         cancel_reason, deleted_at)
            VALUES (ta.current_practice_id(), c.patient_id, c.starts::date, c.starts::time,
                    (c.starts + interval '30 minutes')::time, 100, c.status, c.cancel_reason, c.deleted_at)
            RETURNING appointments AS a)
        UPDATE plan_cases p SET appointment = a.a,
               as_plan = ((a.a).reminder_starts_at, (a.a).reminder_send_at, (a.a).email_reminder_id IS NOT NULL,
                          (a.a).sms_reminder_id IS NOT NULL)
                         IS NOT DISTINCT FROM (r.starts_at, r.send_at, coalesce(r.email, false), coalesce(r.sms, false))
          FROM a LEFT JOIN LATERAL (SELECT r.* FROM ta.reminder_plan(a.a) r WHERE r.email OR r.sms) r ON true
         WHERE p.n = c.n;
    END LOOP;
END $$;
SELECT c.label, (c.appointment).reminder_starts_at = ta.appointment_start(c.appointment) AS starts_ok,
       CASE WHEN (c.appointment).reminder_send_at = now() THEN 'now'
            ELSE ((c.appointment).reminder_starts_at - (c.appointment).reminder_send_at)::text END AS due,
       (c.appointment).email_reminder_id IS NOT NULL AS email, (c.appointment).sms_reminder_id IS NOT NULL AS sms,
       (c.appointment).sms_reminder_id - (c.appointment).email_reminder_id AS sms_after_email, c.as_plan
  FROM plan_cases c
 ORDER BY c.n;
-- A patient inserted by the same statement (a WITH) is seen, as the PL/pgSQL trigger's queries see it.
UPDATE ta.reminder_settings SET email_enabled = true, sms_enabled = true WHERE practice_id = :pid;
WITH p AS (INSERT INTO ta.patients (practice_id, name, email, reminder_email)
           VALUES (:pid, 'Nowa Z Wizytą', 'nowa@example.com', true) RETURNING id)
INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price)
SELECT :pid, p.id, '2031-01-10', '10:00', '10:30', 100 FROM p
RETURNING reminder_send_at IS NOT NULL AS planned, email_reminder_id IS NOT NULL AS email, sms_reminder_id IS NOT NULL AS sms;
ROLLBACK;
RESET ROLE;

-- The notifier: an appointment within the next hours is due at once.
SET ROLE regress_ta_app;
SELECT regress.login('przypomnienia@example.com');
SELECT regress.call($$SELECT api.update_reminder_settings('{"hours_before": 24}') ->> 'hours_before'$$);
SELECT (date_trunc('hour', now() AT TIME ZONE 'Europe/Warsaw') + interval '2 hours') AS soon \gset
SELECT CASE WHEN extract(hour FROM :'soon'::timestamp) >= 22 THEN :'soon'::timestamp + interval '3 hours'
            ELSE :'soon'::timestamp END AS soon \gset
SELECT (api.create_appointment(json_build_object('patient_id', :zofia, 'date', (:'soon'::timestamp)::date,
                                                 'start_time', to_char(:'soon'::timestamp, 'HH24:MI'),
                                                 'end_time', to_char(:'soon'::timestamp + interval '30 minutes', 'HH24:MI'),
                                                 'price', 100)) ->> 'id')::bigint AS a3 \gset
RESET ROLE;
-- A role that is not a sender cannot claim.
SET SESSION AUTHORIZATION regress_ta_app;
SELECT regress.call($$SELECT count(*) FROM notifier.claim('https://gabinet.example.pl', '{email}')$$);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION regress_ta_notifier;
SELECT notifier.hello(true, false);
SELECT notifier.next_due('{email}') AS next_due_seconds;
BEGIN;
SELECT id AS claimed, kind, channel, recipient, subject ~ '^Przypomnienie o wizycie [0-9]{2}\.[0-9]{2}\.20[0-9]{2} o [0-9]{2}:00$' AS subject_ok,
       body LIKE '%Gabinet Zdrowa Głowa%' AND body NOT LIKE '%Zofia%' AS body_ok, message_key ~ '^ta-reminder-[0-9]+$' AS key_ok
  FROM notifier.claim('https://gabinet.example.pl', '{email}') \gset
SELECT :'kind' AS kind, :'channel' AS channel, :'recipient' AS recipient, :'subject_ok' AS subject_ok, :'body_ok' AS body_ok,
       :'key_ok' AS key_ok;
SELECT notifier.record_sent(:claimed);
COMMIT;
-- Sent once: nothing more to claim for e-mail; the SMS channel is off.
SELECT count(*) AS more FROM notifier.claim('https://gabinet.example.pl', '{email,sms}');
RESET SESSION AUTHORIZATION;
SELECT status, attempts FROM ta.outbox WHERE id = :claimed;
-- next_due: nothing pending is the longest sleep (60 s), not 0 (which kept every idle sender
-- asking again at once); a due row of a channel the sender cannot send does not wake it.
BEGIN;
UPDATE ta.outbox SET status = 'cancelled' WHERE status = 'pending';
SET LOCAL SESSION AUTHORIZATION regress_ta_notifier;
SELECT notifier.next_due('{email,sms}') AS idle_seconds;
RESET SESSION AUTHORIZATION;
UPDATE ta.outbox SET status = 'pending', send_at = now() - interval '1 minute' WHERE id = :claimed;
SET LOCAL SESSION AUTHORIZATION regress_ta_notifier;
SELECT notifier.next_due('{email}') AS email_due_seconds, notifier.next_due('{sms}') AS sms_only_seconds;
ROLLBACK;

-- A failure is retried later, then failed with its reason; a permanent one fails at once.
SET ROLE regress_ta_app;
SELECT regress.login('przypomnienia@example.com');
SELECT regress.call($$SELECT api.update_reminder_settings('{"sms_enabled": true}') ->> 'sms_enabled'$$);
RESET ROLE;
SET SESSION AUTHORIZATION regress_ta_notifier;
BEGIN;
SELECT id AS sms_id, recipient, body ~ '^Wizyta [0-9.]+ [0-9:]+, Gabinet Zdrowa Głowa$' AS sms_body_ok
  FROM notifier.claim('https://gabinet.example.pl', '{sms}') \gset
SELECT :'recipient' AS recipient, :'sms_body_ok' AS sms_body_ok;
SELECT notifier.record_failure(:sms_id, E'bramka:\n błąd 201', false, 60) AS status;
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT status, attempts, last_error, send_at > now() + interval '50 seconds' AS later FROM ta.outbox WHERE id = :sms_id;
UPDATE ta.outbox SET send_at = now() WHERE id = :sms_id;
SET SESSION AUTHORIZATION regress_ta_notifier;
BEGIN;
SELECT id = :sms_id AS same FROM notifier.claim('https://gabinet.example.pl', '{sms}');
SELECT notifier.record_failure(:sms_id, 'nieprawidłowy numer (13)', true, 60) AS status;
COMMIT;
RESET SESSION AUTHORIZATION;
SELECT status, attempts, last_error FROM ta.outbox WHERE id = :sms_id;

-- Password reset: the same 202 for unknown and known addresses; bad input 422.
SET ROLE regress_ta_app;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT set_config('request.client_addr', '203.0.113.7', false) IS NOT NULL;
SELECT regress.call(format('SELECT api.request_password_reset(%L)', b)) FROM (VALUES
    ('{"email": "nikt@example.com"}'), ('{"email": "Przypomnienia@Example.com"}'), ('{"email": "zly@"}'), ('{}'),
    ('{"email": "' || repeat('a', 250) || '@example.com"}')
) AS t(b);
RESET ROLE;
SELECT count(*) AS reset_mails FROM ta.outbox WHERE kind = 'password_reset';
SET SESSION AUTHORIZATION regress_ta_notifier;
BEGIN;
SELECT id AS reset_mail, recipient, subject, substring(body FROM 'reset-hasla\?token=([0-9a-f]{64})') AS token,
       body LIKE '%https://gabinet.example.pl/reset-hasla?token=%' AS link_ok
  FROM notifier.claim('https://gabinet.example.pl/', '{email}') \gset
SELECT :'recipient' AS recipient, :'subject' AS subject, :'link_ok' AS link_ok;
SELECT notifier.record_sent(:reset_mail);
COMMIT;
RESET SESSION AUTHORIZATION;
-- Only its hash is stored.
SELECT count(*) AS stored_plain FROM ta.password_resets WHERE encode(token_hash, 'hex') = :'token' OR nonce::text LIKE '%' || :'token' || '%';
SET ROLE regress_ta_app;
SELECT regress.login('przypomnienia@example.com');
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT regress.call(format('SELECT api.confirm_password_reset(%L)', b)) FROM (VALUES
    ('{"token": "' || repeat('0', 64) || '", "new_password": "nowe-haslo-1"}'), ('{"token": "x", "new_password": "nowe-haslo-1"}'),
    (format('{"token": "%s", "new_password": "krotkie"}', :'token')), (format('{"token": "%s"}', :'token'))
) AS t(b);
-- The old session still works until the reset; afterwards it answers 401.
SELECT regress.login('przypomnienia@example.com');
SELECT current_setting('request.jwt.claims') AS old_claims \gset
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT regress.call(format('SELECT api.confirm_password_reset(%L)', format('{"token": "%s", "new_password": "nowe-haslo-1"}', :'token')));
SELECT set_config('request.jwt.claims', :'old_claims', false) IS NOT NULL;
SELECT regress.call($$SELECT api.list_reminders('{}')$$);
-- Single use; the old password no longer logs in, the new one does.
SELECT regress.call(format('SELECT api.confirm_password_reset(%L)', format('{"token": "%s", "new_password": "jeszcze-inne"}', :'token')));
SELECT regress.call($$SELECT api.login('{"username": "przypomnienia@example.com", "password": "haslo-testowe"}') ->> 'detail'$$);
SELECT regress.login('przypomnienia@example.com', 'nowe-haslo-1');
SELECT json_typeof(api.list_reminders('{}')) AS new_session;
-- Throttled: per account 3 links an hour (the answer stays the same), per address 10 requests an hour.
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT regress.call($$SELECT api.request_password_reset('{"email": "przypomnienia@example.com"}') ->> 'detail'$$)
  FROM generate_series(1, 9) n;
RESET ROLE;
SELECT count(*) AS reset_links FROM ta.password_resets r JOIN ta.users u ON u.id = r.user_id
 WHERE u.email = 'przypomnienia@example.com';
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '203.0.113.8', false) IS NOT NULL;
SELECT regress.call($$SELECT api.request_password_reset('{"email": "nikt@example.com"}') ->> 'detail'$$);
SELECT set_config('request.client_addr', '', false) IS NOT NULL;
RESET ROLE;
