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
-- holding the app role's password learns nothing by setting request.jwt.claims). The public
-- calendar feed takes its own secret from the path instead (calendar_feed.sql).
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
   AND p.proname NOT IN ('register', 'login', 'health', 'schema_version', 'calendar_feed')
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
-- Signed claims as the caller check reads them (issue 18: ta.caller() is C in the extension,
-- PL/pgSQL in the plain-SQL install; both answer each alike): sub and pid of 1-18 digits, ver
-- of 1-9, jti a lower-case uuid, each a JSON string or number, escapes decoded, the last of a
-- repeated member; a version, practice or jti that is not the user's live one is 401, and so
-- is anything else. (%1 Anna, %2 her practice, %3 a fresh jti, %4 Anna's id in \u escapes,
-- %5 Bruno's practice, %6 a logged-out jti.) Answers: how many patients the token shows.
RESET ROLE;
INSERT INTO ta.revoked_tokens VALUES ('0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5a', :anna, now() + interval '1 hour');
SET ROLE regress_ta_app;
SELECT t.what, set_config('request.jwt', regress.forge('{"alg":"HS256","typ":"JWT"}',
           format(t.claims, :'anna', :'anna_practice', gen_random_uuid(),
                  (SELECT string_agg('\u003' || d, '') FROM regexp_split_to_table(:'anna', '') d),
                  :'bruno_practice', '0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5a'), :'secret'), false) IS NULL AS unset,
       regress.call($$SELECT json_array_length(api.list_patients('{}'))$$) AS answer
  FROM (VALUES
    ('as issued', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('all strings', '{"sub":"%1$s","pid":"%2$s","ver":"0","jti":"%3$s","exp":4102444800}'),
    ('numbers', '{"sub":%1$s,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub escaped', '{"sub":"%4$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('name escaped', '{"s\u0075b":"%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub twice, last good', '{"sub":"x","sub":"%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub twice, last bad', '{"sub":"%1$s","sub":"x","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub twice, last object', '{"sub":"%1$s","sub":{"a":1},"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('pid twice, last Anna''s', '{"sub":"%1$s","pid":%5$s,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('pid twice, last Bruno''s', '{"sub":"%1$s","pid":%2$s,"pid":%5$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('nested sub ignored', '{"x":{"sub":"y","a":[{"sub":1}]},"sub":"%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('only a nested sub', '{"x":{"sub":"%1$s"},"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub 18 digits', '{"sub":"00000000000000000%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub 19 digits', '{"sub":"000000000000000000%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub empty', '{"sub":"","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub missing', '{"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub null', '{"sub":null,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub true', '{"sub":true,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub in an array', '{"sub":[%1$s],"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub negative', '{"sub":-%1$s,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub fraction', '{"sub":%1$s.0,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub exponent', '{"sub":%1$se0,"pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub plus', '{"sub":"+%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub space', '{"sub":" %1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub newline', '{"sub":"%1$s\n","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub Arabic-Indic digit', '{"sub":"%1$s\u0661","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('sub 10 kB', '{"sub":"' || repeat('9', 10000) || '","pid":%2$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('pid 19 digits', '{"sub":"%1$s","pid":"000000000000000000%2$s","ver":0,"jti":"%3$s","exp":4102444800}'),
    ('pid zero', '{"sub":"%1$s","pid":0,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('pid missing', '{"sub":"%1$s","ver":0,"jti":"%3$s","exp":4102444800}'),
    ('other practice', '{"sub":"%1$s","pid":%5$s,"ver":0,"jti":"%3$s","exp":4102444800}'),
    ('ver 9 digits', '{"sub":"%1$s","pid":%2$s,"ver":"000000000","jti":"%3$s","exp":4102444800}'),
    ('ver 10 digits', '{"sub":"%1$s","pid":%2$s,"ver":"0000000000","jti":"%3$s","exp":4102444800}'),
    ('ver other', '{"sub":"%1$s","pid":%2$s,"ver":1,"jti":"%3$s","exp":4102444800}'),
    ('ver missing', '{"sub":"%1$s","pid":%2$s,"jti":"%3$s","exp":4102444800}'),
    ('ver negative zero', '{"sub":"%1$s","pid":%2$s,"ver":-0,"jti":"%3$s","exp":4102444800}'),
    ('jti logged out', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"%6$s","exp":4102444800}'),
    ('jti upper case', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"0B3E8C1A-5F0D-4C2B-9A6E-7D1F2E3C4B5B","exp":4102444800}'),
    ('jti without dashes', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"0b3e8c1a5f0d4c2b9a6e7d1f2e3c4b5b","exp":4102444800}'),
    ('jti in braces', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"{0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5b}","exp":4102444800}'),
    ('jti not hex', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5g","exp":4102444800}'),
    ('jti one short', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5","exp":4102444800}'),
    ('jti a number', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":1,"exp":4102444800}'),
    ('jti missing', '{"sub":"%1$s","pid":%2$s,"ver":0,"exp":4102444800}'),
    ('only exp', '{"exp":4102444800}'),
    ('expired', '{"sub":"%1$s","pid":%2$s,"ver":0,"jti":"%3$s","exp":1000000000}')) t(what, claims);
SELECT set_config('request.jwt', '', false) IS NOT NULL;
RESET ROLE;
DELETE FROM ta.revoked_tokens WHERE jti = '0b3e8c1a-5f0d-4c2b-9a6e-7d1f2e3c4b5a';
SET ROLE regress_ta_app;
-- The 401 as the proxy reads it: SQLSTATE and message, no detail, hint or column.
SELECT set_config('request.jwt', 'not.a.token', false) IS NULL;
DO $$
DECLARE
    code text; message text; detail text; hint text; field text;
BEGIN
    PERFORM api.me();
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT, field = COLUMN_NAME;
    RAISE NOTICE '%', ARRAY[code, message, detail, hint, field];
END $$;
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
