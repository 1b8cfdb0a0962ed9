-- The caller: who is calling, from the bearer token the proxy hands over (request.jwt),
-- verified here, and the checks every api function starts with.

-- The user id of the caller. The token in request.jwt is verified with the secret in
-- ta.settings (signature, alg, exp: ta.jwt_verify), then its user must be live, of the
-- practice it claims, at the token version it carries (a password change ends older
-- tokens) and its jti must not be logged out; 401 otherwise. The verified claims then
-- replace whatever request.jwt.claims and ta.claims_pid held (ta.set_claims), so row-level
-- security (ta.current_practice_id) sees only what a valid token says: a session that sets
-- either itself gains nothing. Every api function that reaches practice data calls this first.
-- ta.verify_token is ta.jwt_verify (C), or in the plain-SQL install the same with a
-- per-backend memory of the last token (fallback/native.sql); the user, version and logout
-- checks here always run.
CREATE FUNCTION ta.caller() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    claims json;
    c record;
    uid bigint;
BEGIN
    SELECT ta.verify_token(nullif(current_setting('request.jwt', true), ''), s.jwt_secret) INTO claims
      FROM ta.settings s;
    PERFORM ta.set_claims(coalesce(claims::text, ''));
    SELECT * INTO c FROM json_to_record(claims) AS r(sub text, pid text, ver text, jti text);
    IF c.sub ~ '^[0-9]{1,18}$' AND c.pid ~ '^[0-9]{1,18}$' AND c.ver ~ '^[0-9]{1,9}$'
       AND c.jti ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = c.sub::bigint AND u.practice_id = c.pid::bigint
           AND u.deleted_at IS NULL AND u.token_version = c.ver::integer
           AND NOT EXISTS (SELECT FROM ta.revoked_tokens r WHERE r.jti = c.jti::uuid);
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.set_claims('');
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;
COMMENT ON FUNCTION ta.caller() IS
    'Verifies request.jwt (signature, exp, live user, token version, not logged out) and returns the user id; 401 otherwise.';

-- A patient of the caller's practice that is not archived, or 404.
CREATE FUNCTION ta.require_patient(patient_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF patient_id IS NULL THEN
        PERFORM ta.raise('22023', 'Pole patient_id jest wymagane', 'patient_id');
    END IF;
    PERFORM FROM ta.patients p WHERE p.id = patient_id AND p.deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
END $$;
