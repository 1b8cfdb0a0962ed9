-- The practice of row-level security (issue 18): ta.current_practice_id() reads ta.claims_pid,
-- which ta.set_claims sets with the claims, and parses the claims only when it is empty. A
-- session that sets ta.claims_pid itself gains nothing: the api replaces it with the token's.
RESET ROLE;
SELECT u.id AS anna, u.practice_id AS anna_practice,
       (SELECT practice_id FROM ta.users WHERE email LIKE 'bruno@%') AS bruno_practice
  FROM ta.users u WHERE u.email LIKE 'anna@%' \gset
SET ROLE regress_ta_app;
-- Anna's token with ta.claims_pid (and the claims) naming Bruno's practice: Anna's rows only.
SELECT regress.login('anna@gabinet-a.example.com');
SELECT set_config('ta.claims_pid', :'bruno_practice', false) IS NOT NULL,
       set_config('request.jwt.claims', json_build_object('sub', :'anna', 'pid', :bruno_practice)::text, false) IS NOT NULL;
SELECT regress.call($$SELECT json_agg(p ->> 'name' ORDER BY p ->> 'name') FROM json_array_elements(api.list_patients('{}')) p$$);
-- ... and without a token: 401, whatever ta.claims_pid says.
SELECT set_config('request.jwt', '', false) IS NOT NULL;
SELECT regress.call($$SELECT api.list_patients('{}')$$) AS no_token;
SELECT set_config('ta.claims_pid', '', false) IS NOT NULL, set_config('request.jwt.claims', '', false) IS NOT NULL;
RESET ROLE;

-- The owner (bound by FORCE): the practice follows ta.set_claims, and claims set any other way
-- are parsed; ta.set_claims('') is no practice.
SET ROLE regress_ta_owner;
BEGIN;
SELECT ta.set_claims(json_build_object('sub', :'anna', 'pid', :anna_practice)::text);
SELECT ta.current_practice_id() = :anna_practice AS anna, current_setting('ta.claims_pid') = :'anna_practice' AS noted;
SELECT count(*) = (SELECT count(*) FROM ta.patients WHERE practice_id = :anna_practice) AS only_anna FROM ta.patients;
SELECT ta.set_claims('');
SELECT ta.current_practice_id() IS NULL AS none, (SELECT count(*) FROM ta.patients) AS patients;
COMMIT;
SELECT set_config('request.jwt.claims', json_build_object('pid', :bruno_practice)::text, false) IS NOT NULL;
SELECT coalesce(current_setting('ta.claims_pid', true), '') AS pid_setting, ta.current_practice_id() = :bruno_practice AS parsed;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
RESET ROLE;
