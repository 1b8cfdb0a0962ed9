-- Tenancy: each practice sees and touches only its own rows, whatever ids it sends,
-- and the application role reaches nothing but the api.
SET ROLE regress_ta_app;
SELECT regress.login('bruno@gabinet-b.example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Pacjent Bruna"}') ->> 'name'$$);
RESET ROLE;
SELECT id AS bp FROM ta.patients WHERE name = 'Pacjent Bruna' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''date''', json_build_object('patient_id', :bp,
       'date', '2030-01-07', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)));
SELECT regress.call(format('SELECT api.create_session_note(%L) ->> ''content''', json_build_object('patient_id', :bp, 'content', 'Notatka Bruna')));
RESET ROLE;
SELECT id AS ba FROM ta.appointments WHERE patient_id = :bp \gset
SELECT id AS bn FROM ta.session_notes WHERE patient_id = :bp \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.create_payment(%L) ->> ''amount''', json_build_object('patient_id', :bp, 'amount', 200,
       'payment_method', 'CASH', 'appointment_ids', json_build_array(:ba))));
RESET ROLE;
SELECT id AS bpay FROM ta.payments WHERE patient_id = :bp \gset
SELECT id AS jan FROM ta.patients WHERE name = 'Jan Kowalski' \gset
SELECT id AS ja FROM ta.appointments WHERE patient_id = :jan AND payment_id IS NULL AND deleted_at IS NULL ORDER BY id LIMIT 1 \gset
SELECT regress.row_counts() AS before \gset

-- Anna, with Bruno's ids: every route answers 404 as for a missing id, and nothing changes.
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
SELECT regress.call(q) FROM (VALUES
    (format('SELECT api.get_patient(%s)', :bp)),
    (format('SELECT api.update_patient(%s, ''{"name": "Przejęty"}'')', :bp)),
    (format('SELECT api.delete_patient(%s)', :bp)),
    (format('SELECT api.get_appointment(%s)', :ba)),
    (format('SELECT api.update_appointment(%s, ''{"price": 1}'')', :ba)),
    (format('SELECT api.delete_appointment(%s)', :ba)),
    (format('SELECT api.list_patient_session_notes(%s, ''{}'')', :bp)),
    (format('SELECT api.get_session_note(%s)', :bn)),
    (format('SELECT api.update_session_note(%s, ''{"content": "x"}'')', :bn)),
    (format('SELECT api.delete_session_note(%s)', :bn)),
    (format('SELECT api.get_payment(%s)', :bpay)),
    (format('SELECT api.update_payment(%s, ''{"amount": 1}'')', :bpay)),
    (format('SELECT api.delete_payment(%s)', :bpay)),
    (format('SELECT api.unpaid_appointments(%s)', :bp)),
    (format('SELECT api.create_appointment(%L)', json_build_object('patient_id', :bp, 'date', '2031-01-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 1))),
    (format('SELECT api.create_session_note(%L)', json_build_object('patient_id', :bp, 'content', 'x'))),
    (format('SELECT api.create_payment(%L)', json_build_object('patient_id', :bp, 'amount', 1, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:ba)))),
    -- her own patient with his appointment or note: refused too
    (format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 999, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:ja, :ba)))),
    (format('SELECT api.update_appointment(%s, %L)', :ja, json_build_object('session_note_id', :bn))),
    (format('SELECT api.update_appointment(%s, %L)', :ja, json_build_object('patient_id', :bp)))
) AS t(q);
-- Lists and statistics hold only her rows; his booking does not collide with hers.
SELECT regress.call($$SELECT json_agg(p ->> 'name') FROM json_array_elements(api.list_patients('{"search": "Bruna"}')) p$$);
SELECT regress.call($$SELECT count(*) FROM json_array_elements(api.list_session_notes('{}')) n WHERE n ->> 'content' LIKE '%Bruna%'$$);
SELECT regress.call($$SELECT api.list_payments('{}') -> 'total'$$);
SELECT regress.call($$SELECT api.payment_statistics('{}') -> 'total_payments'$$);
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''start_time''', json_build_object('patient_id', :jan,
       'date', '2030-01-07', 'start_time', '10:00', 'end_time', '10:50', 'price', 150)));
RESET ROLE;
SELECT :'before' AS before, regress.row_counts() AS after_her_booking;

-- The application role cannot touch a table, nor call internals.
SET ROLE regress_ta_app;
SELECT * FROM ta.patients;
INSERT INTO ta.patients (practice_id, name) VALUES (1, 'x');
UPDATE ta.appointments SET payment_id = NULL;
DELETE FROM ta.payments;
SELECT ta.current_practice_id();
SELECT ta.configure('a-new-secret-that-is-long-enough-0123456789');
-- The api trusts no claims it did not verify itself: it reads the token (request.jwt), checks
-- it with the secret in ta.settings, and replaces request.jwt.claims with what the token says.
-- Claims without a token: every api function that needs a caller answers 401 (the session
-- holding the app role's password learns nothing by setting request.jwt.claims).
RESET ROLE;
SELECT u.id AS anna, u.practice_id AS anna_practice,
       (SELECT practice_id FROM ta.users WHERE email LIKE 'bruno@%') AS bruno_practice
  FROM ta.users u WHERE u.email LIKE 'anna@%' \gset
SET ROLE regress_ta_app;
SELECT set_config('request.jwt', '', false) IS NOT NULL;
SELECT set_config('request.jwt.claims', json_build_object('sub', :'anna', 'pid', :anna_practice)::text, false) IS NOT NULL;
SELECT p.proname, regress.call(format('SELECT %s(%s)', p.oid::regproc,
           (SELECT string_agg(CASE t WHEN 'bigint'::regtype THEN '1' ELSE '''{}''' END, ', ')
              FROM unnest(p.proargtypes::regtype[]) t))) AS answer
  FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
   AND p.proname NOT IN ('register', 'login', 'health', 'schema_version')
 ORDER BY 1;
-- Anna's real token with claims naming Bruno's practice: Anna's rows, never Bruno's.
SELECT regress.login('anna@gabinet-a.example.com');
SELECT set_config('request.jwt.claims', json_build_object('sub', :'anna', 'pid', :bruno_practice)::text, false) IS NOT NULL;
SELECT regress.call($$SELECT json_agg(p ->> 'name' ORDER BY p ->> 'name') FROM json_array_elements(api.list_patients('{}')) p$$);
-- Tokens it could forge: signed with another secret, unsigned, of a 1.0 login (no ver, no
-- jti), of an unknown user, with a non-numeric sub; none gets in.
RESET ROLE;
SELECT jwt_secret AS secret FROM ta.settings \gset
SET ROLE regress_ta_app;
SELECT t.what, set_config('request.jwt', t.token, false) IS NULL AS unset,
       regress.call($$SELECT api.list_patients('{}')$$) AS answer
  FROM (VALUES
    ('other secret', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', :'anna', 'pid', :anna_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text,
        'another-secret-that-is-long-enough-0123456789')),
    ('alg none', regress.b64url('{"alg":"none"}') || '.' || regress.b64url(
        json_build_object('sub', :'anna', 'pid', :anna_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text) || '.'),
    ('1.0 token', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', :'anna', 'pid', :anna_practice, 'exp', 4102444800)::text, :'secret')),
    ('unknown user', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', '999999', 'pid', :anna_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text, :'secret')),
    ('other practice', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', :'anna', 'pid', :bruno_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text, :'secret')),
    ('sub not a number', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', '1 OR true', 'pid', :anna_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text, :'secret')),
    ('garbage', 'not.a.token')) t(what, token);
-- The plain-SQL install's backend remembers its last verified token (ta.token_cache, an HMAC
-- under the secret, then the claims); a session may set that too, but an entry it made up (or
-- one made for another token) is ignored and the token is verified in full.
SELECT set_config('request.jwt', 'not.a.token', false) IS NULL,
       set_config('ta.token_cache', repeat('0', 64) || ' ' || json_build_object('sub', :'anna', 'pid', :anna_practice, 'ver', 0,
                  'jti', gen_random_uuid(), 'exp', 4102444800)::text, false) IS NULL;
SELECT regress.call($$SELECT api.list_patients('{}')$$) AS made_up_entry;
SELECT regress.login('anna@gabinet-a.example.com');
SELECT regress.call($$SELECT json_array_length(api.list_patients('{}'))$$) AS remembered;
SELECT coalesce(current_setting('ta.token_cache', true), '') AS entry \gset
SELECT set_config('request.jwt', regress.forge('{"alg":"HS256","typ":"JWT"}',
        json_build_object('sub', :'anna', 'pid', :anna_practice, 'ver', 0, 'jti', gen_random_uuid(), 'exp', 4102444800)::text,
        'another-secret-that-is-long-enough-0123456789'), false) IS NULL;
SELECT set_config('ta.token_cache', :'entry', false) IS NULL;
SELECT regress.call($$SELECT api.list_patients('{}')$$) AS entry_of_another_token;
SELECT set_config('request.jwt', '', false) IS NOT NULL, set_config('request.jwt.claims', '', false) IS NOT NULL;
RESET ROLE;

-- The owner is bound too (FORCE): without claims it sees nothing; with a practice's claims,
-- that practice only; and it cannot delete a record (there is no DELETE policy).
SET ROLE regress_ta_owner;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT (SELECT count(*) FROM ta.patients) AS patients, (SELECT count(*) FROM ta.appointments) AS appointments,
       (SELECT count(*) FROM ta.session_notes) AS notes, (SELECT count(*) FROM ta.payments) AS payments;
SELECT set_config('request.jwt.claims', json_build_object('pid', :bruno_practice)::text, false) IS NOT NULL;
SELECT (SELECT count(*) FROM ta.patients) AS patients, (SELECT count(*) FROM ta.appointments) AS appointments,
       (SELECT count(*) FROM ta.session_notes) AS notes, (SELECT count(*) FROM ta.payments) AS payments;
SELECT count(*) AS other_practice_rows FROM (
    SELECT practice_id FROM ta.patients UNION ALL SELECT practice_id FROM ta.appointments
    UNION ALL SELECT practice_id FROM ta.session_notes UNION ALL SELECT practice_id FROM ta.payments) r
 WHERE practice_id <> :bruno_practice;
DELETE FROM ta.session_notes;
INSERT INTO ta.patients (practice_id, name) VALUES (:bruno_practice + 1, 'Podrzucony');
UPDATE ta.patients SET practice_id = practice_id + 1;
RESET ROLE;
SELECT regress.row_counts() AS after_owner_attempts;
