-- Sessions that end: GET /auth/me, POST /auth/logout (this token dies, others live),
-- PUT /auth/password (every earlier token dies, the answer carries a fresh one).
CREATE FUNCTION regress.token(email text, password text DEFAULT 'haslo-testowe') RETURNS text
    LANGUAGE sql AS $$ SELECT api.login(json_build_object('username', email, 'password', password)) ->> 'access_token' $$;
-- Runs query as the bearer of token (request.jwt, as the proxy sets it).
CREATE FUNCTION regress.as_bearer(token text, query text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('request.jwt', coalesce(token, ''), false);
    RETURN regress.call(query);
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress TO regress_ta_app;
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "sesja@example.com", "password": "haslo-testowe"}') ->> 'email'$$);
SELECT regress.token('sesja@example.com') AS first \gset
SELECT regress.token('sesja@example.com') AS second \gset
-- Tokens carry the token version and a jti of their own.
SELECT (SELECT string_agg(k, ',' ORDER BY k) FROM json_object_keys(ta_claims) k) AS claims,
       ta_claims ->> 'ver' AS ver
  FROM (SELECT convert_from(decode(translate(split_part(:'first', '.', 2), '-_', '+/')
                                   || repeat('=', (4 - length(split_part(:'first', '.', 2)) % 4) % 4), 'base64'),
                            'UTF8')::json AS ta_claims) t;
SELECT :'first' <> :'second' AS tokens_differ;
SELECT regress.as_bearer(:'first', $$SELECT api.me() ->> 'email'$$);
SELECT regress.as_bearer(:'first', $$SELECT json_object_keys(api.me())$$);
-- Logout ends this token only.
SELECT regress.as_bearer(:'first', $$SELECT api.logout()$$);
SELECT regress.as_bearer(:'first', $$SELECT api.me() ->> 'email'$$) AS after_logout;
SELECT regress.as_bearer(:'first', $$SELECT api.list_patients('{}')$$) AS after_logout;
SELECT regress.as_bearer(:'first', $$SELECT api.logout()$$) AS logout_again;
SELECT regress.as_bearer(:'second', $$SELECT api.me() ->> 'email'$$) AS other_token;
-- Password change: wrong current password (400, counted as a failed login), refused new
-- passwords (422), then the change: every token issued before dies, the answer's token
-- works, the new password logs in and the old one does not.
SELECT regress.as_bearer(:'second', $$SELECT api.change_password('{"current_password": "zle-haslo", "new_password": "nowe-haslo-1"}')$$);
SELECT regress.as_bearer(:'second', $$SELECT api.change_password('{"current_password": "haslo-testowe", "new_password": "krotkie"}')$$);
SELECT regress.as_bearer(:'second', $$SELECT api.change_password('{"current_password": "haslo-testowe"}')$$);
SELECT regress.as_bearer(:'second', $$SELECT api.change_password('{"new_password": "nowe-haslo-1"}')$$);
RESET ROLE;
SELECT count(*) AS wrong_current_counted FROM ta.login_failures WHERE email = 'sesja@example.com';
SET ROLE regress_ta_app;
SELECT regress.token('sesja@example.com') AS third \gset
SELECT regress.as_bearer(:'second', $$SELECT api.change_password('{"current_password": "haslo-testowe", "new_password": "nowe-haslo-1"}')$$) AS changed \gset
SELECT (:'changed')::json ->> 'detail' AS detail, (:'changed')::json ->> 'token_type' AS token_type;
SELECT regress.as_bearer(:'second', $$SELECT api.me() ->> 'email'$$) AS older_token;
SELECT regress.as_bearer(:'third', $$SELECT api.me() ->> 'email'$$) AS older_token;
SELECT regress.as_bearer((:'changed')::json ->> 'access_token', $$SELECT api.me() ->> 'email'$$) AS answered_token;
SELECT regress.token('sesja@example.com') IS NULL AS old_password_refused;
SELECT regress.as_bearer(regress.token('sesja@example.com', 'nowe-haslo-1'), $$SELECT api.me() ->> 'email'$$) AS new_password;
-- A deleted user's tokens answer 401; the same token works again once the user is back.
SELECT regress.token('sesja@example.com', 'nowe-haslo-1') AS fourth \gset
RESET ROLE;
UPDATE ta.users SET deleted_at = now() WHERE email = 'sesja@example.com';
SET ROLE regress_ta_app;
SELECT regress.as_bearer(:'fourth', $$SELECT api.me() ->> 'email'$$) AS deleted_user;
RESET ROLE;
UPDATE ta.users SET deleted_at = NULL WHERE email = 'sesja@example.com';
SET ROLE regress_ta_app;
SELECT regress.as_bearer(:'fourth', $$SELECT api.me() ->> 'email'$$) AS restored_user;
SELECT set_config('request.jwt', '', false) IS NOT NULL;
RESET ROLE;
-- Logged-out tokens are kept only until they would have expired.
SELECT count(*) AS revoked, bool_and(expires_at > now() + interval '23 hours') AS until_exp FROM ta.revoked_tokens;
