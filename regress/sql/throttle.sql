-- Login throttling that cannot lock the owner out. Failures count per account and
-- address: 10 in 15 minutes refuse that account to that address only; an address is refused
-- every account only after 100; an account guessed at from many addresses (100 failures) is
-- then refused to addresses it never logged in from, never to one it did. Refusals are
-- PT429 before any bcrypt; failures are committed with their 401 (response.status).
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "Dorota@Gabinet-D.example.com", "password": "dobrehaslo"}') ->> 'email'$$);
SELECT set_config('request.client_addr', '203.0.113.7', false);
-- Ten wrong passwords from one address: each answers 401 and is counted (the email in any
-- case is one account).
SELECT n, regress.call(format('SELECT api.login(%L)', json_build_object(
          'username', CASE WHEN n % 2 = 0 THEN 'dorota@gabinet-d.example.com' ELSE ' DOROTA@gabinet-d.example.com' END,
          'password', 'zle-haslo-' || n)))
  FROM generate_series(1, 10) n;
-- The eleventh attempt from that address is refused before the password is checked, even
-- the right one, and says when to retry.
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
-- The same address may still log into another account (an office's colleague) ...
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}') ->> 'token_type'$$);
-- ... and the owner, from an address that took no part in the guessing, logs in.
SELECT set_config('request.client_addr', '198.51.100.20', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$);
-- Her login clears only her own address's failures: the guesser's still count.
SELECT set_config('request.client_addr', '203.0.113.7', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}')$$);
RESET ROLE;
-- Counted per lower(email) and address; nothing else about the attempt is kept. Addresses
-- an account logged in from are remembered.
SELECT email, host(client_addr), count(*) FROM ta.login_failures GROUP BY 1, 2 ORDER BY 1, 2;
SELECT email, host(client_addr) FROM ta.login_addresses ORDER BY 1, 2;

-- One address guessing across accounts: refused every account only at 100 failures.
INSERT INTO ta.login_failures (email, client_addr) SELECT 'konto' || n || '@example.com', '192.0.2.50'
  FROM generate_series(1, 99) n;
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '192.0.2.50', false);
SELECT regress.call($$SELECT api.login('{"username": "ktos@example.com", "password": "zle-haslo"}')$$) AS hundredth;
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}')$$) AS after_100;
SELECT set_config('request.client_addr', '192.0.2.51', false);
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}') ->> 'token_type'$$) AS next_address;
RESET ROLE;

-- One account guessed at from a hundred addresses (a botnet): a new address is refused
-- it, an address it logged in from before (198.51.100.20, above) is not.
INSERT INTO ta.login_failures (email, client_addr) SELECT 'dorota@gabinet-d.example.com', ('10.0.' || n / 250 || '.' || n % 250 + 1)::inet
  FROM generate_series(1, 100) n;
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '192.0.2.77', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}')$$) AS new_address;
SELECT set_config('request.client_addr', '198.51.100.20', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$) AS known_address;
-- Without an address (a call outside the proxy) the account's address-less failures count.
SELECT set_config('request.client_addr', '', false);
SELECT regress.call($$SELECT api.login('{"username": "anna@gabinet-a.example.com", "password": "haslo-testowe"}') ->> 'token_type'$$);
-- Unknown emails are counted like known ones: the answer never tells them apart (the
-- first of these ten failures was left by passwords.sql).
SELECT n, regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "zle-haslo"}')$$)
  FROM generate_series(1, 11) n;
RESET ROLE;

-- Fifteen minutes later the window is empty again: the guessing address logs in.
UPDATE ta.login_failures SET at = at - interval '15 minutes 1 second' WHERE email LIKE 'dorota@%';
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '203.0.113.7', false);
SELECT regress.call($$SELECT api.login('{"username": "dorota@gabinet-d.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$);
RESET ROLE;
SELECT email, count(*) FROM ta.login_failures WHERE client_addr IS NULL GROUP BY 1 ORDER BY 1;
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
SELECT count(*) FROM ta.login_addresses;
SELECT count(*) FROM ta.registrations;
RESET ROLE;

-- A username or e-mail over 254 bytes is refused before any work (it used to reach the
-- failures' index: a 500 for a 3 kB name).
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.login(%L)', json_build_object('username', repeat('a', 3000) || '@example.com', 'password', 'x')));
SELECT regress.call(format('SELECT api.login(%L)', json_build_object('username', repeat('a', 243) || '@example.com', 'password', 'x')));
SELECT regress.call(format('SELECT api.register(%L)', json_build_object('email', repeat('a', 3000) || '@example.com', 'password', 'dobrehaslo')));
RESET ROLE;

-- Registrations: 20 per address per hour, then PT429 with the wait in DETAIL; another
-- address may register. (19 counted by hand, then the 20th and 21st through the api.)
INSERT INTO ta.registrations (client_addr) SELECT '192.0.2.88' FROM generate_series(1, 19);
SET ROLE regress_ta_app;
SELECT set_config('request.client_addr', '192.0.2.88', false);
SELECT regress.call($$SELECT api.register('{"email": "rejestracja-20@example.com", "password": "dobrehaslo"}') ->> 'email'$$);
SELECT regress.call($$SELECT api.register('{"email": "rejestracja-21@example.com", "password": "dobrehaslo"}') ->> 'email'$$);
DO $$
DECLARE
    d text;
BEGIN
    PERFORM api.register('{"email": "rejestracja-21@example.com", "password": "dobrehaslo"}');
EXCEPTION WHEN SQLSTATE 'PT429' THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'retry after between 3590 and 3600 s: %', d::integer BETWEEN 3590 AND 3600;
END $$;
SELECT set_config('request.client_addr', '192.0.2.89', false);
SELECT regress.call($$SELECT api.register('{"email": "rejestracja-21@example.com", "password": "dobrehaslo"}') ->> 'email'$$);
SELECT set_config('request.client_addr', '', false);
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
