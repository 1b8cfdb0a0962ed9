-- SQL twins of the C functions of the extension (sql/native.sql, extension/):
-- same names, signatures and results, so one regression suite passes on both installs.
-- They need pgcrypto (hmac, digest), found through each api entry point's search_path.

CREATE FUNCTION ta.base64url_encode(data bytea) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT translate(rtrim(replace(encode(data, 'base64'), E'\n', ''), '='), '+/', '-_')
$$;

-- NULL unless s is canonical unpadded base64url (as extension/base64url.c decides).
CREATE FUNCTION ta.base64url_decode(s text) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    data bytea;
BEGIN
    IF s !~ '^[A-Za-z0-9_-]*$' OR length(s) % 4 = 1 THEN
        RETURN NULL;
    END IF;
    data := decode(translate(s, '-_', '+/') || repeat('=', (4 - length(s) % 4) % 4), 'base64');
    RETURN CASE WHEN ta.base64url_encode(data) = s THEN data END;
END $$;

CREATE FUNCTION ta.jwt_sign(claims json, secret text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    signing text := 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.' || ta.base64url_encode(convert_to(claims::text, 'UTF8'));
BEGIN
    IF octet_length(secret) < 32 THEN
        RAISE EXCEPTION 'JWT secret must be at least 32 bytes' USING ERRCODE = '22023';
    END IF;
    RETURN signing || '.' || ta.base64url_encode(hmac(convert_to(signing, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'));
END $$;
COMMENT ON FUNCTION ta.jwt_sign(json, text) IS
    'HS256 JWT of the claims, signed with secret (at least 32 bytes).';

-- One top-level member of a JSON object text, exactly once, or NULL.
CREATE FUNCTION ta.jwt_member(doc json, name text) RETURNS json
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN json_typeof(doc) = 'object'
                 AND (SELECT count(*) FROM json_object_keys(doc) k WHERE k = name) = 1
                THEN doc -> name END
$$;

-- Deepest nesting of objects and arrays, ignoring brackets in strings (as jwt.c does).
CREATE FUNCTION ta.json_nesting(doc text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    depth integer := 0;
    deepest integer := 0;
    in_string boolean := false;
    escaped boolean := false;
    c text;
BEGIN
    FOREACH c IN ARRAY regexp_split_to_array(doc, '') LOOP
        IF escaped THEN
            escaped := false;
        ELSIF in_string THEN
            IF c = '\' THEN escaped := true; ELSIF c = '"' THEN in_string := false; END IF;
        ELSIF c = '"' THEN
            in_string := true;
        ELSIF c IN ('{', '[') THEN
            depth := depth + 1;
            deepest := greatest(deepest, depth);
        ELSIF c IN ('}', ']') THEN
            depth := depth - 1;
        END IF;
    END LOOP;
    RETURN deepest;
END $$;

CREATE FUNCTION ta.jwt_verify(token text, secret text) RETURNS json
    LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
    parts text[] := string_to_array(token, '.');
    sig bytea;
    header json;
    payload json;
BEGIN
    IF octet_length(secret) < 32 THEN
        RAISE EXCEPTION 'JWT secret must be at least 32 bytes' USING ERRCODE = '22023';
    END IF;
    IF octet_length(token) > 8192 OR cardinality(parts) <> 3 THEN
        RETURN NULL;
    END IF;
    sig := ta.base64url_decode(parts[3]);
    -- Compared as digests: the time taken tells nothing about the expected signature.
    IF sig IS NULL OR length(sig) <> 32 OR digest(sig, 'sha256') <> digest(
           hmac(convert_to(parts[1] || '.' || parts[2], 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'), 'sha256') THEN
        RETURN NULL;
    END IF;
    BEGIN
        header := convert_from(ta.base64url_decode(parts[1]), 'UTF8')::json;
        payload := convert_from(ta.base64url_decode(parts[2]), 'UTF8')::json;
        PERFORM header::jsonb, payload::jsonb;  -- refuses \u0000, as the C parser does
    EXCEPTION WHEN OTHERS THEN
        RETURN NULL;
    END;
    IF ta.json_nesting(header::text) > 16 OR ta.json_nesting(payload::text) > 16 THEN
        RETURN NULL;
    END IF;
    IF json_typeof(ta.jwt_member(header, 'alg')) = 'string' AND ta.jwt_member(header, 'alg') #>> '{}' = 'HS256'
       AND json_typeof(ta.jwt_member(payload, 'exp')) = 'number'
       AND (payload ->> 'exp')::float8 > extract(epoch FROM clock_timestamp()) THEN
        RETURN payload;
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION ta.jwt_verify(text, text) IS
    'The claims of a valid HS256 token with a numeric exp in the future; NULL for anything else.';

-- ta.jwt_verify as the caller check (ta.caller) uses it, remembering the last token this
-- backend verified: a pooled connection serving one client does not decode and parse the
-- same token again at every request (ta.jwt_verify in SQL costs about a millisecond). The
-- memory is a session setting (ta.token_cache) holding an HMAC under the secret of the token
-- and its claims, then the claims: anyone may set it, no one without the secret can make an
-- entry that passes, a token other than the remembered one is verified in full, and exp is
-- checked again at every use.
CREATE FUNCTION ta.verify_token(token text, secret text) RETURNS json
    LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
    cached text := current_setting('ta.token_cache', true);
    claims json;
BEGIN
    IF cached ~ '^[0-9a-f]{64} ' AND ta.secure_equal(left(cached, 64), encode(hmac(convert_to(
           'ta.token_cache ' || token || ' ' || substr(cached, 66), 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'), 'hex')) THEN
        claims := substr(cached, 66)::json;
        RETURN CASE WHEN (claims ->> 'exp')::float8 > extract(epoch FROM clock_timestamp()) THEN claims END;
    END IF;
    claims := ta.jwt_verify(token, secret);
    IF claims IS NOT NULL THEN
        PERFORM set_config('ta.token_cache', encode(hmac(convert_to('ta.token_cache ' || token || ' ' || claims::text, 'UTF8'),
                                                         convert_to(secret, 'UTF8'), 'sha256'), 'hex')
                                             || ' ' || claims::text, false);
    END IF;
    RETURN claims;
END $$;
COMMENT ON FUNCTION ta.verify_token(text, text) IS
    'ta.jwt_verify as the caller check uses it (the plain-SQL install remembers the last token per backend).';

-- The user id of the caller. The token in request.jwt is verified with the secret in
-- ta.settings (signature, alg, exp: ta.jwt_verify), then its user must be live, of the
-- practice it claims, at the token version it carries (a password change ends older
-- tokens) and its jti must not be logged out; 401 otherwise. The verified claims then
-- replace whatever request.jwt.claims and ta.claims_pid held (ta.set_claims), so row-level
-- security (ta.current_practice_id) sees only what a valid token says: a session that sets
-- either itself gains nothing. Every api function that reaches practice data calls this first.
-- ta.verify_token is, here, ta.jwt_verify with a per-backend memory of the last token; the
-- user, version and logout checks always run. (The extension's ta.caller is C, caller.c.)
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

CREATE FUNCTION ta.secure_equal(a text, b text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT digest(a, 'sha256') = digest(b, 'sha256') $$;
COMMENT ON FUNCTION ta.secure_equal(text, text) IS
    'Equality in time independent of the contents (compares digests).';

CREATE FUNCTION ta.is_email(address text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT octet_length(address) <= 254
       AND octet_length(split_part(address, '@', 1)) <= 64
       AND address ~ ('^[A-Za-z0-9!#$%&''*+/=?^_`{|}~\u0080-\uffff-]+(\.[A-Za-z0-9!#$%&''*+/=?^_`{|}~\u0080-\uffff-]+)*'
                      '@([A-Za-z0-9\u0080-\uffff]([A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff])?\.)+'
                      '[A-Za-z0-9\u0080-\uffff][A-Za-z0-9\u0080-\uffff-]{0,61}[A-Za-z0-9\u0080-\uffff]$')
$$;
COMMENT ON FUNCTION ta.is_email(text) IS 'local@domain.tld with a dot-atom local part.';

CREATE FUNCTION ta.parse_date(value text) RETURNS date
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT make_date(y, m, d) FROM (SELECT substr(value, 1, 4)::int AS y, substr(value, 6, 2)::int AS m,
                                           substr(value, 9, 2)::int AS d
                                     WHERE value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') v
     WHERE y BETWEEN 1900 AND 2999 AND m BETWEEN 1 AND 12 AND d >= 1
       AND d <= extract(day FROM make_date(y, m, 1) + interval '1 month - 1 day')
$$;
COMMENT ON FUNCTION ta.parse_date(text) IS 'YYYY-MM-DD (years 1900-2999) or NULL.';

CREATE FUNCTION ta.parse_time(value text) RETURNS time
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT make_time(h, m, s) FROM (SELECT substr(value, 1, 2)::int AS h, substr(value, 4, 2)::int AS m,
                                           coalesce(nullif(substr(value, 7, 2), ''), '0')::int AS s
                                     WHERE value ~ '^[0-9]{2}:[0-9]{2}(:[0-9]{2})?$') v
     WHERE h <= 23 AND m <= 59 AND s <= 59
$$;
COMMENT ON FUNCTION ta.parse_time(text) IS 'HH:MM or HH:MM:SS or NULL.';

CREATE FUNCTION ta.parse_money(value text) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT value::numeric WHERE value ~ '^-?[0-9]{1,8}(\.[0-9]{1,2})?$'
$$;
COMMENT ON FUNCTION ta.parse_money(text) IS
    'A decimal with at most 8 integer digits and 2 decimals, no exponent, or NULL.';

-- No audit queue in the plain-SQL install: every audit row is written by its own call.
CREATE FUNCTION ta.audit_defer(practice bigint, uid bigint, action text, route text, patient_ids bigint[],
                               client_addr inet, at timestamptz) RETURNS boolean
    LANGUAGE sql VOLATILE AS $$ SELECT false $$;
COMMENT ON FUNCTION ta.audit_defer(bigint, bigint, text, text, bigint[], inet, timestamptz) IS
    'Keeps a read''s audit entry for the audit writer, queued at commit; false: write the row now.';

CREATE FUNCTION ta.audit_take_pending(practice bigint)
    RETURNS TABLE (practice_id bigint, user_id bigint, action text, route text, patient_ids bigint[],
                   client_addr inet, at timestamptz)
    LANGUAGE sql VOLATILE STRICT ROWS 1 AS $$
    SELECT NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::bigint[], NULL::inet, NULL::timestamptz WHERE false
$$;
COMMENT ON FUNCTION ta.audit_take_pending(bigint) IS
    'This transaction''s deferred audit entries of the practice, for it to append itself (then not queued).';

CREATE FUNCTION ta.audit_flush() RETURNS void
    LANGUAGE sql VOLATILE AS $$ $$;
COMMENT ON FUNCTION ta.audit_flush() IS
    'Waits until every audit entry queued in this database before the call is in ta.audit_log.';

-- ta.json_rows is json_agg itself here: an aggregate whose state is internal needs a superuser,
-- so the elements are collected in an array (array_append grows it in place) and handed to json_agg.
-- (So here an element cannot be an array itself; the api aggregates rows.)
CREATE FUNCTION ta.json_rows_finalfn(elements anycompatiblearray) RETURNS json
    LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT json_agg(e.e) FROM (SELECT unnest(elements) AS e) e
$$;
COMMENT ON FUNCTION ta.json_rows_finalfn(anycompatiblearray) IS 'ta.json_rows: the array.';

CREATE AGGREGATE ta.json_rows(anycompatible) (
    SFUNC = pg_catalog.array_append, STYPE = anycompatiblearray, FINALFUNC = ta.json_rows_finalfn
);
COMMENT ON AGGREGATE ta.json_rows(anycompatible) IS 'json_agg of the elements, the same text (faster for rows).';

-- The insert trigger of ta.appointments (sql/reminders.sql): a new appointment's reminders on its
-- own row. The rule is ta.reminder_plan's, read in two lookups instead of its one join: the
-- settings alone when reminders are off (the default), then the patient's consent (the start is
-- ta.appointment_start's); the tables' row-level security in one query cost more (bench/README.md).
CREATE FUNCTION ta.appointments_plan_reminders() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    cfg record;
    pat record;
BEGIN
    SELECT s.email_enabled, s.sms_enabled, s.hours_before INTO cfg
      FROM ta.reminder_settings s WHERE s.practice_id = NEW.practice_id;
    IF NOT coalesce(cfg.email_enabled OR cfg.sms_enabled, false) OR NOT ta.appointment_is_live(NEW) THEN
        RETURN NEW;
    END IF;
    SELECT p.reminder_email AND cfg.email_enabled AS email, p.reminder_sms AND cfg.sms_enabled AS sms,
           ta.appointment_start(NEW) AS starts INTO pat
      FROM ta.patients p
     WHERE p.id = NEW.patient_id AND p.deleted_at IS NULL;
    IF NOT coalesce(pat.email OR pat.sms, false) OR pat.starts <= now() THEN
        RETURN NEW;
    END IF;
    NEW.reminder_starts_at := pat.starts;
    NEW.reminder_send_at := ta.reminder_due(pat.starts, cfg.hours_before);
    IF pat.email THEN
        NEW.email_reminder_id := nextval('ta.outbox_id_seq');
    END IF;
    IF pat.sms THEN
        NEW.sms_reminder_id := nextval('ta.outbox_id_seq');
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION ta.appointments_plan_reminders() IS
    'BEFORE INSERT on ta.appointments: the new appointment''s reminders on its own row (ta.reminder_plan''s rule).';
