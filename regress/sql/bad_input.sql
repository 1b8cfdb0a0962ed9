-- Hostile input through every api function: NULLs, wrong JSON types, SQL fragments,
-- NUL, 100 kB strings, emoji and right-to-left marks. Each is stored verbatim or refused
-- with a readable message; no internal error text; nothing half-written.
SELECT id AS jan FROM ta.patients WHERE name = 'Jan Kowalski' \gset
SELECT regress.row_counts() AS before \gset
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
-- NULL and non-object bodies for every function that takes one.
SELECT f, regress.call(format('SELECT api.%s', f)) FROM (VALUES
    ('create_patient(NULL)'), ('create_patient(''[]'')'), ('create_patient(''"x"'')'), ('create_patient(''1'')'),
    ('update_patient(1, NULL)'), ('create_appointment(NULL)'), ('update_appointment(1, ''[]'')'),
    ('create_session_note(''null'')'), ('update_session_note(1, ''true'')'), ('create_payment(''{}'')'),
    ('update_payment(1, NULL)'), ('list_patients(NULL)'), ('list_appointments(NULL)'), ('list_session_notes(NULL)'),
    ('payment_statistics(NULL)'), ('get_patient(NULL)'), ('delete_payment(NULL)'), ('unpaid_appointments(NULL)'),
    ('list_payments(''{"limit": {"a": 1}}'')'), ('list_appointments(''{"date_from": ["2030-01-01"]}'')')
) AS t(f);
-- Stored verbatim: SQL fragments, quotes, emoji, RTL marks, markup, 100 kB of notes.
SELECT regress.call(format('SELECT (api.create_patient(%L) ->> %L) = %L', json_build_object('name', v, 'notes', v), 'notes', v)) AS verbatim
  FROM (VALUES ('Robert''); DROP TABLE ta.patients; --'), ('" OR 1=1 --'), ('😀 Zażółć gęślą jaźń 🧠'),
               (E'\u202Eksiwok\u202C'), ('<script>alert(1)</script>'), (E'tab\tand\nnewline'), ('\\x00 \\u0000 %s %n')) AS t(v);
SELECT regress.call(format('SELECT length(api.create_session_note(%L) ->> %L)',
       json_build_object('patient_id', :jan, 'content', repeat('Długa notatka. ', 7000)), 'content'));
-- Refused: NUL (JSON \u0000) in any text, 100 kB where the field is short.
SELECT regress.call(format('SELECT api.create_patient(%L)', b)) FROM (VALUES
    ('{"name": "Jan\u0000Kowalski"}'), ('{"name": "Ok", "notes": "a\u0000b"}'),
    ('{"name": "' || repeat('x', 100000) || '"}'), ('{"name": "Ok", "email": "' || repeat('x', 100000) || '@example.com"}')
) AS t(b);
SELECT regress.call(format('SELECT api.create_session_note(%L)', json_build_object('patient_id', :jan, 'content', repeat('x', 200001))));
SELECT regress.call($$SELECT api.list_patients('{"search": "a\u0000b"}')$$);
SELECT regress.call($$SELECT api.login('{"username": "a\u0000b", "password": "x"}')$$);
SELECT regress.call($$SELECT api.register('{"email": "a@example.com", "password": "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}')$$);
-- A failing payment leaves no payment behind and marks nothing paid.
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 1,
       'payment_method', 'CASH', 'appointment_ids', api.unpaid_appointments(:jan))));
RESET ROLE;
SELECT regress.row_counts() AS after, :'before' AS before;
