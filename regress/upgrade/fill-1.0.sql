-- A practice's data written through the api of version 1.0, as the proxy would (run as the
-- application role by regress/upgrade.sh): every table gets rows, some of them archived, and
-- the audit trail and the failed-login count get theirs.
\set ON_ERROR_STOP on
\set QUIET on
SELECT set_config('request.client_addr', '127.0.0.1', false) IS NULL AS unused \gset
SELECT api.register('{"email": "anna@gabinet.example.com", "password": "haslo-testowe-1"}') IS NULL AS unused \gset
SELECT api.register('{"email": "jan@inny.example.com", "password": "haslo-testowe-2"}') IS NULL AS unused \gset
-- A wrong password leaves a row in ta.login_failures.
SELECT api.login('{"username": "nieznany@example.com", "password": "zle-haslo"}') IS NULL AS unused \gset

-- Each practice logs in, and the claims of its token are set for the session, as the proxy does.

\set email anna@gabinet.example.com
\set password haslo-testowe-1
SELECT split_part(api.login(json_build_object('username', :'email', 'password', :'password')) ->> 'access_token', '.', 2) AS payload \gset
SELECT set_config('request.jwt.claims', convert_from(decode(rpad(translate(:'payload', '-_', '+/'), (length(:'payload') + 3) / 4 * 4, '='), 'base64'), 'UTF8'), false) IS NULL AS unused \gset
SELECT (api.create_patient('{"name": "Anna Kowalska", "phone": "+48 600 100 200", "email": "anna.k@example.com", "notes": "Pierwsza wizyta: lęk."}') ->> 'id') AS p1 \gset
SELECT (api.create_patient('{"name": "Łukasz Żółć", "notes": "Zażółć gęślą jaźń"}') ->> 'id') AS p2 \gset
SELECT (api.create_patient('{"name": "Do archiwum"}') ->> 'id') AS p3 \gset
SELECT api.update_patient(:p2, '{"phone": "500 600 700"}') IS NULL AS unused \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2026-11-02', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)) ->> 'id') AS a1 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2026-11-09', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)) ->> 'id') AS a2 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p1, 'date', '2026-11-16', 'start_time', '10:00', 'end_time', '10:50', 'price', 180.5)) ->> 'id') AS a3 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p2, 'date', '2026-11-02', 'start_time', '11:00', 'end_time', '11:50', 'price', 150)) ->> 'id') AS a4 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p2, 'date', '2026-12-07', 'start_time', '23:00', 'end_time', '23:50', 'price', 150)) ->> 'id') AS a5 \gset
SELECT (api.create_appointment(json_build_object('patient_id', :p3, 'date', '2026-11-03', 'start_time', '09:00', 'end_time', '09:50', 'price', 120)) ->> 'id') AS a6 \gset
SELECT api.delete_appointment(:a2) IS NULL AS unused \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p1, 'content', 'Notatka po sesji: postęp.')) ->> 'id') AS n1 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p1, 'content', 'Druga notatka')) ->> 'id') AS n2 \gset
SELECT (api.create_session_note(json_build_object('patient_id', :p2, 'content', 'Notatka do usunięcia')) ->> 'id') AS n3 \gset
SELECT api.update_session_note(:n2, '{"content": "Druga notatka, poprawiona"}') IS NULL AS unused \gset
SELECT api.delete_session_note(:n3) IS NULL AS unused \gset
SELECT api.update_appointment(:a1, json_build_object('session_note_id', :n1)) IS NULL AS unused \gset
-- Paid in cash on a day, by transfer with a description; one payment archived.
SELECT api.create_payment(json_build_object('patient_id', :p1, 'amount', 200, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1), 'payment_date', '2026-11-02')) IS NULL AS unused \gset
SELECT (api.create_payment(json_build_object('patient_id', :p2, 'amount', 150, 'payment_method', 'TRANSFER', 'description', 'Przelew za listopad', 'appointment_ids', json_build_array(:a4), 'payment_date', '2026-11-30')) ->> 'id') AS pay2 \gset
SELECT (api.create_payment(json_build_object('patient_id', :p1, 'amount', 180.5, 'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a3))) ->> 'id') AS pay3 \gset
SELECT api.delete_payment(:pay3) IS NULL AS unused \gset
SELECT api.delete_patient(:p3) IS NULL AS unused \gset
-- Reads and an export: the audit trail gets every kind of row.
SELECT api.list_patients('{}') IS NULL AS unused \gset
SELECT api.get_patient(:p1) IS NULL AS unused \gset
SELECT api.list_appointments('{"date_from": "2026-11-01", "date_to": "2026-11-30"}') IS NULL AS unused \gset
SELECT api.list_payments('{}') IS NULL AS unused \gset
SELECT api.export_patient(:p1) IS NULL AS unused \gset

\set email jan@inny.example.com
\set password haslo-testowe-2
SELECT split_part(api.login(json_build_object('username', :'email', 'password', :'password')) ->> 'access_token', '.', 2) AS payload \gset
SELECT set_config('request.jwt.claims', convert_from(decode(rpad(translate(:'payload', '-_', '+/'), (length(:'payload') + 3) / 4 * 4, '='), 'base64'), 'UTF8'), false) IS NULL AS unused \gset
SELECT (api.create_patient('{"name": "Pacjent innej praktyki"}') ->> 'id') AS q1 \gset
SELECT api.create_appointment(json_build_object('patient_id', :q1, 'date', '2026-11-02', 'start_time', '10:00', 'end_time', '10:50', 'price', 250)) IS NULL AS unused \gset
