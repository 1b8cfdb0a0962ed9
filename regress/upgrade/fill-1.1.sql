-- A practice's data written through the api of version 1.1, as the proxy would (run as the
-- application role by regress/upgrade.sh): every table gets rows, some of them archived, and
-- the audit trail, the throttles' tables and the outbox get theirs. The notifier's part
-- (ta.senders, messages sent and failed) is fill-1.1-notifier.sql, run after this one as the
-- notifier role. As in 1.1's proxy, each request hands the raw bearer token to the database
-- (request.jwt, verified by the api) with the client's address (request.client_addr) and the
-- route (request.route); the api derives request.jwt.claims itself.
-- Dates are fixed (2031) so that what the file writes does not depend on the day it runs; only
-- what the api judges against "now" (a late cancellation, a reminder due at once) is booked
-- for tomorrow.
\set ON_ERROR_STOP on
\set QUIET on
SELECT set_config('request.client_addr', '127.0.0.1', false) IS NULL AS unused \gset
SELECT set_config('request.route', 'POST /auth/register', false) IS NULL AS unused \gset
-- ta.registrations, ta.practices, ta.users
SELECT api.register('{"email": "anna@gabinet.example.com", "password": "haslo-testowe-1"}') IS NULL AS unused \gset
SELECT api.register('{"email": "jan@inny.example.com", "password": "haslo-testowe-2"}') IS NULL AS unused \gset
-- A wrong password leaves a row in ta.login_failures.
SELECT set_config('request.route', 'POST /auth/login', false) IS NULL AS unused \gset
SELECT api.login('{"username": "nieznany@example.com", "password": "zle-haslo"}') IS NULL AS unused \gset
-- Tomorrow in Warsaw: what must be near "now" is booked then.
SELECT (now() AT TIME ZONE 'Europe/Warsaw')::date + 1 AS tomorrow \gset

-------------------------------------------------------------------------------------------
-- Practice 1: Anna. A successful login records the address (ta.login_addresses).
SELECT api.login('{"username": "anna@gabinet.example.com", "password": "haslo-testowe-1"}') ->> 'access_token' AS token \gset
SELECT set_config('request.jwt', :'token', false) IS NULL AS unused \gset

-- Settings: late cancellation within 48 hours (ta.practice_settings); reminders by e-mail
-- and SMS 72 hours before (ta.reminder_settings), so that tomorrow's visit is due at once.
SELECT set_config('request.route', 'PUT /settings', false) IS NULL AS unused \gset
SELECT api.update_settings('{"late_cancel_hours": 48}') IS NULL AS unused \gset
SELECT set_config('request.route', 'PUT /settings/reminders', false) IS NULL AS unused \gset
SELECT api.update_reminder_settings('{"email_enabled": true, "sms_enabled": true, "hours_before": 72,
    "practice_name": "Gabinet Anny", "sms_body": "Przypomnienie: {data} {godzina}, {gabinet}"}') IS NULL AS unused \gset

-- Patients; consents given at creation and later, one withdrawn (ta.reminder_consents).
SELECT set_config('request.route', 'POST /patients', false) IS NULL AS unused \gset
SELECT (api.create_patient('{"name": "Anna Kowalska", "phone": "+48 600 100 200", "email": "anna.k@example.com",
    "notes": "Pierwsza wizyta: lęk.", "reminder_email": true, "reminder_sms": true}') ->> 'id') AS p1 \gset
SELECT (api.create_patient('{"name": "Łukasz Żółć", "notes": "Zażółć gęślą jaźń"}') ->> 'id') AS p2 \gset
SELECT (api.create_patient('{"name": "Do archiwum", "email": "archiwum@example.com", "reminder_email": true}') ->> 'id') AS p3 \gset
SELECT (api.create_patient('{"name": "Przywrócony Pacjent", "phone": "501 502 503"}') ->> 'id') AS p4 \gset
SELECT set_config('request.route', 'PUT /patients/{id}', false) IS NULL AS unused \gset
SELECT api.update_patient(:p2, '{"phone": "500 600 700", "reminder_sms": true}') IS NULL AS unused \gset
SELECT api.update_patient(:p2, '{"reminder_sms": false}') IS NULL AS unused \gset

-- Appointments (2031) with their reminders pending in the outbox.
SELECT set_config('request.route', 'POST /appointments', false) IS NULL AS unused \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2031-03-03', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)) ->> 'id') AS a1 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2031-03-10', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)) ->> 'id') AS a2 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2031-03-17', 'start_time', '10:00', 'end_time', '10:50', 'price', 180.5)) ->> 'id') AS a3 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2031-03-24', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)) ->> 'id') AS a4 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p2, 'date', '2031-03-03', 'start_time', '11:00', 'end_time', '11:50', 'price', 150)) ->> 'id') AS a5 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p2, 'date', '2031-03-04', 'start_time', '23:00', 'end_time', '23:50', 'price', 150)) ->> 'id') AS a6 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p3, 'date', '2031-03-05', 'start_time', '09:00', 'end_time', '09:50', 'price', 120)) ->> 'id') AS a7 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p3, 'date', '2031-03-12', 'start_time', '09:00', 'end_time', '09:50', 'price', 120)) ->> 'id') AS a8 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p4, 'date', '2031-03-06', 'start_time', '09:00', 'end_time', '09:50', 'price', 130)) ->> 'id') AS a9 \gset
-- Tomorrow: one the patient cancels late (within 48 hours: billable), one whose reminders are
-- due at once (72 hours before).
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', :'tomorrow', 'start_time', '08:00', 'end_time', '08:50', 'price', 200)) ->> 'id') AS late \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', :'tomorrow', 'start_time', '12:00', 'end_time', '12:50', 'price', 200)) ->> 'id') AS soon \gset

-- A weekly series over Easter Monday (skipped), moved from its third visit, cancelled by the
-- therapist from its fifth (ta.appointment_series).
SELECT set_config('request.route', 'POST /appointment_series', false) IS NULL AS unused \gset
SELECT s ->> 'id' AS s1, s -> 'appointments' -> 2 ->> 'date' AS s1_third, s -> 'appointments' -> 4 ->> 'date' AS s1_fifth
  FROM (SELECT api.create_appointment_series(json_build_object('patient_id', :p2, 'start_date', '2031-04-07',
            'start_time', '14:00', 'end_time', '14:50', 'price', 160, 'count', 6, 'interval_weeks', 1,
            'skip_holidays', true)) s) x \gset
SELECT api.create_appointment_series(json_build_object('patient_id', :p1, 'start_date', '2031-05-06',
    'start_time', '16:00', 'end_time', '16:50', 'price', 200, 'until', '2031-06-30', 'interval_weeks', 2)) IS NULL AS unused \gset
SELECT set_config('request.route', 'PATCH /appointment_series/{id}', false) IS NULL AS unused \gset
SELECT api.update_appointment_series(:s1, json_build_object('from_date', :'s1_third', 'start_time', '15:00', 'end_time', '15:50', 'price', 170)) IS NULL AS unused \gset
SELECT set_config('request.route', 'DELETE /appointment_series/{id}', false) IS NULL AS unused \gset
SELECT api.cancel_appointment_series(:s1, json_build_object('from', :'s1_fifth')) IS NULL AS unused \gset

-- Statuses: held, missed, cancelled by the patient on time and late, by the therapist.
SELECT set_config('request.route', 'PUT /appointments/{id}', false) IS NULL AS unused \gset
SELECT api.update_appointment(:a1, '{"status": "completed"}') IS NULL AS unused \gset
SELECT api.update_appointment(:a5, '{"status": "no_show"}') IS NULL AS unused \gset
SELECT api.update_appointment(:a3, '{"status": "cancelled", "cancel_reason": "patient"}') IS NULL AS unused \gset
SELECT api.update_appointment(:late, '{"status": "cancelled", "cancel_reason": "patient"}') IS NULL AS unused \gset
SELECT api.update_appointment(:a6, '{"status": "cancelled", "cancel_reason": "therapist"}') IS NULL AS unused \gset
-- Moved: its pending reminders move with it.
SELECT api.update_appointment(:a4, '{"date": "2031-03-25", "start_time": "13:00", "end_time": "13:50"}') IS NULL AS unused \gset

-- Session notes; one edited, one archived on its own, one linked to a visit.
SELECT set_config('request.route', 'POST /session_notes', false) IS NULL AS unused \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p1, 'content', 'Notatka po sesji: postęp.')) ->> 'id') AS n1 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p1, 'content', 'Druga notatka')) ->> 'id') AS n2 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p2, 'content', 'Notatka do usunięcia')) ->> 'id') AS n3 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p3, 'content', 'Notatka pacjenta archiwalnego')) ->> 'id') AS n4 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p4, 'content', 'Notatka pacjenta przywróconego')) ->> 'id') AS n5 \gset
SELECT set_config('request.route', 'PUT /session_notes/{id}', false) IS NULL AS unused \gset
SELECT api.update_session_note(:n2, '{"content": "Druga notatka, poprawiona"}') IS NULL AS unused \gset
SELECT set_config('request.route', 'DELETE /session_notes/{id}', false) IS NULL AS unused \gset
SELECT api.delete_session_note(:n3) IS NULL AS unused \gset
SELECT set_config('request.route', 'PUT /appointments/{id}', false) IS NULL AS unused \gset
SELECT api.update_appointment(:a1, json_build_object('session_note_id', :n1)) IS NULL AS unused \gset

-- Payments at an instant (payment_date with time and offset, naive Warsaw time, a date); the
-- late cancellation paid; one payment changed, one archived on its own, one paid visit archived.
SELECT set_config('request.route', 'POST /payments', false) IS NULL AS unused \gset
SELECT api.create_payment(json_build_object('patient_id', :p1, 'amount', 200, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1), 'payment_date', '2031-03-03T10:55:00+01:00')) IS NULL AS unused \gset
SELECT (api.create_payment(json_build_object('patient_id', :p1, 'amount', 200, 'payment_method', 'TRANSFER', 'description', 'Odwołana za późno', 'appointment_ids', json_build_array(:late), 'payment_date', '2031-03-31T18:30:00')) ->> 'id') AS pay2 \gset
SELECT (api.create_payment(json_build_object('patient_id', :p2, 'amount', 150, 'payment_method', 'TRANSFER', 'description', 'Przelew za marzec', 'appointment_ids', json_build_array(:a5), 'payment_date', '2031-03-31')) ->> 'id') AS pay3 \gset
SELECT (api.create_payment(json_build_object('patient_id', :p1, 'amount', 200, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a2), 'payment_date', '2031-03-10T11:00:00Z')) ->> 'id') AS pay4 \gset
SELECT (api.create_payment(json_build_object('patient_id', :p1, 'amount', 200, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a4), 'payment_date', '2031-03-25T13:55:00+01:00')) ->> 'id') AS pay5 \gset
SELECT api.create_payment(json_build_object('patient_id', :p3, 'amount', 120, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a7), 'payment_date', '2031-03-05T10:00:00+01:00')) IS NULL AS unused \gset
SELECT api.create_payment(json_build_object('patient_id', :p4, 'amount', 130, 'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a9), 'payment_date', '2031-03-06T10:00:00+01:00')) IS NULL AS unused \gset
SELECT set_config('request.route', 'PUT /payments/{id}', false) IS NULL AS unused \gset
SELECT api.update_payment(:pay3, '{"description": "Przelew za marzec (poprawiony)", "payment_date": "2031-04-01T08:15:00+02:00"}') IS NULL AS unused \gset
SELECT set_config('request.route', 'DELETE /payments/{id}', false) IS NULL AS unused \gset
SELECT api.delete_payment(:pay5) IS NULL AS unused \gset
SELECT set_config('request.route', 'DELETE /appointments/{id}', false) IS NULL AS unused \gset
SELECT api.delete_appointment(:a2) IS NULL AS unused \gset

-- Archived with their appointments, notes and payments: one patient stays archived, one is
-- restored (archived_with_patient set and cleared); their reminders are cancelled.
SELECT set_config('request.route', 'DELETE /patients/{id}', false) IS NULL AS unused \gset
SELECT api.delete_patient(:p3) IS NULL AS unused \gset
SELECT api.delete_patient(:p4) IS NULL AS unused \gset
SELECT set_config('request.route', 'POST /patients/{id}/restore', false) IS NULL AS unused \gset
SELECT api.restore_patient(:p4) IS NULL AS unused \gset

-- A test message to the therapist, due at once (ta.outbox, kind test).
SELECT set_config('request.route', 'POST /settings/reminders/test', false) IS NULL AS unused \gset
SELECT api.send_test_reminder('{}') IS NULL AS unused \gset

-- Reads and an export: the audit trail gets every kind of row.
SELECT set_config('request.route', 'GET /patients', false) IS NULL AS unused \gset
SELECT api.list_patients('{}') IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /patients/{id}', false) IS NULL AS unused \gset
SELECT api.get_patient(:p1) IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /appointments', false) IS NULL AS unused \gset
SELECT api.list_appointments('{"date_from": "2031-03-01", "date_to": "2031-06-30"}') IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /appointment_series/{id}', false) IS NULL AS unused \gset
SELECT api.get_appointment_series(:s1) IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /payments', false) IS NULL AS unused \gset
SELECT api.list_payments('{}') IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /reminders', false) IS NULL AS unused \gset
SELECT api.list_reminders('{}') IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /statistics/appointments', false) IS NULL AS unused \gset
SELECT api.appointment_statistics('{"date_from": "2031-01-01", "date_to": "2031-12-31"}') IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /patients/{id}/export', false) IS NULL AS unused \gset
SELECT api.export_patient(:p1) IS NULL AS unused \gset

-- A password change: every earlier token ends, the answer carries a fresh one.
SELECT set_config('request.route', 'PUT /auth/password', false) IS NULL AS unused \gset
SELECT api.change_password('{"current_password": "haslo-testowe-1", "new_password": "haslo-testowe-1-nowe"}') ->> 'access_token' AS token \gset
SELECT set_config('request.jwt', :'token', false) IS NULL AS unused \gset
-- Logged out: the token's jti goes into ta.revoked_tokens.
SELECT set_config('request.route', 'POST /auth/logout', false) IS NULL AS unused \gset
SELECT api.logout() IS NULL AS unused \gset
SELECT set_config('request.jwt', '', false) IS NULL AS unused \gset

-------------------------------------------------------------------------------------------
-- Practice 2: Jan, from another address, with a calendar feed.
SELECT set_config('request.client_addr', '192.0.2.10', false) IS NULL AS unused \gset
SELECT set_config('request.route', 'POST /auth/login', false) IS NULL AS unused \gset
SELECT api.login('{"username": "jan@inny.example.com", "password": "haslo-testowe-2"}') ->> 'access_token' AS token \gset
SELECT set_config('request.jwt', :'token', false) IS NULL AS unused \gset
SELECT set_config('request.route', 'POST /patients', false) IS NULL AS unused \gset
SELECT (api.create_patient('{"name": "Pacjent innej praktyki", "email": "pacjent@inny.example.com"}') ->> 'id') AS q1 \gset
SELECT set_config('request.route', 'POST /appointments', false) IS NULL AS unused \gset
SELECT api.create_appointment(json_build_object('patient_id', :q1, 'date', '2031-03-03', 'start_time', '10:00', 'end_time', '10:50', 'price', 250)) IS NULL AS unused \gset
-- The calendar feed (ta.calendar_feeds): fetched with its token (an audited read) and with a
-- wrong one (ta.feed_failures). The proxy sends no bearer token for this public route.
SELECT set_config('request.route', 'POST /calendar_feed', false) IS NULL AS unused \gset
SELECT substring(api.create_calendar_feed() ->> 'url' FROM '^/calendar/(.*)\.ics$') AS feed \gset
SELECT set_config('request.jwt', '', false) IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /calendar/{token}.ics', false) IS NULL AS unused \gset
SELECT api.calendar_feed(:'feed') IS NULL AS unused \gset
SELECT api.calendar_feed('nieznany-token-kalendarza-0123456789abcdefghi') IS NULL AS unused \gset
-- A password reset asked for (ta.password_reset_requests, ta.password_resets, an e-mail in the
-- outbox), and one for an address that has no account.
SELECT set_config('request.route', 'POST /auth/password-reset', false) IS NULL AS unused \gset
SELECT api.request_password_reset('{"email": "jan@inny.example.com"}') IS NULL AS unused \gset
SELECT api.request_password_reset('{"email": "nikt@example.com"}') IS NULL AS unused \gset

-- The trail read back: waits until every read queued for the audit writer is written (the
-- C install's deferred reads), so the file leaves nothing still to be written.
SELECT set_config('request.jwt', :'token', false) IS NULL AS unused \gset
SELECT set_config('request.route', 'GET /audit', false) IS NULL AS unused \gset
SELECT api.list_audit('{}') IS NULL AS unused \gset
SELECT api.verify_audit() IS NULL AS unused \gset
