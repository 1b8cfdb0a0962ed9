-- Login throttling: ten failed logins in fifteen minutes, per account or per client
-- address, refuse further logins with PT429 (correct password or not) until the oldest
-- of them leaves the window. Failures are committed with their 401 (response.status).
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "Dorota@Gabinet-D.example.com", "password": "dobrehaslo"}') ->> 'email'$$);
SELECT set_config('request.client_addr', '203.0.113.7', false);
-- Ten wrong passwords: each answers 401 and is counted (the email in any case is one account).
SELECT n, regress.call(format('SELECT api.login(%L)', json_build_object(
          'username', CASE WHEN n % 2 = 0 THEN 'dorota@gabinet-d.example.com' ELSE ' DOROTA@gabinet-d.example.com' END,
          'password', 'zle-haslo-' || n)))
  FROM generate_series(1, 10) n;
-- The eleventh attempt is refused before the password is checked, even the right one,
-- from this address or any other, and says when to retry.
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}')$$);
SELECT set_config('request.client_addr', '198.51.100.20', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}')$$);
-- DETAIL carries the wait in seconds (what the proxy sends as Retry-After).
DO $$
DECLARE
    d text;
BEGIN
    PERFORM api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}');
EXCEPTION WHEN SQLSTATE 'PT429' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'retry after between 890 and 900 s: %', d::integer BETWEEN 890 AND 900;
END $$;
RESET ROLE;
-- Counted per lower(email) and address; nothing else about the attempt is kept.
SELECT email, host(client_addr), count(*) FROM ta.login_failures GROUP BY 1, 2 ORDER BY 1, 2;

-- Per address: the locked-out address may not try another account either (an unknown one
-- included); another address may.
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '203.0.113.7', false);
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}')$$);
SELECT regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "haslo-testowe"}')$$);
SELECT set_config('request.client_addr', '198.51.100.20', false);
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}') ->> 'token_type'$$);
-- Without an address (a call outside the proxy) only the account counts.
SELECT set_config('request.client_addr', '', false);
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}') ->> 'token_type'$$);
-- Unknown emails are counted like known ones: the answer never tells them apart (the
-- first of these ten failures was left by passwords.sql).
SELECT n, regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "zle-haslo"}')$$)
  FROM generate_series(1, 11) n;
RESET ROLE;

-- Fifteen minutes later the window is empty again: the right password logs in and clears
-- the account's failures (and with them their count against the address); other
-- accounts' failures stay.
UPDATE ta.login_failures SET at = at - interval '15 minutes 1 second' WHERE email LIKE 'dorota@%';
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '203.0.113.7', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$);
RESET ROLE;
SELECT email, count(*) FROM ta.login_failures GROUP BY 1 ORDER BY 1;
-- Nine failures, the oldest 14 minutes old: one short, so a wrong password is still a 401.
UPDATE ta.login_failures SET at = now() - interval '14 minutes' WHERE email = 'nikt@example.com'
   AND id IN (SELECT id FROM ta.login_failures WHERE email = 'nikt@example.com' ORDER BY id LIMIT 1);
DELETE FROM ta.login_failures WHERE email = 'nikt@example.com'
   AND id NOT IN (SELECT id FROM ta.login_failures WHERE email = 'nikt@example.com' ORDER BY id LIMIT 9);
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '', false);
SELECT regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "zle-haslo"}')$$);
-- Now ten: locked until the oldest (14 minutes old) leaves the window.
SELECT regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "zle-haslo"}')$$);
-- The application role cannot read or reset the counts.
SELECT count(*) FROM ta.login_failures;
DELETE FROM ta.login_failures;
RESET ROLE;

-- An unknown email costs what a wrong password costs, by design rather than by luck: each
-- checks exactly one bcrypt hash (the unknown one a dummy's), of the cost real hashes have,
-- and records one failure. (Counted within one transaction: the statistics are not flushed
-- before it ends.)
CREATE FUNCTION regress.calls(fn name) RETURNS bigint
    LANGUAGE sql AS $$ SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions WHERE funcname = fn), 0) $$;
SET track_functions = 'all';
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '192.0.2.99', false);
BEGIN;
SELECT regress.calls('crypt') AS crypt0, regress.calls('login_failed') AS failed0 \gset
SELECT regress.call($$SELECT api.login('{"username": "ktos-nowy@example.com", "password": "zle-haslo"}')$$) AS unknown_email;
SELECT regress.calls('crypt') - :crypt0 AS bcrypt_checks, regress.calls('login_failed') - :failed0 AS failures_recorded;
SELECT regress.calls('crypt') AS crypt0, regress.calls('login_failed') AS failed0 \gset
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "zle-haslo"}')$$) AS wrong_password;
SELECT regress.calls('crypt') - :crypt0 AS bcrypt_checks, regress.calls('login_failed') - :failed0 AS failures_recorded;
ROLLBACK;
RESET ROLE;
RESET track_functions;
SELECT substring(prosrc FROM 'dummy constant text := ''(\$2a\$[0-9]+\$)') AS dummy_hash_cost,
       (SELECT DISTINCT substring(password_hash FROM '^\$2a\$[0-9]+\$') FROM ta.users) AS real_hash_cost
  FROM pg_proc WHERE oid = 'api.login(json)'::regprocedure;
