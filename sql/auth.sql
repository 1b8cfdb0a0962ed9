-- Accounts: registering a practice with its therapist, and logging in.

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
    IF address IS NULL OR address = '' THEN
        PERFORM ta.raise('22023', 'Email jest wymagany', 'email');
    ELSIF NOT ta.is_email(address) THEN
        PERFORM ta.raise('22023', 'Nieprawidłowy adres email', 'email');
    ELSIF secret IS NULL THEN
        PERFORM ta.raise('22023', 'Hasło jest wymagane', 'password');
    ELSIF length(secret) < 8 THEN
        PERFORM ta.raise('22023', 'Hasło musi mieć co najmniej 8 znaków', 'password');
    ELSIF octet_length(secret) > 72 THEN
        PERFORM ta.raise('22023', 'Hasło może mieć najwyżej 72 bajty', 'password');
    END IF;
    INSERT INTO ta.practices (name) VALUES (address) RETURNING id INTO practice_id;
    INSERT INTO ta.users (practice_id, email, password_hash)
    VALUES (practice_id, address, crypt(secret, gen_salt('bf', 10)))
    RETURNING * INTO u;
    RETURN json_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.register(json) IS 'POST /auth/register: a new practice and its therapist.';

CREATE FUNCTION api.login(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    address text;
    secret text;
    u ta.users;
    s ta.settings;
    -- bcrypt of a random string at the same cost: an unknown email costs one bcrypt
    -- too, so the answer time does not tell which emails are registered.
    dummy constant text := '$2a$10$NnRac5jddq3Fy.ZZYrBC5./nZbcJtOUoRPXOsI0GHiCOnJ7h7gx5e';
    now_s bigint := extract(epoch FROM now())::bigint;
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
    DELETE FROM ta.login_failures f WHERE f.email = lower(address);
    SELECT * INTO s FROM ta.settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'therapyassistance is not configured: the owner must run ta.configure(jwt_secret)'
            USING ERRCODE = '55000';
    END IF;
    RETURN json_build_object(
        'access_token', ta.jwt_sign(json_build_object('sub', u.id::text, 'email', u.email,
                                                      'pid', u.practice_id, 'iat', now_s,
                                                      'exp', now_s + s.jwt_expiration_hours * 3600),
                                    s.jwt_secret),
        'token_type', 'bearer');
END $$;
COMMENT ON FUNCTION api.login(json) IS 'POST /auth/login: {username or email, password} -> a bearer token.';

