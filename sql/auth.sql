-- Accounts: registering a practice with its therapist, logging in and out, the caller's
-- account and its password.

-- A username or e-mail longer than any e-mail address may be (254 bytes) is refused before
-- any work: it would otherwise reach the login count's index (too large a row: a 500).
CREATE FUNCTION ta.require_email_length(address text, field text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF octet_length(address) > 254 THEN
        PERFORM ta.raise('22023', 'Adres email może mieć najwyżej 254 bajty', field);
    END IF;
END $$;

-- The rules every new password follows (register, password change).
CREATE FUNCTION ta.require_new_password(secret text, field text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF secret IS NULL THEN
        PERFORM ta.raise('22023', 'Hasło jest wymagane', field);
    ELSIF length(secret) < 8 THEN
        PERFORM ta.raise('22023', 'Hasło musi mieć co najmniej 8 znaków', field);
    ELSIF octet_length(secret) > 72 THEN
        PERFORM ta.raise('22023', 'Hasło może mieć najwyżej 72 bajty', field);
    END IF;
END $$;

-- A bearer token for u: its id, e-mail and practice, the token version (ver: a password
-- change ends every older token) and a random jti (logout ends this one token).
CREATE FUNCTION ta.issue_token(u ta.users) RETURNS json
    LANGUAGE plpgsql AS $$
DECLARE
    now_s bigint := extract(epoch FROM now())::bigint;
    s ta.settings;
BEGIN
    SELECT * INTO s FROM ta.settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'therapyassistance is not configured: the owner must run ta.configure(jwt_secret)'
            USING ERRCODE = '55000';
    END IF;
    RETURN json_build_object(
        'access_token', ta.jwt_sign(json_build_object('sub', u.id::text, 'email', u.email,
                                                      'pid', u.practice_id, 'ver', u.token_version,
                                                      'jti', gen_random_uuid(), 'iat', now_s,
                                                      'exp', now_s + s.jwt_expiration_hours * 3600),
                                    s.jwt_secret),
        'token_type', 'bearer');
END $$;
COMMENT ON FUNCTION ta.issue_token(ta.users) IS 'A signed token {sub, email, pid, ver, jti, iat, exp} for the user.';

CREATE FUNCTION api.register(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    address text;
    secret text;
    practice_id bigint;
    u ta.users;
BEGIN
    PERFORM ta.require_object(body);
    address := btrim(ta.field_text(body, 'email'));
    secret := ta.field_text(body, 'password');
    PERFORM ta.require_email_length(address, 'email');
    IF address IS NULL OR address = '' THEN
        PERFORM ta.raise('22023', 'Email jest wymagany', 'email');
    ELSIF NOT ta.is_email(address) THEN
        PERFORM ta.raise('22023', 'Nieprawidłowy adres email', 'email');
    END IF;
    PERFORM ta.require_new_password(secret, 'password');
    -- 20 registrations per address per hour (each runs bcrypt), counted before it runs.
    PERFORM ta.register_throttle(ta.client_addr());
    -- A taken address is refused before bcrypt; the unique index still decides races.
    IF EXISTS (SELECT FROM ta.users WHERE lower(users.email) = lower(address)) THEN
        PERFORM ta.raise('23505', 'Email już jest zarejestrowany', 'email');
    END IF;
    BEGIN
        INSERT INTO ta.practices (name) VALUES (address) RETURNING id INTO practice_id;
        INSERT INTO ta.users (practice_id, email, password_hash)
        VALUES (practice_id, address, crypt(secret, gen_salt('bf', 10)))
        RETURNING * INTO u;
    EXCEPTION WHEN integrity_constraint_violation THEN
        GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
        PERFORM ta.explain_violation(SQLSTATE, c, col);
    END;
    RETURN json_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at);
END $$;
COMMENT ON FUNCTION api.register(json) IS 'POST /auth/register: a new practice and its therapist.';

CREATE FUNCTION api.login(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    address text;
    secret text;
    u ta.users;
    -- bcrypt of a random string at the same cost: an unknown email costs one bcrypt
    -- too, so the answer time does not tell which emails are registered.
    dummy constant text := '$2a$10$NnRac5jddq3Fy.ZZYrBC5./nZbcJtOUoRPXOsI0GHiCOnJ7h7gx5e';
    addr inet := ta.client_addr();
BEGIN
    PERFORM ta.require_object(body);
    address := btrim(coalesce(ta.field_text(body, 'username'), ta.field_text(body, 'email')));
    secret := ta.field_text(body, 'password');
    IF address IS NULL OR address = '' THEN
        PERFORM ta.raise('22023', 'Email jest wymagany', 'username');
    ELSIF secret IS NULL THEN
        PERFORM ta.raise('22023', 'Hasło jest wymagane', 'password');
    END IF;
    PERFORM ta.require_email_length(address, 'username');
    PERFORM ta.login_throttle(lower(address), addr);
    SELECT * INTO u FROM ta.users WHERE lower(users.email) = lower(address) AND deleted_at IS NULL;
    IF NOT ta.secure_equal(crypt(secret, coalesce(u.password_hash, dummy)), coalesce(u.password_hash, dummy))
       OR u.id IS NULL THEN
        -- Answered, not raised: an error would roll back the count of this failure. The
        -- status travels in response.status (PostgREST's way); the proxy answers 401.
        PERFORM ta.login_failed(lower(address), addr);
        PERFORM set_config('response.status', '401', true);
        RETURN json_build_object('detail', 'Nieprawidłowy email lub hasło');
    END IF;
    PERFORM ta.login_succeeded(lower(address), addr);
    RETURN ta.issue_token(u);
END $$;
COMMENT ON FUNCTION api.login(json) IS 'POST /auth/login: {username or email, password} -> a bearer token.';

CREATE FUNCTION api.me() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN (SELECT json_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at)
              FROM ta.users u WHERE u.id = uid);
END $$;
COMMENT ON FUNCTION api.me() IS 'GET /auth/me: the caller''s account.';

-- Ends the caller's token: its jti is refused until its exp, when the row is forgotten.
CREATE FUNCTION api.logout() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    claims json := current_setting('request.jwt.claims')::json;
BEGIN
    DELETE FROM ta.revoked_tokens WHERE expires_at < now();
    INSERT INTO ta.revoked_tokens (jti, user_id, expires_at)
    VALUES ((claims ->> 'jti')::uuid, uid, to_timestamp(least((claims ->> 'exp')::float8, 32503680000)))
    ON CONFLICT (jti) DO NOTHING;
    RETURN json_build_object('detail', 'Wylogowano');
END $$;
COMMENT ON FUNCTION api.logout() IS 'POST /auth/logout: this token answers 401 from now on.';

-- Changes the caller's password; every token issued before answers 401 from then on, and
-- the answer carries a fresh one. A wrong current password is counted like a failed login
-- (answered 400, not raised, so that the count commits): a stolen token is no way around
-- the throttle.
CREATE FUNCTION api.change_password(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    u ta.users;
    current_secret text;
    new_secret text;
    addr inet := ta.client_addr();
BEGIN
    PERFORM ta.require_object(body);
    current_secret := ta.field_text(body, 'current_password');
    new_secret := ta.field_text(body, 'new_password');
    IF current_secret IS NULL THEN
        PERFORM ta.raise('22023', 'Obecne hasło jest wymagane', 'current_password');
    END IF;
    PERFORM ta.require_new_password(new_secret, 'new_password');
    SELECT * INTO u FROM ta.users WHERE id = uid;
    PERFORM ta.login_throttle(lower(u.email), addr);
    IF NOT ta.secure_equal(crypt(current_secret, u.password_hash), u.password_hash) THEN
        PERFORM ta.login_failed(lower(u.email), addr);
        PERFORM set_config('response.status', '400', true);
        RETURN json_build_object('detail', 'Nieprawidłowe obecne hasło');
    END IF;
    UPDATE ta.users SET password_hash = crypt(new_secret, gen_salt('bf', 10)), token_version = token_version + 1
     WHERE id = uid RETURNING * INTO u;
    RETURN (jsonb_build_object('detail', 'Hasło zostało zmienione') || ta.issue_token(u)::jsonb)::json;
END $$;
COMMENT ON FUNCTION api.change_password(json) IS
    'PUT /auth/password: {current_password, new_password}; every earlier token ends, a fresh one is answered.';
