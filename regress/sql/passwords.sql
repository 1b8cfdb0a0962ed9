-- Registration and login: bcrypt through pgcrypto (cost 10), one message for a wrong
-- password and an unknown email, and validation of what registers.
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "Celina@Gabinet-C.example.com", "password": "dobrehaslo"}')$$);
-- Taken, whatever the case.
SELECT regress.call($$SELECT api.register('{"email": "celina@gabinet-c.example.com", "password": "innehaslo1"}')$$);
SELECT regress.call($$SELECT api.register('{"email": "CELINA@GABINET-C.EXAMPLE.COM", "password": "innehaslo1"}')$$);
-- Refused input.
SELECT regress.call(format('SELECT api.register(%L)', b)) FROM (VALUES
    ('{"email": "nowa@example.com", "password": "krotkie"}'),
    ('{"email": "nowa@example.com", "password": "ąęśćżźół"}'),
    ('{"email": "nowa@example.com"}'),
    ('{"password": "dobrehaslo"}'),
    ('{"email": "", "password": "dobrehaslo"}'),
    ('{"email": "to nie email", "password": "dobrehaslo"}'),
    ('{"email": 42, "password": "dobrehaslo"}'),
    ('{"email": "nowa@example.com", "password": 12345678}'),
    ('{"email": "nowa@example.com", "password": null}'),
    ('{"email": "nowa@example.com", "password": "' || repeat('x', 73) || '"}'),
    ('[]'),
    ('"email"'),
    ('null')
) AS t(b);
SELECT regress.call('SELECT api.register(NULL)');

-- Login: by username (the form field) or email, case-insensitive email.
SELECT regress.call($$SELECT api.login('{"username": "celina@gabinet-c.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$);
SELECT regress.call($$SELECT api.login('{"email": "CELINA@gabinet-c.example.com", "password": "dobrehaslo"}') ->> 'token_type'$$);
SELECT regress.call($$SELECT length(api.login('{"username": "celina@gabinet-c.example.com", "password": "dobrehaslo"}') ->> 'access_token') > 100$$);
-- Wrong password and unknown email: the same answer.
SELECT regress.call($$SELECT api.login('{"username": "celina@gabinet-c.example.com", "password": "zlehaslo1"}')$$);
SELECT regress.call($$SELECT api.login('{"username": "nikt@example.com", "password": "dobrehaslo"}')$$);
SELECT regress.call($$SELECT api.login('{"username": "celina@gabinet-c.example.com", "password": ""}')$$);
SELECT regress.call($$SELECT api.login('{"username": "celina@gabinet-c.example.com"}')$$);
SELECT regress.call($$SELECT api.login('{"password": "dobrehaslo"}')$$);
SELECT regress.call($$SELECT api.login('{"username": "'' OR ''1''=''1", "password": "'' OR ''1''=''1"}')$$);
RESET ROLE;

-- Stored as bcrypt with cost 10, never the password itself.
SELECT email, password_hash ~ '^\$2a\$10\$.{53}$' AS bcrypt_cost_10, password_hash <> 'dobrehaslo' AS not_plain
  FROM ta.users WHERE email ILIKE 'celina@%';
-- The token's claims name the user and the practice.
SELECT c ->> 'email' AS email, (c ->> 'sub')::bigint = u.id AS sub_is_user, (c ->> 'pid')::bigint = u.practice_id AS pid_is_practice,
       (c ->> 'exp')::bigint - (c ->> 'iat')::bigint AS lifetime_seconds
  FROM ta.users u,
       ta.jwt_verify(api.login('{"username": "celina@gabinet-c.example.com", "password": "dobrehaslo"}') ->> 'access_token',
                     (SELECT jwt_secret FROM ta.settings)) c
 WHERE u.email ILIKE 'celina@%';

-- A deleted user can neither log in nor use a token issued before.
SET ROLE regress_ta_app;
SELECT regress.login('celina@gabinet-c.example.com', 'dobrehaslo');
SELECT regress.call($$SELECT json_array_length(api.list_patients('{}'))$$);
RESET ROLE;
UPDATE ta.users SET deleted_at = now() WHERE email ILIKE 'celina@%';
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT json_array_length(api.list_patients('{}'))$$);
SELECT regress.call($$SELECT api.login('{"username": "celina@gabinet-c.example.com", "password": "dobrehaslo"}')$$);
RESET ROLE;

SELECT ta.secure_equal('abc', 'abc'), ta.secure_equal('abc', 'abd'), ta.secure_equal('abc', 'abcd'), ta.secure_equal('', '');
