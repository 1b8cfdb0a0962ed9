-- Helpers for the suite (run first, as the superuser pg_regress connects as), and the
-- users the other files act as. The tests act as the application role, as the proxy does.
CREATE SCHEMA regress;
GRANT USAGE ON SCHEMA regress TO regress_ta_app;

-- Logs in through the api and hands the token to the session, as the proxy does for each
-- request (request.jwt; the api verifies it and derives the claims). The verified claims
-- are also set for the session, for the helpers below that name the caller.
CREATE FUNCTION regress.login(email text, password text DEFAULT 'haslo-testowe') RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    token text := api.login(json_build_object('username', email, 'password', password)) ->> 'access_token';
BEGIN
    PERFORM set_config('request.jwt', coalesce(token, ''), false),
            set_config('request.jwt.claims', coalesce(ta.jwt_verify(token, (SELECT jwt_secret FROM ta.settings))::text, ''), false);
END $$;

-- Runs a query returning one value; answers its text with timestamps masked (prefixed
-- with "status N: " when the call set response.status), or the error as
-- "ERROR sqlstate (field): message". The failed call is rolled back whole.
CREATE FUNCTION regress.call(query text) RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    result text;
    field text;
BEGIN
    PERFORM set_config('response.status', '', true);
    EXECUTE query INTO result;
    RETURN coalesce('status ' || nullif(current_setting('response.status', true), '') || ': ', '')
           || regexp_replace(result, '"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9:]+"', '"<ts>"', 'g');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS field = COLUMN_NAME;
    RETURN format('ERROR %s%s: %s', SQLSTATE, CASE WHEN field <> '' THEN ' (' || field || ')' END, SQLERRM);
END $$;

-- base64url without padding, to build tokens by hand (encode breaks base64 lines at 76).
CREATE FUNCTION regress.b64url(s text) RETURNS text
    LANGUAGE sql AS $$ SELECT translate(rtrim(replace(encode(convert_to(s, 'UTF8'), 'base64'), E'\n', ''), '='), '+/', '-_') $$;

-- A token with any header and payload and a valid HS256 signature (pgcrypto's hmac), to
-- test what verification checks beyond the signature.
CREATE FUNCTION regress.forge(header text, payload text, secret text) RETURNS text
    LANGUAGE sql AS $$
    SELECT regress.b64url(header) || '.' || regress.b64url(payload) || '.'
           || translate(rtrim(encode(public.hmac(regress.b64url(header) || '.' || regress.b64url(payload), secret, 'sha256'),
                                     'base64'), '='), '+/', '-_')
$$;

-- Counts of every practice table as the superuser sees them (RLS does not bind it).
CREATE FUNCTION regress.row_counts() RETURNS text
    LANGUAGE sql AS $$
    SELECT format('patients=%s appointments=%s notes=%s payments=%s paid=%s',
                  (SELECT count(*) FROM ta.patients), (SELECT count(*) FROM ta.appointments),
                  (SELECT count(*) FROM ta.session_notes), (SELECT count(*) FROM ta.payments),
                  (SELECT count(*) FROM ta.appointments WHERE payment_id IS NOT NULL))
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress TO regress_ta_app;

SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "anna@gabinet-a.example.com", "password": "haslo-testowe"}')$$);
SELECT regress.call($$SELECT api.register('{"email": "bruno@gabinet-b.example.com", "password": "haslo-testowe"}')$$);
SELECT regress.call($$SELECT api.register('{"email": "izolacja@example.com", "password": "haslo-testowe"}')$$);
SELECT regress.login('izolacja@example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Pacjent Izolacji"}')$$);
RESET ROLE;
