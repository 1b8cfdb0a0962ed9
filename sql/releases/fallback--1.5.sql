-- therapyassistance, plain-SQL install (built by `make fallback-sql` from the files in sql/),
-- for a PostgreSQL where no C extension can be installed, such as a shared one.
-- Run it as the database owner, in one transaction:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -f sql/fallback/therapyassistance.sql
SET client_min_messages = warning;

-- Row-level security never applies to superusers, and the api functions run as the
-- role that installs them: it must be an ordinary one (the database owner).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'therapyassistance must be installed by the database owner, not by a superuser'
            USING HINT = 'row-level security does not bind superusers.';
    END IF;
END $$;

-- Trusted extensions: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS btree_gist;
-- ta: the data and the internals, reachable only by the owner.
-- api: the functions the application may call.
CREATE SCHEMA ta;
COMMENT ON SCHEMA ta IS 'TherapyAssistance data and internals (owner only).';
CREATE SCHEMA api;
COMMENT ON SCHEMA api IS 'TherapyAssistance api: one function per use case, granted to the application role.';
-- notifier: the functions the reminder sender (notifier/) may call, granted to its role only.
CREATE SCHEMA notifier;
COMMENT ON SCHEMA notifier IS 'TherapyAssistance notifier: claim and record outbox messages (ta.grant_notifier).';
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
-- The schema version this script leaves (therapyassistance.control's default_version; each
-- upgrade step sets its target). The proxy refuses to serve an older schema than it needs.
CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '1.5'::text /* therapyassistance schema version */ $$;
COMMENT ON FUNCTION api.schema_version() IS 'The installed schema version, e.g. 1.1 (GET /health).';
-- The data model: practices (tenants), their users, and the practice's patients,
-- appointments, session notes and payments. Rules are constraints here; the api
-- functions only translate their violations into Polish messages.
-- Deleting never destroys a record: rows are archived (deleted_at, deleted_by).

-- Configuration the database needs to sign tokens. One row, readable only by the
-- owner, never dumped (a backup must not carry the signing secret).
CREATE TABLE ta.settings (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    jwt_secret text NOT NULL CHECK (octet_length(jwt_secret) >= 32),
    jwt_expiration_hours integer NOT NULL DEFAULT 24 CHECK (jwt_expiration_hours BETWEEN 1 AND 8760)
);
COMMENT ON TABLE ta.settings IS 'JWT secret and token lifetime; set with ta.configure().';

CREATE TABLE ta.practices (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ta.practices IS 'A tenant: one therapist''s practice. Registering creates one.';

-- Identity, not practice data: reached only by register, login and the caller check,
-- which must find a user before any practice is known, so it has no RLS; the
-- application role has no privilege on it.
CREATE TABLE ta.users (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL REFERENCES ta.practices,
    email text NOT NULL CHECK (ta.is_email(email)),
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    -- every token carries it (claim ver); changing the password increments it, so every
    -- token issued before answers 401
    token_version integer NOT NULL DEFAULT 0,
    -- what ta.outbox's (user_id, practice_id) refers to
    CONSTRAINT users_id_practice_key UNIQUE (id, practice_id)
);
-- Named: ta.explain_violation answers 'Email już jest zarejestrowany' for it.
CREATE UNIQUE INDEX users_email_key ON ta.users (lower(email));
CREATE INDEX users_practice_id_idx ON ta.users (practice_id);
COMMENT ON TABLE ta.users IS 'Therapists who log in; email unique regardless of case.';
COMMENT ON COLUMN ta.users.token_version IS 'The ver claim a token must carry; incremented by a password change.';

-- Tokens ended by POST /auth/logout before their exp (by their jti claim); a row is kept
-- only until the token would have expired anyway. Like ta.users: no RLS, no privilege for
-- the application role, reached by the caller check and logout only.
CREATE TABLE ta.revoked_tokens (
    jti uuid PRIMARY KEY,
    user_id bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at_idx ON ta.revoked_tokens (expires_at);
COMMENT ON TABLE ta.revoked_tokens IS 'Logged-out tokens (jti) until their exp; ta.caller() refuses them.';

-- The number an SMS goes to, as SMSAPI.pl takes it (country code and digits, no '+'): a
-- Polish number of 9 digits gains 48; spaces, dashes, dots and brackets are ignored; NULL when
-- the phone is not a number a text message can reach.
CREATE FUNCTION ta.sms_number(phone text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN d ~ '^[1-9][0-9]{8}$' THEN '48' || d
                WHEN d ~ '^48[1-9][0-9]{8}$' THEN d
                WHEN international AND d ~ '^[1-9][0-9]{7,14}$' THEN d END
      FROM (SELECT regexp_replace(regexp_replace(p, '^(\+|00)', ''), '[^0-9]', '', 'g') AS d,
                   p ~ '^(\+|00)' AS international
              FROM (SELECT regexp_replace(btrim(phone), '[ ().-]', '', 'g') AS p) v
             WHERE regexp_replace(btrim(phone), '[ ().-]', '', 'g') ~ '^(\+|00)?[0-9]+$') n
$$;
COMMENT ON FUNCTION ta.sms_number(text) IS 'phone as digits with country code (48 for 9 digits), or NULL if no SMS can reach it.';

CREATE TABLE ta.patients (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL REFERENCES ta.practices,
    name text NOT NULL CONSTRAINT patients_name_check CHECK (btrim(name) <> '' AND length(name) <= 200),
    phone text CONSTRAINT patients_phone_check CHECK (length(phone) <= 50),
    email text CONSTRAINT patients_email_check CHECK (ta.is_email(email)),
    notes text CONSTRAINT patients_notes_check CHECK (length(notes) <= 200000),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    UNIQUE (id, practice_id),
    -- the patient's consent to reminders per channel, and when it was last given or withdrawn
    -- (the history is ta.reminder_consents); a consent needs somewhere to send to
    reminder_email boolean NOT NULL DEFAULT false,
    reminder_sms boolean NOT NULL DEFAULT false,
    reminder_email_changed_at timestamptz,
    reminder_sms_changed_at timestamptz,
    CONSTRAINT patients_reminder_email_needs_email CHECK (NOT reminder_email OR email IS NOT NULL),
    CONSTRAINT patients_reminder_sms_needs_phone CHECK (NOT reminder_sms OR ta.sms_number(phone) IS NOT NULL)
);
CREATE INDEX patients_practice_id_idx ON ta.patients (practice_id, id) WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.patients IS 'A practice''s patients.';

CREATE TABLE ta.session_notes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    content text NOT NULL CONSTRAINT session_notes_content_check CHECK (btrim(content) <> '' AND length(content) <= 200000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    UNIQUE (id, patient_id, practice_id),
    -- archived by DELETE /patients/{id} with its patient, so restoring the patient restores it
    archived_with_patient boolean NOT NULL DEFAULT false,
    CONSTRAINT session_notes_archived_with_patient_check CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL)
);
CREATE INDEX session_notes_practice_id_idx ON ta.session_notes (practice_id, created_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX session_notes_patient_id_idx ON ta.session_notes (patient_id, created_at DESC)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.session_notes IS 'Notes written after sessions, per patient.';

-- Closed lists of values, defined here once: the columns, the api's checks and messages
-- (ta.one_of) and the OpenAPI document (proxy's tests compare) all take them from these types.
CREATE TYPE ta.payment_method AS ENUM ('CASH', 'TRANSFER');
COMMENT ON TYPE ta.payment_method IS 'How a payment was made: cash or bank transfer.';

CREATE TABLE ta.payments (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    amount numeric(10,2) NOT NULL CONSTRAINT payments_amount_check CHECK (amount >= 0),
    payment_method ta.payment_method NOT NULL,
    description text CONSTRAINT payments_description_check CHECK (length(description) <= 2000),
    -- when the money came: an instant (the original SPA sends and shows the time)
    payment_date timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    -- the appointments an archived payment covered, kept for the record
    archived_appointment_ids bigint[],
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    UNIQUE (id, patient_id, practice_id),
    -- the appointments this payment covered until they were deleted (DELETE /appointments/{id}),
    -- kept for the record: the amount stays what was paid
    deleted_appointment_ids bigint[],
    archived_with_patient boolean NOT NULL DEFAULT false,
    CONSTRAINT payments_archived_with_patient_check CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL)
);
CREATE INDEX payments_practice_id_idx ON ta.payments (practice_id, payment_date DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX payments_patient_id_idx ON ta.payments (patient_id) WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.payments IS 'Money received for one or more appointments of one patient.';

-- What became of an appointment, and who cancelled it (closed lists: the api and its
-- messages take their labels from these types).
CREATE TYPE ta.appointment_status AS ENUM ('scheduled', 'completed', 'cancelled', 'no_show');
COMMENT ON TYPE ta.appointment_status IS 'What became of an appointment: scheduled, held, cancelled or missed.';
CREATE TYPE ta.cancel_reason AS ENUM ('patient', 'therapist');
COMMENT ON TYPE ta.cancel_reason IS 'Who cancelled an appointment.';

-- A practice's scheduling settings; a practice without a row has the defaults. The calendar
-- is kept in Polish local time (dates and times of appointments are Europe/Warsaw wall time).
CREATE TABLE ta.practice_settings (
    practice_id bigint PRIMARY KEY REFERENCES ta.practices,
    late_cancel_hours integer NOT NULL DEFAULT 24
        CONSTRAINT practice_settings_late_cancel_hours_check CHECK (late_cancel_hours BETWEEN 0 AND 168),
    timezone text NOT NULL DEFAULT 'Europe/Warsaw'
        CONSTRAINT practice_settings_timezone_check CHECK (timezone = 'Europe/Warsaw')
);
COMMENT ON TABLE ta.practice_settings IS
    'Per practice: how many hours before the start a patient''s cancellation is late (billable).';

-- A recurring series: the rule its appointments were booked by. The appointments are
-- ordinary rows (appointments.series_id) that can be edited, cancelled and paid one by one.
CREATE TABLE ta.appointment_series (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    interval_weeks integer NOT NULL DEFAULT 1
        CONSTRAINT appointment_series_interval_weeks_check CHECK (interval_weeks BETWEEN 1 AND 4),
    skip_holidays boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by bigint REFERENCES ta.users,
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    UNIQUE (id, practice_id)
);
CREATE INDEX appointment_series_practice_id_idx ON ta.appointment_series (practice_id, id);
COMMENT ON TABLE ta.appointment_series IS 'Weekly (or every 2-4 weeks) sessions booked in one step.';

-- An appointment is paid exactly when payment_id links it to a payment; a column,
-- not a flag, so "linked to at most one payment" and "is_paid" cannot disagree. The
-- foreign keys carry patient and practice, so a link never crosses either.
CREATE TABLE ta.appointments (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    date date NOT NULL,
    start_time time NOT NULL,
    end_time time NOT NULL,
    price numeric(10,2) NOT NULL CONSTRAINT appointments_price_check CHECK (price > 0),
    session_note_id bigint,
    payment_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    -- archived by DELETE /patients/{id} with its patient, so restoring the patient restores it
    -- (before the status columns: the 1.1 upgrade adds it first, issue 14's step before 15's)
    archived_with_patient boolean NOT NULL DEFAULT false,
    CONSTRAINT appointments_end_after_start CHECK (end_time > start_time),
    CONSTRAINT appointments_archived_with_patient_check CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL),
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    CONSTRAINT appointments_note_fkey FOREIGN KEY (session_note_id, patient_id, practice_id)
        REFERENCES ta.session_notes (id, patient_id, practice_id),
    CONSTRAINT appointments_payment_fkey FOREIGN KEY (payment_id, patient_id, practice_id)
        REFERENCES ta.payments (id, patient_id, practice_id),
    -- What became of it (the status columns come after the 1.0 columns, as the upgrade adds them).
    status ta.appointment_status NOT NULL DEFAULT 'scheduled',
    cancel_reason ta.cancel_reason,
    cancelled_at timestamptz,
    late_cancellation boolean NOT NULL DEFAULT false,
    series_id bigint,
    -- Two live appointments of one practice never overlap; touching ends do not overlap.
    -- A cancelled appointment frees its slot; completed and missed ones keep it.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        practice_id WITH =,
        tsrange(date + start_time, date + end_time) WITH &&
    ) WHERE (deleted_at IS NULL AND status <> 'cancelled'),
    CONSTRAINT appointments_cancel_reason_check CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    CONSTRAINT appointments_cancelled_at_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    CONSTRAINT appointments_late_cancellation_check
        CHECK (NOT late_cancellation OR (status = 'cancelled' AND cancel_reason = 'patient')),
    -- Only what is due can be paid: an on-time or the therapist's cancellation is not.
    CONSTRAINT appointments_paid_when_due
        CHECK (payment_id IS NULL OR status <> 'cancelled' OR late_cancellation),
    CONSTRAINT appointments_series_fkey FOREIGN KEY (series_id, practice_id)
        REFERENCES ta.appointment_series (id, practice_id),
    -- the referent of ta.outbox's (appointment_id, practice_id): a reminder is of its appointment's practice
    CONSTRAINT appointments_id_practice_key UNIQUE (id, practice_id),
    -- Its reminders while none has been attempted (issue 17, see reminders.sql): the start they are
    -- for, when they are due (NULL: none waits here) and the outbox id each channel's will have.
    reminder_starts_at timestamptz,
    reminder_send_at timestamptz,
    email_reminder_id bigint,
    sms_reminder_id bigint
);
CREATE INDEX appointments_practice_date_idx ON ta.appointments (practice_id, date, start_time)
    WHERE deleted_at IS NULL;
CREATE INDEX appointments_patient_id_idx ON ta.appointments (patient_id, date, start_time)
    WHERE deleted_at IS NULL;
CREATE INDEX appointments_payment_id_idx ON ta.appointments (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX appointments_series_id_idx ON ta.appointments (series_id, date) WHERE series_id IS NOT NULL;
-- the reminders waiting on their appointments, by practice and due time (notifier.claim, GET /reminders)
CREATE INDEX appointments_reminder_due_idx ON ta.appointments (practice_id, reminder_send_at)
    WHERE reminder_send_at IS NOT NULL;
COMMENT ON TABLE ta.appointments IS 'Booked sessions; paid when payment_id is set.';

-- Row-level security: a row is visible and writable only when its practice_id is the
-- caller's. FORCE makes it bind the owner too, and so the SECURITY DEFINER api
-- functions. There is no DELETE policy: records are archived, never deleted.
-- The practice is the pid of request.jwt.claims. Every query's policies ask for it, and parsing
-- the claims' JSON each time was the largest cost all routes shared (about 13 parses per POST
-- /appointments), so every place that sets the claims in SQL does it with ta.set_claims, which
-- also sets ta.claims_pid to their pid: read as it is, one setting and no JSON per query. Claims
-- set any other way (a session of the tests, the audit writer, extension/audit_writer.c) leave it
-- empty and are parsed as before (ta.claims_pid_parsed(), outside the policies' expression, so that they
-- do not pay for setting up a parse they skip). A session that sets ta.claims_pid itself gains
-- what setting the claims gains it: nothing, as ta.caller() replaces both with the verified token's.
CREATE FUNCTION ta.claims_pid_parsed() RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    RETURN (nullif(current_setting('request.jwt.claims', true), '')::json ->> 'pid')::bigint;
END $$;
COMMENT ON FUNCTION ta.claims_pid_parsed() IS 'The pid of request.jwt.claims, parsed; NULL when unset.';

CREATE FUNCTION ta.current_practice_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('ta.claims_pid', true), '')::bigint, ta.claims_pid_parsed()) $$;
COMMENT ON FUNCTION ta.current_practice_id() IS
    'The practice of the caller, from the transaction''s request.jwt.claims; NULL when unset.';

-- Sets the transaction's claims ('' for none) and their pid for ta.current_practice_id: the two
-- always together. Assignments, not PERFORM: plpgsql evaluates them without a query each.
CREATE FUNCTION ta.set_claims(claims text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    ignored text;
BEGIN
    ignored := set_config('request.jwt.claims', claims, true);
    ignored := set_config('ta.claims_pid', coalesce(nullif(claims, '')::json ->> 'pid', ''), true);
END $$;
COMMENT ON FUNCTION ta.set_claims(text) IS
    'Sets request.jwt.claims for the transaction, and ta.claims_pid to their pid for ta.current_practice_id().';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patients', 'session_notes', 'payments', 'appointments', 'practice_settings',
                             'appointment_series'] LOOP
        EXECUTE format('ALTER TABLE ta.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE ta.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON ta.%I FOR SELECT USING (practice_id = (SELECT ta.current_practice_id()))',
                       t || '_select', t);
        EXECUTE format('CREATE POLICY %I ON ta.%I FOR INSERT WITH CHECK (practice_id = (SELECT ta.current_practice_id()))',
                       t || '_insert', t);
        EXECUTE format('CREATE POLICY %I ON ta.%I FOR UPDATE USING (practice_id = (SELECT ta.current_practice_id()))'
                       ' WITH CHECK (practice_id = (SELECT ta.current_practice_id()))', t || '_update', t);
    END LOOP;
END $$;
-- Login and registration throttling, in tables, so that every proxy in front of the
-- database shares the counts. The checks run before bcrypt, so a refused guesser costs the
-- server no hashing. Guessing must not lock the owner out (api-contract, Accounts):
--   * 10 failures in 15 minutes for one account from one address refuse that account to
--     that address (the rest of the world, the owner included, is unaffected);
--   * 100 failures in 15 minutes from one address refuse that address every account;
--   * 100 failures in 15 minutes for one account, from anywhere (guessing spread over many
--     addresses), refuse it to every address except those it logged in from successfully
--     in the last 90 days (OWASP's "device cookie", keyed by address).
-- A refusal is SQLSTATE PT429 with DETAIL = seconds until the deciding failure leaves the window.

CREATE TABLE ta.login_failures (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_idx ON ta.login_failures (email, at);
CREATE INDEX login_failures_client_addr_idx ON ta.login_failures (client_addr, at) WHERE client_addr IS NOT NULL;
CREATE INDEX login_failures_at_idx ON ta.login_failures (at);
COMMENT ON TABLE ta.login_failures IS
    'Failed logins of the last day, per lower(email) and client address; read by ta.login_throttle().';
-- Not practice data (an unknown email has no practice): only the owner's functions reach it.
ALTER TABLE ta.login_failures ENABLE ROW LEVEL SECURITY;

-- Where each account last logged in successfully from: such an address is never refused
-- because of guesses made from elsewhere.
CREATE TABLE ta.login_addresses (
    email text NOT NULL,
    client_addr inet NOT NULL,
    last_login_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_addresses_pkey PRIMARY KEY (email, client_addr)
);
CREATE INDEX login_addresses_last_login_at_idx ON ta.login_addresses (last_login_at);
COMMENT ON TABLE ta.login_addresses IS
    'Addresses each lower(email) logged in from successfully in the last 90 days (read by ta.login_throttle()).';
ALTER TABLE ta.login_addresses ENABLE ROW LEVEL SECURITY;

-- Registrations per client address of the last hour (each runs bcrypt).
CREATE TABLE ta.registrations (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_client_addr_idx ON ta.registrations (client_addr, at);
CREATE INDEX registrations_at_idx ON ta.registrations (at);
COMMENT ON TABLE ta.registrations IS 'Registrations of the last hour per client address (ta.register_throttle()).';
ALTER TABLE ta.registrations ENABLE ROW LEVEL SECURITY;

-- The client address the proxy set for this transaction (request.client_addr), or NULL.
CREATE FUNCTION ta.client_addr() RETURNS inet
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.client_addr', true), '')::inet $$;
COMMENT ON FUNCTION ta.client_addr() IS 'The caller''s address from request.client_addr; NULL when unset.';

-- PT429 saying when to retry, from the moment the deciding attempt leaves its window.
CREATE FUNCTION ta.too_many(free_at timestamptz, message text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    wait_s integer := greatest(1, ceil(extract(epoch FROM free_at - now())))::integer;
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PT429', DETAIL = wait_s::text,
        MESSAGE = format(message, ceil(wait_s / 60.0)::integer);
END $$;

-- Waits for the account's and the address's turn, then raises PT429 when one of the three
-- limits above is reached. The turn (a transaction-level advisory lock, always address
-- first, so two logins never wait for each other crosswise) makes concurrent attempts count
-- one after another: without it, a burst of parallel guesses would all pass the check before
-- any of their failures committed.
CREATE FUNCTION ta.login_throttle(account text, addr inet) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    window_start constant timestamptz := now() - interval '15 minutes';
    known boolean;
    oldest timestamptz;
BEGIN
    IF addr IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('ta.login_failures addr ' || addr::text, 0));
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ta.login_failures email ' || account, 0));
    known := addr IS NOT NULL AND EXISTS (
        SELECT FROM ta.login_addresses k
         WHERE k.email = account AND k.client_addr = addr AND k.last_login_at > now() - interval '90 days');
    -- The Nth most recent failure of each kind decides: it leaves the window first.
    SELECT min(at) INTO oldest FROM (
        (SELECT f.at FROM ta.login_failures f
          WHERE f.email = account AND f.client_addr IS NOT DISTINCT FROM addr AND f.at > window_start
          ORDER BY f.at DESC LIMIT 1 OFFSET 9)
        UNION ALL
        (SELECT f.at FROM ta.login_failures f WHERE addr IS NOT NULL AND f.client_addr = addr AND f.at > window_start
          ORDER BY f.at DESC LIMIT 1 OFFSET 99)
        UNION ALL
        (SELECT f.at FROM ta.login_failures f WHERE NOT known AND f.email = account AND f.at > window_start
          ORDER BY f.at DESC LIMIT 1 OFFSET 99)) nth;
    IF oldest IS NOT NULL THEN
        PERFORM ta.too_many(oldest + interval '15 minutes',
                            'Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za %s min.');
    END IF;
END $$;
COMMENT ON FUNCTION ta.login_throttle(text, inet) IS
    'Serialises logins per account and address; PT429 (DETAIL: seconds to wait) at 10 failures of the account from '
    'the address, 100 from the address, or 100 of the account from addresses it never logged in from, in 15 minutes.';

-- Records a failed login (committed with the 401 answer) and forgets those older than a day.
CREATE FUNCTION ta.login_failed(account text, addr inet) RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM ta.login_failures WHERE at < now() - interval '1 day';
    INSERT INTO ta.login_failures (email, client_addr) VALUES (account, addr);
$$;
COMMENT ON FUNCTION ta.login_failed(text, inet) IS 'Counts one failed login of account from addr.';

-- A successful login clears the failures of the account from this address only (another
-- address's guesses keep counting, whoever logs in meanwhile) and remembers the address.
CREATE FUNCTION ta.login_succeeded(account text, addr inet) RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM ta.login_failures f WHERE f.email = account AND f.client_addr IS NOT DISTINCT FROM addr;
    DELETE FROM ta.login_addresses WHERE last_login_at < now() - interval '90 days';
    INSERT INTO ta.login_addresses (email, client_addr) SELECT account, addr WHERE addr IS NOT NULL
        ON CONFLICT ON CONSTRAINT login_addresses_pkey DO UPDATE SET last_login_at = now();
$$;
COMMENT ON FUNCTION ta.login_succeeded(text, inet) IS
    'Clears account''s failures from addr and remembers addr as one the account logs in from.';

-- 20 registrations per address per hour: the 21st answers PT429 until the oldest is an hour
-- old. Serialised per address like logins; the row commits with the registration. A call
-- without an address (not through the proxy) is not counted.
CREATE FUNCTION ta.register_throttle(addr inet) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    oldest timestamptz;
BEGIN
    IF addr IS NULL THEN
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ta.registrations ' || addr::text, 0));
    SELECT r.at INTO oldest FROM ta.registrations r
     WHERE r.client_addr = addr AND r.at > now() - interval '1 hour'
     ORDER BY r.at DESC LIMIT 1 OFFSET 19;
    IF oldest IS NOT NULL THEN
        PERFORM ta.too_many(oldest + interval '1 hour',
                            'Zbyt wiele rejestracji z tego adresu. Spróbuj ponownie za %s min.');
    END IF;
    DELETE FROM ta.registrations WHERE at < now() - interval '1 hour';
    INSERT INTO ta.registrations (client_addr) VALUES (addr);
END $$;
COMMENT ON FUNCTION ta.register_throttle(inet) IS
    'Counts a registration from addr; PT429 (DETAIL: seconds to wait) after 20 in the last hour.';
-- Errors and request input: how the api raises the Polish messages the client shows
-- (the SQLSTATE -> HTTP table is in sql/README.md) and reads JSON bodies and query
-- parameters into typed values, refusing anything malformed with a 422.

CREATE FUNCTION ta.raise(code text, message text, field text DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF field IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message;
    END IF;
    RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, COLUMN = field;
END $$;
COMMENT ON FUNCTION ta.raise(text, text, text) IS
    'Raises SQLSTATE code with message; field goes to COLUMN so the proxy can name it.';

-- Re-raises a constraint violation of a write as the message the user should read.
-- Called from exception handlers with the violated constraint's name.
CREATE FUNCTION ta.explain_violation(code text, constraint_name text, column_name text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    m text[];
BEGIN
    m := CASE constraint_name
        WHEN 'appointments_no_overlap' THEN
            ARRAY['23P01', 'Wizyta koliduje z inną wizytą w tym terminie', NULL]
        WHEN 'appointments_end_after_start' THEN
            ARRAY['22023', 'Godzina zakończenia musi być późniejsza niż godzina rozpoczęcia', 'end_time']
        WHEN 'appointments_price_check' THEN ARRAY['22023', 'Cena musi być większa od zera', 'price']
        WHEN 'appointments_payment_fkey' THEN
            ARRAY['P0001', 'Opłaconej wizyty nie można przenieść do innego pacjenta', 'patient_id']
        WHEN 'appointments_note_fkey' THEN
            ARRAY['P0002', 'Notatka nie została znaleziona', 'session_note_id']
        WHEN 'appointments_cancel_reason_check' THEN
            ARRAY['22023', 'Powód odwołania (cancel_reason: patient lub therapist) podaje się wtedy i tylko wtedy, gdy status to cancelled',
                  'cancel_reason']
        WHEN 'appointments_paid_when_due' THEN
            ARRAY['P0001', 'Opłaconą wizytę można odwołać tylko jako późne odwołanie pacjenta: najpierw usuń ją z płatności',
                  'status']
        WHEN 'practice_settings_late_cancel_hours_check' THEN
            ARRAY['22023', 'Liczba godzin late_cancel_hours musi być od 0 do 168', 'late_cancel_hours']
        WHEN 'practice_settings_timezone_check' THEN
            ARRAY['22023', 'Obsługiwana strefa czasowa to Europe/Warsaw', 'timezone']
        WHEN 'appointment_series_interval_weeks_check' THEN
            ARRAY['22023', 'Odstęp między wizytami serii musi wynosić od 1 do 4 tygodni', 'interval_weeks']
        WHEN 'patients_name_check' THEN
            ARRAY['22023', 'Imię i nazwisko jest wymagane (najwyżej 200 znaków)', 'name']
        WHEN 'patients_phone_check' THEN ARRAY['22023', 'Telefon może mieć najwyżej 50 znaków', 'phone']
        WHEN 'patients_email_check' THEN ARRAY['22023', 'Nieprawidłowy adres email', 'email']
        WHEN 'patients_notes_check' THEN ARRAY['22023', 'Notatki mogą mieć najwyżej 200000 znaków', 'notes']
        WHEN 'session_notes_content_check' THEN
            ARRAY['22023', 'Treść notatki nie może być pusta (najwyżej 200000 znaków)', 'content']
        WHEN 'payments_amount_check' THEN ARRAY['22023', 'Kwota nie może być ujemna', 'amount']
        WHEN 'payments_description_check' THEN
            ARRAY['22023', 'Opis może mieć najwyżej 2000 znaków', 'description']
        WHEN 'users_email_key' THEN ARRAY['23505', 'Email już jest zarejestrowany', 'email']
        WHEN 'patients_reminder_email_needs_email' THEN
            ARRAY['22023', 'Zgoda na przypomnienia e-mail wymaga adresu e-mail pacjenta', 'reminder_email']
        WHEN 'patients_reminder_sms_needs_phone' THEN
            ARRAY['22023', 'Zgoda na przypomnienia SMS wymaga numeru telefonu komórkowego pacjenta', 'reminder_sms']
        WHEN 'reminder_settings_hours_before' THEN
            ARRAY['22023', 'Przypomnienie można wysłać od 1 do 72 godzin przed wizytą', 'hours_before']
        WHEN 'reminder_settings_practice_name' THEN
            ARRAY['22023', 'Nazwa gabinetu jest wymagana (jedna linia, najwyżej 100 znaków)', 'practice_name']
        WHEN 'reminder_settings_email_subject' THEN
            ARRAY['22023', 'Temat wiadomości jest wymagany (jedna linia, najwyżej 200 znaków)', 'email_subject']
        WHEN 'reminder_settings_email_body' THEN
            ARRAY['22023', 'Treść wiadomości e-mail jest wymagana (najwyżej 5000 znaków)', 'email_body']
        WHEN 'reminder_settings_sms_body' THEN ARRAY['22023', 'Treść SMS-a jest wymagana', 'sms_body']
        WHEN 'reminder_settings_sms_length' THEN
            ARRAY['22023', 'SMS po wstawieniu daty, godziny i nazwy gabinetu może mieć najwyżej 160 znaków', 'sms_body']
        ELSE NULL
    END;
    IF m IS NULL AND code = '23502' THEN
        m := ARRAY['22023', CASE column_name
            WHEN 'name' THEN 'Imię i nazwisko jest wymagane'
            WHEN 'date' THEN 'Data jest wymagana'
            WHEN 'start_time' THEN 'Godzina rozpoczęcia jest wymagana'
            WHEN 'end_time' THEN 'Godzina zakończenia jest wymagana'
            WHEN 'price' THEN 'Cena jest wymagana'
            WHEN 'content' THEN 'Treść notatki jest wymagana'
            WHEN 'amount' THEN 'Kwota jest wymagana'
            WHEN 'payment_method' THEN 'Metoda płatności jest wymagana'
            ELSE format('Pole %s jest wymagane', column_name) END, column_name];
    END IF;
    IF m IS NULL THEN
        m := ARRAY['22023', 'Nieprawidłowe dane', NULL];
    END IF;
    PERFORM ta.raise(m[1], m[2], m[3]);
END $$;

-- A request body must be a JSON object. Text in PostgreSQL cannot hold NUL, so a
-- \u0000 escape (not itself escaped) is refused here, before any member is read. The regular
-- expression runs only on a body that holds the six characters at all (every GET's query
-- parameters pass here).
CREATE FUNCTION ta.require_object(body json) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF body IS NULL OR json_typeof(body) <> 'object' THEN
        PERFORM ta.raise('22023', 'Treść żądania musi być obiektem JSON');
    END IF;
    IF strpos(body::text, '\u0000') > 0 AND body::text ~ '(^|[^\\])(\\\\)*\\u0000' THEN
        PERFORM ta.raise('22023', 'Tekst nie może zawierać znaku NUL (\u0000)');
    END IF;
END $$;

-- The query parameters: an object of strings from the proxy, {} when there are none. The
-- common case is answered here without a call of ta.require_object (each PL/pgSQL call costs
-- more than the check; not SQL: ta.notes_page passes this to ta.query_int, which would then not
-- be inlined).
CREATE FUNCTION ta.query_params(q json) RETURNS json
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF q IS NULL THEN
        RETURN '{}';
    END IF;
    IF json_typeof(q) <> 'object' OR strpos(q::text, '\u0000') > 0 THEN
        PERFORM ta.require_object(q);
    END IF;
    RETURN q;
END $$;

CREATE FUNCTION ta.field_text_checked(body json, key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v json := body -> key;
BEGIN
    IF v IS NULL OR json_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF json_typeof(v) <> 'string' THEN
        PERFORM ta.raise('22023', format('Pole %s musi być tekstem', key), key);
    END IF;
    RETURN v #>> '{}';
END $$;

-- A string member of body, or NULL when absent or null; anything else is refused.
-- SQL that the planner inlines into its caller (a PL/pgSQL call cost more than the test): a
-- string or an absent member is read by the expression, anything else by ta.field_text_checked.
-- body is parsed twice for a string, as the PL/pgSQL version did (json -> parses the text).
CREATE FUNCTION ta.field_text(body json, key text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(body -> key) = 'string' THEN body ->> key
                WHEN body -> key IS NULL THEN NULL
                ELSE ta.field_text_checked(body, key) END
$$;

-- An optional text member where an empty or blank string means "none".
CREATE FUNCTION ta.field_optional_text(body json, key text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT nullif(btrim(ta.field_text(body, key)), '') $$;

CREATE FUNCTION ta.field_scalar_checked(body json, key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v json := body -> key;
BEGIN
    IF v IS NULL OR json_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF json_typeof(v) NOT IN ('string', 'number') THEN
        PERFORM ta.raise('22023', format('Pole %s ma nieprawidłowy typ', key), key);
    END IF;
    RETURN v #>> '{}';
END $$;

-- Value of a scalar member as text (numbers and strings alike), or NULL.
-- Inlined like ta.field_text; ta.field_scalar_checked reads a null and refuses the rest.
CREATE FUNCTION ta.field_scalar(body json, key text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(body -> key) IN ('string', 'number') THEN body ->> key
                WHEN body -> key IS NULL THEN NULL
                ELSE ta.field_scalar_checked(body, key) END
$$;

CREATE FUNCTION ta.to_id(value text, key text) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    IF value !~ '^[0-9]{1,18}$' THEN
        PERFORM ta.raise('22023', format('Pole %s musi być identyfikatorem (liczbą całkowitą)', key), key);
    END IF;
    RETURN value::bigint;
END $$;

CREATE FUNCTION ta.field_id(body json, key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT ta.to_id(ta.field_scalar(body, key), key) $$;

CREATE FUNCTION ta.to_date(value text, key text) RETURNS date
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    d date;
BEGIN
    IF value IS NULL THEN
        RETURN NULL;
    END IF;
    d := ta.parse_date(value);
    IF d IS NULL THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa data w polu %s (oczekiwano RRRR-MM-DD)', key), key);
    END IF;
    RETURN d;
END $$;

CREATE FUNCTION ta.field_date(body json, key text) RETURNS date
    LANGUAGE sql IMMUTABLE AS $$ SELECT ta.to_date(ta.field_text(body, key), key) $$;

-- The practices' clock is Europe/Warsaw's: a local time or a whole day means its instant
-- there, whatever the session's TimeZone (timezone(text, timestamp) is immutable).
CREATE FUNCTION ta.warsaw_instant(local timestamp) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT local AT TIME ZONE 'Europe/Warsaw' $$;
COMMENT ON FUNCTION ta.warsaw_instant(timestamp) IS
    'The instant of a Europe/Warsaw local time (day boundaries of date filters, naive input).';

-- An instant: ISO 8601 with an offset (2026-12-01T07:08:51.958Z, +01:00, +0100, +01), without
-- one (Europe/Warsaw local time, as an HTML datetime-local field gives it), or a date alone
-- (00:00 Europe/Warsaw that day). Seconds and their fraction are optional.
CREATE FUNCTION ta.field_timestamp(body json, key text) RETURNS timestamptz
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := ta.field_text(body, key);
    m text[];
    day date;
    clock time;
    local timestamp;
    hours integer;
    minutes integer;
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    m := regexp_match(s, '^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ]([0-9]{2}:[0-9]{2}(?::[0-9]{2})?)(\.[0-9]{1,6})?'
                         '(Z|[+-]([0-9]{2})(?::?([0-9]{2}))?)?)?$');
    day := ta.parse_date(m[1]);
    clock := coalesce(ta.parse_time(m[2]), '00:00');
    hours := m[5]::integer;
    minutes := coalesce(m[6]::integer, 0);
    IF day IS NULL OR (m[2] IS NOT NULL AND ta.parse_time(m[2]) IS NULL) OR hours > 14 OR minutes > 59 THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa data w polu %s (oczekiwano RRRR-MM-DD albo daty z godziną, '
                                         'np. 2026-12-01T09:30:00+01:00)', key), key);
    END IF;
    local := day + clock + make_interval(secs => coalesce(('0' || m[3])::float8, 0));
    IF m[4] IS NULL THEN
        RETURN ta.warsaw_instant(local);
    END IF;
    IF left(m[4], 1) = '-' THEN
        local := local + make_interval(hours => hours, mins => minutes);
    ELSIF m[4] <> 'Z' THEN
        local := local - make_interval(hours => hours, mins => minutes);
    END IF;
    RETURN local AT TIME ZONE 'UTC';
END $$;
COMMENT ON FUNCTION ta.field_timestamp(json, text) IS
    'A timestamp member: with an offset, naive (Europe/Warsaw) or a date (00:00 Europe/Warsaw); 422 otherwise.';

CREATE FUNCTION ta.field_time(body json, key text) RETURNS time
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := ta.field_text(body, key);
    t time;
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    t := ta.parse_time(s);
    IF t IS NULL THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa godzina w polu %s (oczekiwano GG:MM)', key), key);
    END IF;
    RETURN t;
END $$;

CREATE FUNCTION ta.field_money(body json, key text) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := ta.field_scalar(body, key);
    m numeric;
BEGIN
    IF s IS NULL THEN
        RETURN NULL;
    END IF;
    m := ta.parse_money(s);
    IF m IS NULL THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa kwota w polu %s (najwyżej 2 miejsca po przecinku)', key), key);
    END IF;
    RETURN m;
END $$;

CREATE FUNCTION ta.field_bool_checked(body json, key text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v json := body -> key;
BEGIN
    IF v IS NULL OR json_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF json_typeof(v) <> 'boolean' THEN
        PERFORM ta.raise('22023', format('Pole %s musi być wartością logiczną', key), key);
    END IF;
    RETURN v::text::boolean;
END $$;

-- A boolean member, or NULL. Inlined like ta.field_text; ta.field_bool_checked refuses the rest.
CREATE FUNCTION ta.field_bool(body json, key text) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN json_typeof(body -> key) = 'boolean' THEN (body ->> key)::boolean
                WHEN body -> key IS NULL THEN NULL
                ELSE ta.field_bool_checked(body, key) END
$$;

-- A non-empty array of distinct ids.
CREATE FUNCTION ta.field_ids(body json, key text) RETURNS bigint[]
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v json := body -> key;
    ids bigint[];
BEGIN
    IF v IS NULL OR json_typeof(v) = 'null' THEN
        RETURN NULL;
    END IF;
    IF json_typeof(v) <> 'array' OR EXISTS (
        SELECT FROM json_array_elements(v) e
        WHERE json_typeof(e) <> 'number' OR e::text !~ '^[0-9]{1,18}$') THEN
        PERFORM ta.raise('22023', format('Pole %s musi być listą identyfikatorów wizyt', key), key);
    END IF;
    SELECT array_agg(DISTINCT e::text::bigint) INTO ids FROM json_array_elements(v) e;
    IF ids IS NULL THEN
        PERFORM ta.raise('22023', 'Wybierz co najmniej jedną wizytę', key);
    END IF;
    RETURN ids;
END $$;

-- An integer query parameter within [lo, hi], dflt when absent.
CREATE FUNCTION ta.query_int(q json, key text, dflt integer, lo integer, hi integer) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := ta.field_scalar(q, key);
BEGIN
    IF s IS NULL THEN
        RETURN dflt;
    END IF;
    IF s !~ '^[0-9]{1,9}$' OR s::integer NOT BETWEEN lo AND hi THEN
        PERFORM ta.raise('22023', format('Parametr %s musi być liczbą całkowitą od %s do %s', key, lo, hi), key);
    END IF;
    RETURN s::integer;
END $$;

CREATE FUNCTION ta.query_date(q json, key text) RETURNS date
    LANGUAGE sql IMMUTABLE AS $$ SELECT ta.to_date(ta.field_scalar(q, key), key) $$;

CREATE FUNCTION ta.query_id(q json, key text) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT ta.to_id(ta.field_scalar(q, key), key) $$;

-- The values of a closed list as a Polish sentence ends: 'a lub b', 'a, b lub c'.
CREATE FUNCTION ta.one_of(items text[]) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(items) < 2 THEN items[1]
                ELSE array_to_string(items[1:cardinality(items) - 1], ', ') || ' lub ' || items[cardinality(items)] END
$$;

-- A payment method member (or query parameter), or NULL when absent.
CREATE FUNCTION ta.to_payment_method(value text, key text) RETURNS ta.payment_method
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.payment_method)::text[]) THEN
        RETURN value::ta.payment_method;
    END IF;
    PERFORM ta.raise('22023', format('Metoda płatności musi być %s', ta.one_of(enum_range(NULL::ta.payment_method)::text[])),
                     key);
END $$;

-- A money amount as Python prints a float (150.0, 99.5), for the original's messages.
CREATE FUNCTION ta.money_text(m numeric) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t LIKE '%.%' THEN t ELSE t || '.0' END FROM (SELECT trim_scale(m)::text AS t) v
$$;

-- The caller: who is calling, from the bearer token the proxy hands over (request.jwt),
-- verified here, and the checks every api function starts with.

-- ta.caller(), the user id of the caller (401 otherwise), is in C in the extension
-- (sql/native.sql, extension/caller.c) and in PL/pgSQL in the plain-SQL install
-- (sql/fallback/native.sql): every api function that reaches practice data calls it first.

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
-- Administration (run by the owner, not granted to the application) and the service
-- routes that need no caller.

CREATE FUNCTION ta.configure(jwt_secret text, jwt_expiration_hours integer DEFAULT 24) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO ta.settings (jwt_secret, jwt_expiration_hours) VALUES (jwt_secret, jwt_expiration_hours)
    ON CONFLICT (singleton) DO UPDATE
        SET jwt_secret = excluded.jwt_secret, jwt_expiration_hours = excluded.jwt_expiration_hours
$$;
COMMENT ON FUNCTION ta.configure(text, integer) IS
    'Sets the JWT secret (the proxy''s JWT_SECRET) and token lifetime in hours.';

CREATE FUNCTION ta.grant_api(app_role name) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    -- Temporary schemas do not count: every role with TEMP may create in its own, and
    -- no function or operator is ever looked up there.
    writable name := (SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege(app_role, n.oid, 'CREATE')
                         AND n.nspname !~ '^pg_(toast_)?temp_' LIMIT 1);
BEGIN
    IF writable IS NOT NULL THEN
        RAISE EXCEPTION 'role % may create objects in schema %; the application role must not', app_role, writable
            USING HINT = format('REVOKE CREATE ON SCHEMA %I FROM %I (and from PUBLIC)', writable, app_role);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA api TO %I', app_role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO %I', app_role);
END $$;
COMMENT ON FUNCTION ta.grant_api(name) IS
    'Lets app_role call the api functions, and nothing else.';


-- Service

CREATE FUNCTION api.health() RETURNS json
    LANGUAGE sql STABLE AS $$ SELECT json_build_object('status', 'healthy', 'schema_version', api.schema_version()) $$;
COMMENT ON FUNCTION api.health() IS 'GET /health';

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
-- Patients. The api: one function per use case of the REST contract, each returning the
-- response body as json or raising a SQLSTATE with the Polish message the client
-- shows. The entry points are SECURITY DEFINER so the application role needs no
-- privilege on any table; row-level security still binds them to the caller's practice.

-- JSON shapes of the contract. Lists aggregate composite rows (json_agg of a record is
-- several times cheaper than json_build_object per row); the attribute names are the keys.
CREATE TYPE ta.patient_out AS (id bigint, name text, phone text, email text, notes text, created_at timestamptz,
                               reminder_email boolean, reminder_sms boolean,
                               reminder_email_changed_at timestamptz, reminder_sms_changed_at timestamptz);
CREATE FUNCTION ta.patient_out(p ta.patients) RETURNS ta.patient_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p.id, p.name, p.phone, p.email, p.notes, p.created_at, p.reminder_email, p.reminder_sms,
               p.reminder_email_changed_at, p.reminder_sms_changed_at)::ta.patient_out
$$;



-- The page comes sorted from the subquery, which the two aggregates read in that order (as in
-- api.list_appointments): an ORDER BY of their own sorted the page twice more (issue 18, 1.3).
CREATE FUNCTION api.list_patients(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    search text := lower(nullif(btrim(ta.field_text(params, 'search')), ''));
    uid bigint := ta.caller();
    result json;
    ids bigint[];
BEGIN
    SELECT coalesce(ta.json_rows(ta.patient_out(p)), '[]'), array_agg(p.id)
      INTO result, ids
      FROM (SELECT * FROM ta.patients p
             WHERE p.deleted_at IS NULL
               AND (search IS NULL OR strpos(lower(p.name), search) > 0
                    OR strpos(lower(p.email), search) > 0 OR strpos(p.phone, search) > 0)
             ORDER BY p.id OFFSET skip LIMIT lim) p;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_patients(json) IS 'GET /patients?skip&limit[&search]';

CREATE FUNCTION api.get_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    result json;
BEGIN
    SELECT row_to_json(ta.patient_out(p)) INTO result FROM ta.patients p
     WHERE p.id = get_patient.id AND p.deleted_at IS NULL;
    IF result IS NULL THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
    PERFORM ta.audit(uid, 'read', ARRAY[get_patient.id]);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.get_patient(bigint) IS 'GET /patients/{id}';

CREATE FUNCTION api.create_patient(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    p ta.patients;
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    INSERT INTO ta.patients (practice_id, name, phone, email, notes, reminder_email, reminder_sms)
    VALUES (ta.current_practice_id(), ta.field_text(body, 'name'), ta.field_optional_text(body, 'phone'),
            ta.field_optional_text(body, 'email'), ta.field_text(body, 'notes'),
            coalesce(ta.field_bool(body, 'reminder_email'), false), coalesce(ta.field_bool(body, 'reminder_sms'), false))
    RETURNING * INTO p;
    PERFORM ta.audit(uid, 'create', ARRAY[p.id]);
    RETURN row_to_json(ta.patient_out(p));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_patient(json) IS 'POST /patients';

CREATE FUNCTION api.update_patient(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    p ta.patients;
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    UPDATE ta.patients SET
        name = CASE WHEN body -> 'name' IS NULL THEN name ELSE ta.field_text(body, 'name') END,
        phone = CASE WHEN body -> 'phone' IS NULL THEN phone ELSE ta.field_optional_text(body, 'phone') END,
        email = CASE WHEN body -> 'email' IS NULL THEN email ELSE ta.field_optional_text(body, 'email') END,
        notes = CASE WHEN body -> 'notes' IS NULL THEN notes ELSE ta.field_text(body, 'notes') END,
        reminder_email = CASE WHEN body -> 'reminder_email' IS NULL THEN reminder_email
                              ELSE coalesce(ta.field_bool(body, 'reminder_email'), false) END,
        reminder_sms = CASE WHEN body -> 'reminder_sms' IS NULL THEN reminder_sms
                            ELSE coalesce(ta.field_bool(body, 'reminder_sms'), false) END
     WHERE patients.id = update_patient.id AND deleted_at IS NULL
    RETURNING * INTO p;
    IF p.id IS NULL THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
    PERFORM ta.audit(uid, 'update', ARRAY[p.id]);
    RETURN row_to_json(ta.patient_out(p));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_patient(bigint, json) IS 'PUT /patients/{id}: any subset of the fields.';

-- Archives the patient with their live appointments, notes and payments, marked as archived
-- with the patient so that restore_patient brings back exactly these (rows archived on
-- their own before stay archived). Payments keep their appointments linked.
CREATE FUNCTION api.delete_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    UPDATE ta.patients SET deleted_at = now(), deleted_by = uid
     WHERE patients.id = delete_patient.id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
    UPDATE ta.payments SET deleted_at = now(), deleted_by = uid, archived_with_patient = true
     WHERE patient_id = delete_patient.id AND deleted_at IS NULL;
    UPDATE ta.appointments SET deleted_at = now(), deleted_by = uid, archived_with_patient = true
     WHERE patient_id = delete_patient.id AND deleted_at IS NULL;
    UPDATE ta.session_notes SET deleted_at = now(), deleted_by = uid, archived_with_patient = true
     WHERE patient_id = delete_patient.id AND deleted_at IS NULL;
    PERFORM ta.audit(uid, 'delete', ARRAY[delete_patient.id]);
    RETURN json_build_object('detail', 'Pacjent został usunięty');
END $$;
COMMENT ON FUNCTION api.delete_patient(bigint) IS
    'DELETE /patients/{id}: archives the patient with their appointments, notes and payments.';

-- Undoes delete_patient: the patient and exactly the rows archived with them. When a slot
-- of one of their appointments was booked meanwhile, the table's exclusion constraint refuses
-- the whole restore (nothing changes) and the message names the days.
CREATE FUNCTION api.restore_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    p ta.patients;
    taken text;
BEGIN
    BEGIN
        UPDATE ta.patients SET deleted_at = NULL, deleted_by = NULL
         WHERE patients.id = restore_patient.id AND deleted_at IS NOT NULL
        RETURNING * INTO p;
        IF p.id IS NULL THEN
            PERFORM ta.raise('P0002', 'Nie znaleziono zarchiwizowanego pacjenta');
        END IF;
        UPDATE ta.payments SET deleted_at = NULL, deleted_by = NULL, archived_with_patient = false
         WHERE patient_id = restore_patient.id AND archived_with_patient;
        UPDATE ta.session_notes SET deleted_at = NULL, deleted_by = NULL, archived_with_patient = false
         WHERE patient_id = restore_patient.id AND archived_with_patient;
        UPDATE ta.appointments SET deleted_at = NULL, deleted_by = NULL, archived_with_patient = false
         WHERE patient_id = restore_patient.id AND archived_with_patient;
    EXCEPTION WHEN exclusion_violation THEN
        SELECT string_agg(DISTINCT to_char(a.date, 'YYYY-MM-DD'), ', ' ORDER BY to_char(a.date, 'YYYY-MM-DD')) INTO taken
          FROM ta.appointments a JOIN ta.appointments other
            ON other.practice_id = a.practice_id AND other.deleted_at IS NULL AND other.status <> 'cancelled'
           AND tsrange(other.date + other.start_time, other.date + other.end_time)
               && tsrange(a.date + a.start_time, a.date + a.end_time)
         WHERE a.patient_id = restore_patient.id AND a.archived_with_patient AND a.status <> 'cancelled';
        PERFORM ta.raise('P0001', 'Nie można przywrócić pacjenta: jego wizyty kolidują z innymi wizytami'
                                  || coalesce(' w dniach: ' || taken, ''));
    END;
    PERFORM ta.audit(uid, 'update', ARRAY[p.id]);
    RETURN row_to_json(ta.patient_out(p));
END $$;
COMMENT ON FUNCTION api.restore_patient(bigint) IS
    'POST /patients/{id}/restore: the archived patient with exactly the rows archived with them.';
-- Appointments: the calendar. Overlaps are refused by the table's exclusion constraint.

CREATE TYPE ta.appointment_out AS (id bigint, patient_id bigint, date date, start_time time, end_time time,
                                   session_note_id bigint, is_paid boolean, price numeric, created_at timestamptz,
                                   status ta.appointment_status, cancel_reason ta.cancel_reason,
                                   late_cancellation boolean, series_id bigint);
CREATE FUNCTION ta.appointment_out(a ta.appointments) RETURNS ta.appointment_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(a.id, a.patient_id, a.date, a.start_time, a.end_time, a.session_note_id, a.payment_id IS NOT NULL,
               a.price, a.created_at, a.status, a.cancel_reason, a.late_cancellation, a.series_id)::ta.appointment_out
$$;

-- The practice's late-cancellation window in hours (24 when it has set none).
CREATE FUNCTION ta.late_cancel_hours(practice bigint) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.late_cancel_hours FROM ta.practice_settings s WHERE s.practice_id = practice), 24)
$$;

-- The moment an appointment starts: its date and time are Polish wall-clock time.
CREATE FUNCTION ta.appointment_start(a ta.appointments) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$ SELECT (a.date + a.start_time) AT TIME ZONE 'Europe/Warsaw' $$;

-- Whether an appointment is owed: everything but an on-time cancellation or one by the
-- therapist. Unpaid lists show exactly these; only these can be paid (appointments_paid_when_due).
CREATE FUNCTION ta.is_due(a ta.appointments) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a.status <> 'cancelled' OR a.late_cancellation $$;

-- Keeps cancelled_at and late_cancellation true to the status, whoever writes it: a
-- cancellation is stamped when it happens (and keeps that moment when only its reason
-- changes); it is late when the patient cancelled less than the practice's
-- late_cancel_hours before the start (or after it). Any other status clears both.
CREATE FUNCTION ta.appointments_stamp_cancellation() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'cancelled' THEN
        IF TG_OP = 'INSERT' OR OLD.status <> 'cancelled' OR OLD.cancelled_at IS NULL THEN
            NEW.cancelled_at := now();
        ELSE
            NEW.cancelled_at := OLD.cancelled_at;
        END IF;
        NEW.late_cancellation := NEW.cancel_reason IS NOT DISTINCT FROM 'patient'
            AND NEW.cancelled_at > ta.appointment_start(NEW) - make_interval(hours => ta.late_cancel_hours(NEW.practice_id));
    ELSE
        NEW.cancelled_at := NULL;
        NEW.late_cancellation := false;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER appointments_stamp_cancellation
    BEFORE INSERT OR UPDATE OF status, cancel_reason, cancelled_at, late_cancellation
    ON ta.appointments FOR EACH ROW EXECUTE FUNCTION ta.appointments_stamp_cancellation();

-- A status given as text: one of ta.appointment_status's labels, or 422.
CREATE FUNCTION ta.to_status(value text, key text) RETURNS ta.appointment_status
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.appointment_status)::text[]) THEN
        RETURN value::ta.appointment_status;
    END IF;
    PERFORM ta.raise('22023', format('Status wizyty musi być %s', ta.one_of(enum_range(NULL::ta.appointment_status)::text[])),
                     key);
END $$;

-- A cancellation reason: one of ta.cancel_reason's labels, or 422.
CREATE FUNCTION ta.to_cancel_reason(value text, key text) RETURNS ta.cancel_reason
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.cancel_reason)::text[]) THEN
        RETURN value::ta.cancel_reason;
    END IF;
    PERFORM ta.raise('22023', format('Powód odwołania musi być %s', ta.one_of(enum_range(NULL::ta.cancel_reason)::text[])),
                     key);
END $$;

-- The statuses of a comma-separated list (GET /appointments?status=completed,no_show).
-- PL/pgSQL: as SQL (a query, never inlined) it was planned again in every GET /appointments.
CREATE FUNCTION ta.query_statuses(q json, key text) RETURNS ta.appointment_status[]
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    list text := nullif(ta.field_scalar(q, key), '');
    statuses ta.appointment_status[];
BEGIN
    IF list IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(ta.to_status(btrim(s), key)) INTO statuses FROM unnest(string_to_array(list, ',')) s;
    RETURN statuses;
END $$;



-- One plan, made once per backend (PL/pgSQL keeps it): absent dates are the infinities and the patient
-- filter is a statement of its own, so a generic plan reads appointments_practice_date_idx (or
-- appointments_patient_id_idx) for every request. "date_from IS NULL OR a.date >= date_from" had no
-- good generic plan: PostgreSQL planned the query anew in every request (a quarter of its instructions).
-- The page comes sorted from the subquery, which ta.json_rows reads in that order (no second sort).
CREATE FUNCTION api.list_appointments(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    date_from date := coalesce(ta.query_date(params, 'date_from'), '-infinity');
    date_to date := coalesce(ta.query_date(params, 'date_to'), 'infinity');
    patient bigint := ta.query_id(params, 'patient_id');
    statuses ta.appointment_status[] := ta.query_statuses(params, 'status');
    uid bigint := ta.caller();
    result json;
    ids bigint[];
BEGIN
    IF patient IS NULL THEN
        SELECT coalesce(ta.json_rows(ta.appointment_out(a)), '[]'), array_agg(DISTINCT a.patient_id) INTO result, ids
          FROM (SELECT * FROM ta.appointments a
                 WHERE a.deleted_at IS NULL AND a.date BETWEEN date_from AND date_to
                   AND (statuses IS NULL OR a.status = ANY (statuses))
                 ORDER BY a.date, a.start_time, a.id OFFSET skip LIMIT lim) a;
    ELSE
        SELECT coalesce(ta.json_rows(ta.appointment_out(a)), '[]'), array_agg(DISTINCT a.patient_id) INTO result, ids
          FROM (SELECT * FROM ta.appointments a
                 WHERE a.deleted_at IS NULL AND a.patient_id = patient AND a.date BETWEEN date_from AND date_to
                   AND (statuses IS NULL OR a.status = ANY (statuses))
                 ORDER BY a.date, a.start_time, a.id OFFSET skip LIMIT lim) a;
    END IF;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_appointments(json) IS
    'GET /appointments?skip&limit&date_from&date_to[&patient_id][&status=a,b] (inclusive dates)';

CREATE FUNCTION api.get_appointment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    a ta.appointments;
BEGIN
    SELECT * INTO a FROM ta.appointments
     WHERE appointments.id = get_appointment.id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
    END IF;
    PERFORM ta.audit(uid, 'read', ARRAY[a.patient_id]);
    RETURN row_to_json(ta.appointment_out(a));
END $$;
COMMENT ON FUNCTION api.get_appointment(bigint) IS 'GET /appointments/{id}';

-- is_paid is not set by hand: it follows from payments. A client may send what its form
-- holds: the original SPA sends is_paid: false with every create and every edit, a paid
-- visit's too, so false changes nothing; true on an unpaid one is refused (add a payment).
CREATE FUNCTION ta.check_is_paid(body json, paid boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF ta.field_bool(body, 'is_paid') AND NOT paid THEN
        PERFORM ta.raise('P0001', 'Wizytę oznacza się jako opłaconą, dodając płatność', 'is_paid');
    END IF;
END $$;

CREATE FUNCTION api.create_appointment(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    a ta.appointments;
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    PERFORM ta.require_patient(ta.field_id(body, 'patient_id'));
    PERFORM ta.check_is_paid(body, false);
    INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price, session_note_id)
    VALUES (ta.current_practice_id(), ta.field_id(body, 'patient_id'), ta.field_date(body, 'date'),
            ta.field_time(body, 'start_time'), ta.field_time(body, 'end_time'),
            ta.field_money(body, 'price'), ta.field_id(body, 'session_note_id'))
    RETURNING * INTO a;
    PERFORM ta.audit(uid, 'create', ARRAY[a.patient_id]);
    RETURN row_to_json(ta.appointment_out(a));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_appointment(json) IS 'POST /appointments';

CREATE FUNCTION api.update_appointment(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    a ta.appointments;
    uid bigint := ta.caller();
    old_patient bigint;
    new_status ta.appointment_status;
BEGIN
    PERFORM ta.require_object(body);
    SELECT * INTO a FROM ta.appointments
     WHERE appointments.id = update_appointment.id AND deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
    END IF;
    old_patient := a.patient_id;
    new_status := coalesce(ta.to_status(ta.field_text(body, 'status'), 'status'), a.status);
    IF body -> 'patient_id' IS NOT NULL THEN
        PERFORM ta.require_patient(ta.field_id(body, 'patient_id'));
    END IF;
    PERFORM ta.check_is_paid(body, a.payment_id IS NOT NULL);
    UPDATE ta.appointments SET
        patient_id = CASE WHEN body -> 'patient_id' IS NULL THEN patient_id ELSE ta.field_id(body, 'patient_id') END,
        date = CASE WHEN body -> 'date' IS NULL THEN date ELSE ta.field_date(body, 'date') END,
        start_time = CASE WHEN body -> 'start_time' IS NULL THEN start_time ELSE ta.field_time(body, 'start_time') END,
        end_time = CASE WHEN body -> 'end_time' IS NULL THEN end_time ELSE ta.field_time(body, 'end_time') END,
        price = CASE WHEN body -> 'price' IS NULL THEN price ELSE ta.field_money(body, 'price') END,
        session_note_id = CASE WHEN body -> 'session_note_id' IS NULL THEN session_note_id
                               ELSE ta.field_id(body, 'session_note_id') END,
        status = new_status,
        -- the reason given, else the one it had while it stays cancelled; none for any other status
        cancel_reason = CASE WHEN body -> 'cancel_reason' IS NOT NULL
                             THEN ta.to_cancel_reason(ta.field_text(body, 'cancel_reason'), 'cancel_reason')
                             WHEN new_status = 'cancelled' AND status = 'cancelled' THEN cancel_reason END
     WHERE appointments.id = update_appointment.id
    RETURNING * INTO a;
    PERFORM ta.audit(uid, 'update', ARRAY(SELECT DISTINCT unnest(ARRAY[old_patient, a.patient_id])));
    RETURN row_to_json(ta.appointment_out(a));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_appointment(bigint, json) IS
    'PUT /appointments/{id}: any subset of the fields, status and cancel_reason included.';

-- A paid appointment leaves its payment, which keeps its amount (the money was received) and
-- records the appointment in deleted_appointment_ids. Locks go payment first, then the
-- appointment, as in update_payment and delete_payment, so the two never wait on each other.
CREATE FUNCTION api.delete_appointment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    a ta.appointments;
    paid_by bigint;
BEGIN
    LOOP
        SELECT payment_id INTO paid_by FROM ta.appointments
         WHERE appointments.id = delete_appointment.id AND deleted_at IS NULL;
        IF NOT FOUND THEN
            PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
        END IF;
        PERFORM FROM ta.payments p WHERE p.id = paid_by FOR UPDATE;
        SELECT * INTO a FROM ta.appointments
         WHERE appointments.id = delete_appointment.id AND deleted_at IS NULL FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
        END IF;
        -- Paid or unpaid by another payment meanwhile: lock that one instead.
        EXIT WHEN a.payment_id IS NOT DISTINCT FROM paid_by;
    END LOOP;
    UPDATE ta.payments p SET deleted_appointment_ids = coalesce(p.deleted_appointment_ids, '{}') || a.id,
                             updated_at = now()
     WHERE p.id = a.payment_id;
    UPDATE ta.appointments SET deleted_at = now(), deleted_by = uid, payment_id = NULL
     WHERE appointments.id = a.id;
    PERFORM ta.audit(uid, 'delete', ARRAY[a.patient_id]);
    RETURN json_build_object('detail', 'Wizyta została usunięta');
END $$;
COMMENT ON FUNCTION api.delete_appointment(bigint) IS
    'DELETE /appointments/{id}: archives it; a paid one leaves its payment, which keeps its amount.';
-- Session notes, per patient, newest first.

CREATE TYPE ta.note_out AS (id bigint, patient_id bigint, content text, created_at timestamptz);
CREATE FUNCTION ta.note_out(n ta.session_notes) RETURNS ta.note_out
    LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(n.id, n.patient_id, n.content, n.created_at)::ta.note_out $$;



-- A page of notes (of one patient or all) and the ids of the patients they belong to.
CREATE FUNCTION ta.notes_page(patient bigint, q json, OUT body json, OUT patient_ids bigint[])
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(ta.json_rows(ta.note_out(n) ORDER BY n.created_at DESC, n.id DESC), '[]'),
           array_agg(DISTINCT n.patient_id)
      FROM (SELECT * FROM ta.session_notes n
             WHERE n.deleted_at IS NULL AND (patient IS NULL OR n.patient_id = patient)
             ORDER BY n.created_at DESC, n.id DESC
            OFFSET ta.query_int(ta.query_params(q), 'skip', 0, 0, 1000000000)
             LIMIT ta.query_int(ta.query_params(q), 'limit', 100, 1, 1000)) n
$$;

CREATE FUNCTION api.list_session_notes(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    page record := ta.notes_page(NULL, q);
BEGIN
    PERFORM ta.audit(uid, 'read', page.patient_ids);
    RETURN page.body;
END $$;
COMMENT ON FUNCTION api.list_session_notes(json) IS 'GET /session_notes?skip&limit, newest first';

CREATE FUNCTION api.list_patient_session_notes(patient_id bigint, q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    page record;
BEGIN
    PERFORM ta.require_patient(patient_id);
    page := ta.notes_page(patient_id, q);
    PERFORM ta.audit(uid, 'read', ARRAY[patient_id]);
    RETURN page.body;
END $$;
COMMENT ON FUNCTION api.list_patient_session_notes(bigint, json) IS
    'GET /session_notes/{patient_id}?skip&limit, newest first';

CREATE FUNCTION api.create_session_note(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    n ta.session_notes;
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    PERFORM ta.require_patient(ta.field_id(body, 'patient_id'));
    INSERT INTO ta.session_notes (practice_id, patient_id, content)
    VALUES (ta.current_practice_id(), ta.field_id(body, 'patient_id'), ta.field_text(body, 'content'))
    RETURNING * INTO n;
    PERFORM ta.audit(uid, 'create', ARRAY[n.patient_id]);
    RETURN row_to_json(ta.note_out(n));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_session_note(json) IS 'POST /session_notes';

CREATE FUNCTION api.get_session_note(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    n ta.session_notes;
BEGIN
    SELECT * INTO n FROM ta.session_notes
     WHERE session_notes.id = get_session_note.id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Notatka nie została znaleziona');
    END IF;
    PERFORM ta.audit(uid, 'read', ARRAY[n.patient_id]);
    RETURN row_to_json(ta.note_out(n));
END $$;
COMMENT ON FUNCTION api.get_session_note(bigint) IS 'GET /session_notes/note/{id}';

CREATE FUNCTION api.update_session_note(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    n ta.session_notes;
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    UPDATE ta.session_notes SET
        content = CASE WHEN body -> 'content' IS NULL THEN content ELSE ta.field_text(body, 'content') END,
        updated_at = now()
     WHERE session_notes.id = update_session_note.id AND deleted_at IS NULL
    RETURNING * INTO n;
    IF n.id IS NULL THEN
        PERFORM ta.raise('P0002', 'Notatka nie została znaleziona');
    END IF;
    PERFORM ta.audit(uid, 'update', ARRAY[n.patient_id]);
    RETURN row_to_json(ta.note_out(n));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_session_note(bigint, json) IS 'PUT /session_notes/note/{id}';

CREATE FUNCTION api.delete_session_note(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    patient bigint;
BEGIN
    UPDATE ta.session_notes SET deleted_at = now(), deleted_by = uid
     WHERE session_notes.id = delete_session_note.id AND deleted_at IS NULL
    RETURNING patient_id INTO patient;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Notatka nie została znaleziona');
    END IF;
    UPDATE ta.appointments SET session_note_id = NULL WHERE session_note_id = delete_session_note.id;
    PERFORM ta.audit(uid, 'delete', ARRAY[patient]);
    RETURN json_build_object('detail', 'Notatka została usunięta');
END $$;
COMMENT ON FUNCTION api.delete_session_note(bigint) IS 'DELETE /session_notes/{id}: archives it.';

-- Payments: money received for one or more appointments of one patient.

-- A payment with its appointments and patient (the contract's PaymentWithPatient;
-- create and update answer it too: a superset of Payment). PL/pgSQL, whose plan the session
-- keeps: as SQL (a query, never inlined) it was planned again in every request's transaction
-- (~200 µs of each POST and PUT /payments).
CREATE FUNCTION ta.payment_json(p ta.payments) RETURNS json
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    result json;
BEGIN
    SELECT json_build_object(
        'id', p.id, 'patient_id', p.patient_id, 'amount', p.amount,
        'payment_method', p.payment_method, 'description', p.description,
        'payment_date', p.payment_date, 'created_at', p.created_at, 'updated_at', p.updated_at,
        'appointments', coalesce((
            SELECT json_agg(json_build_object('id', a.id, 'patient_id', a.patient_id, 'date', a.date,
                                              'start_time', a.start_time, 'end_time', a.end_time,
                                              'is_paid', true, 'price', a.price)
                            ORDER BY a.date, a.start_time)
              FROM ta.appointments a WHERE a.payment_id = p.id), '[]'),
        'patient_name', pt.name, 'patient_email', pt.email, 'patient_phone', pt.phone)
      INTO result
      FROM ta.patients pt WHERE pt.id = p.patient_id;
    RETURN result;
END $$;



-- Links appointment_ids to the payment (locking them), after checking that they are
-- live appointments of the patient, unpaid (or already this payment's), and that the
-- amount covers their prices. Unlinks the payment's other appointments.
-- Messages follow the original: a new payment lists every taken id, a change names the first.
CREATE FUNCTION ta.link_appointments(pay ta.payments, appointment_ids bigint[], changing boolean) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    found_count integer;
    taken bigint[];
    not_due bigint[];
    total numeric;
BEGIN
    SELECT count(*), array_agg(a.id ORDER BY a.id) FILTER (WHERE a.payment_id <> pay.id),
           array_agg(a.id ORDER BY a.id) FILTER (WHERE NOT ta.is_due(a)), coalesce(sum(a.price), 0)
      INTO found_count, taken, not_due, total
      FROM (SELECT * FROM ta.appointments a
             WHERE a.id = ANY (appointment_ids) AND a.patient_id = pay.patient_id AND a.deleted_at IS NULL
             ORDER BY a.id FOR UPDATE) a;
    IF found_count <> cardinality(appointment_ids) THEN
        PERFORM ta.raise('P0001', 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta', 'appointment_ids');
    ELSIF cardinality(not_due) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyty o ID [%s] zostały odwołane bez opłaty i nie są należne',
                                         array_to_string(not_due, ', ')), 'appointment_ids');
    ELSIF changing AND cardinality(taken) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyta o ID %s jest już opłacona', taken[1]), 'appointment_ids');
    ELSIF cardinality(taken) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyty o ID [%s] są już opłacone', array_to_string(taken, ', ')),
                         'appointment_ids');
    ELSIF pay.amount < total THEN
        PERFORM ta.raise('P0001', format('Kwota płatności (%s PLN) jest mniejsza niż suma cen wybranych wizyt (%s PLN)',
                                         ta.money_text(pay.amount), ta.money_text(total)), 'amount');
    END IF;
    UPDATE ta.appointments SET payment_id = NULL
     WHERE payment_id = pay.id AND NOT (id = ANY (appointment_ids));
    UPDATE ta.appointments SET payment_id = pay.id
     WHERE id = ANY (appointment_ids) AND payment_id IS NULL;
END $$;

CREATE FUNCTION api.create_payment(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    pay ta.payments;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    PERFORM ta.require_patient(ta.field_id(body, 'patient_id'));
    ids := ta.field_ids(body, 'appointment_ids');
    IF ids IS NULL THEN
        PERFORM ta.raise('22023', 'Wybierz co najmniej jedną wizytę', 'appointment_ids');
    END IF;
    INSERT INTO ta.payments (practice_id, patient_id, amount, payment_method, description, payment_date)
    VALUES (ta.current_practice_id(), ta.field_id(body, 'patient_id'), ta.field_money(body, 'amount'),
            ta.to_payment_method(ta.field_text(body, 'payment_method'), 'payment_method'), ta.field_text(body, 'description'),
            coalesce(ta.field_timestamp(body, 'payment_date'), now()))
    RETURNING * INTO pay;
    PERFORM ta.link_appointments(pay, ids, false);
    PERFORM ta.audit(uid, 'create', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_payment(json) IS
    'POST /payments: records a payment and marks its appointments paid.';

CREATE FUNCTION api.list_payments(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 500);
    patient bigint := ta.query_id(params, 'patient_id');
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    method ta.payment_method := ta.to_payment_method(ta.field_scalar(params, 'payment_method'), 'payment_method');
    result json;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    WITH matching AS (
        SELECT * FROM ta.payments p
         WHERE p.deleted_at IS NULL
           AND (patient IS NULL OR p.patient_id = patient)
           AND (date_from IS NULL OR p.payment_date >= ta.warsaw_instant(date_from))
           AND (date_to IS NULL OR p.payment_date < ta.warsaw_instant(date_to + 1))
           AND (method IS NULL OR p.payment_method = method))
    SELECT json_build_object(
        'total', (SELECT count(*) FROM matching),
        'payments', coalesce(json_agg(ta.payment_json(p) ORDER BY p.payment_date DESC, p.id DESC), '[]')),
           array_agg(DISTINCT p.patient_id)
      INTO result, ids
      FROM (SELECT * FROM matching m ORDER BY m.payment_date DESC, m.id DESC OFFSET skip LIMIT lim) p;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_payments(json) IS
    'GET /payments?skip&limit&patient_id&date_from&date_to&payment_method: {total, payments}';

CREATE FUNCTION api.get_payment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    pay ta.payments;
BEGIN
    SELECT * INTO pay FROM ta.payments
     WHERE payments.id = get_payment.id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    PERFORM ta.audit(uid, 'read', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
END $$;
COMMENT ON FUNCTION api.get_payment(bigint) IS 'GET /payments/{id}';

CREATE FUNCTION api.update_payment(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    pay ta.payments;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    UPDATE ta.payments SET
        amount = CASE WHEN body -> 'amount' IS NULL THEN amount ELSE ta.field_money(body, 'amount') END,
        payment_method = CASE WHEN body -> 'payment_method' IS NULL THEN payment_method
                              ELSE ta.to_payment_method(ta.field_text(body, 'payment_method'), 'payment_method') END,
        description = CASE WHEN body -> 'description' IS NULL THEN description
                           ELSE ta.field_text(body, 'description') END,
        payment_date = CASE WHEN body -> 'payment_date' IS NULL THEN payment_date
                            ELSE ta.field_timestamp(body, 'payment_date') END,
        updated_at = now()
     WHERE payments.id = update_payment.id AND deleted_at IS NULL
    RETURNING * INTO pay;
    IF pay.id IS NULL THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    IF body -> 'appointment_ids' IS NOT NULL THEN
        ids := ta.field_ids(body, 'appointment_ids');
        IF ids IS NULL THEN
            PERFORM ta.raise('22023', 'Wybierz co najmniej jedną wizytę', 'appointment_ids');
        END IF;
    ELSE
        SELECT array_agg(a.id) INTO ids FROM ta.appointments a WHERE a.payment_id = pay.id;
    END IF;
    PERFORM ta.link_appointments(pay, coalesce(ids, '{}'), true);
    PERFORM ta.audit(uid, 'update', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_payment(bigint, json) IS
    'PATCH /payments/{id}: dropped appointments become unpaid, added ones paid.';

CREATE FUNCTION api.delete_payment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    patient bigint;
BEGIN
    UPDATE ta.payments p SET deleted_at = now(), deleted_by = uid,
           archived_appointment_ids = (SELECT array_agg(a.id ORDER BY a.id) FROM ta.appointments a
                                        WHERE a.payment_id = p.id)
     WHERE p.id = delete_payment.id AND p.deleted_at IS NULL
    RETURNING p.patient_id INTO patient;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    UPDATE ta.appointments SET payment_id = NULL WHERE payment_id = delete_payment.id;
    PERFORM ta.audit(uid, 'delete', ARRAY[patient]);
    RETURN json_build_object('detail', 'Płatność została usunięta, wizyty oznaczone jako nieopłacone');
END $$;
COMMENT ON FUNCTION api.delete_payment(bigint) IS
    'DELETE /payments/{id}: archives it; its appointments become unpaid.';

CREATE FUNCTION api.unpaid_appointments(patient_id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_patient(patient_id);
    PERFORM ta.audit(uid, 'read', ARRAY[patient_id]);
    RETURN coalesce((SELECT json_agg(a.id ORDER BY a.date, a.start_time, a.id) FROM ta.appointments a
                      WHERE a.patient_id = unpaid_appointments.patient_id
                        AND a.deleted_at IS NULL AND a.payment_id IS NULL AND ta.is_due(a)), '[]');
END $$;
COMMENT ON FUNCTION api.unpaid_appointments(bigint) IS
    'GET /payments/patient/{patient_id}/unpaid-appointments: ids of what is due and unpaid, by date and time.';

CREATE FUNCTION api.payment_statistics(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    uid bigint := ta.caller();
BEGIN
    -- Sums over the practice's payments: audited as a read of no one patient.
    PERFORM ta.audit(uid, 'read', '{}');
    RETURN (SELECT json_build_object(
                'total_payments', count(*),
                'total_amount', coalesce(sum(p.amount), 0),
                'cash_amount', coalesce(sum(p.amount) FILTER (WHERE p.payment_method = 'CASH'), 0),
                'transfer_amount', coalesce(sum(p.amount) FILTER (WHERE p.payment_method = 'TRANSFER'), 0),
                'cash_count', count(*) FILTER (WHERE p.payment_method = 'CASH'),
                'transfer_count', count(*) FILTER (WHERE p.payment_method = 'TRANSFER'))
              FROM ta.payments p
             WHERE p.deleted_at IS NULL
               AND (date_from IS NULL OR p.payment_date >= ta.warsaw_instant(date_from))
               AND (date_to IS NULL OR p.payment_date < ta.warsaw_instant(date_to + 1)));
END $$;
COMMENT ON FUNCTION api.payment_statistics(json) IS 'GET /payments/statistics/summary?date_from&date_to';

-- The audit trail (GDPR art. 30/32): one row per api call that reads or changes patient
-- data, written by the call itself, so it commits or rolls back with what it records.
-- Append-only: no UPDATE or DELETE policy (row-level security is forced, so even the
-- owner's functions match no row), and a trigger refuses UPDATE, DELETE and TRUNCATE
-- to everyone, the superuser too, while it exists.

-- No foreign keys: a key check would lock the user's and the practice's rows on every
-- read, and the trail must not depend on what it records anyway.
CREATE TYPE ta.audit_action AS ENUM ('read', 'create', 'update', 'delete', 'export');
COMMENT ON TYPE ta.audit_action IS 'What an audited api call did with patient data.';

CREATE TABLE ta.audit_log (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    user_id bigint NOT NULL,
    action ta.audit_action NOT NULL,
    route text,
    patient_ids bigint[] NOT NULL DEFAULT '{}',
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now(),
    -- Each practice's trail is 64 hash chains, so that concurrent appends do
    -- not queue behind one lock (ta.audit_append): the row's chain ...
    chain smallint NOT NULL,
    -- ... and sha256 of the previous row's hash (same practice and chain, by id) and this
    -- row's fields (ta.audit_row_hash): a row changed or removed behind the triggers' back
    -- breaks its chain
    hash bytea NOT NULL,
    CONSTRAINT audit_log_chain_check CHECK (chain BETWEEN 0 AND 63)
);
-- Two indexes besides the key, ascending so that new rows go to their rightmost pages (a
-- backward scan serves newest-first). No GIN on patient_ids: every read would update it (its
-- pending list is one page all sessions lock), halving GET throughput; the patient filter of
-- GET /audit and the export scan the practice's rows instead.
CREATE INDEX audit_log_practice_at_idx ON ta.audit_log (practice_id, at, id);
-- Each chain runs in id order: its head is found, and verification walks it, here.
CREATE INDEX audit_log_chain_idx ON ta.audit_log (practice_id, chain, id);
COMMENT ON TABLE ta.audit_log IS
    'Who read or changed which patients'' data, when, from where (append-only).';
COMMENT ON COLUMN ta.audit_log.route IS 'The request''s route as the proxy names it (request.route), e.g. GET /patients/{id}.';

ALTER TABLE ta.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE ta.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_select ON ta.audit_log FOR SELECT
    USING (practice_id = (SELECT ta.current_practice_id()));
CREATE POLICY audit_log_insert ON ta.audit_log FOR INSERT
    WITH CHECK (practice_id = (SELECT ta.current_practice_id()));

CREATE FUNCTION ta.audit_log_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % refused', TG_OP USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON ta.audit_log
    FOR EACH ROW EXECUTE FUNCTION ta.audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ta.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ta.audit_log_refuse_change();

-- The tamper-evident chains. A row's hash covers its fields and the previous row's hash in
-- its chain, so changing a row breaks its own hash and removing one breaks the next. The
-- fields are hashed as a JSON array of values that do not depend on any session setting
-- (the time as epoch seconds).
-- STABLE (json_build_array is), so that it is inlined: run as a function of its own, it cost
-- more than the rest of the append.
CREATE FUNCTION ta.audit_row_hash(prev bytea, l ta.audit_log) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev, '\x'::bytea)
                  || convert_to(json_build_array(l.id, l.practice_id, l.user_id, l.action, l.route,
                                                 l.patient_ids, l.client_addr::text,
                                                 extract(epoch FROM l.at), l.chain)::text, 'UTF8'))
$$;
COMMENT ON FUNCTION ta.audit_row_hash(bytea, ta.audit_log) IS
    'sha256(previous hash in the chain || the row''s fields as JSON): one link of the audit chain.';

-- Appends one row to the trail: every writer of ta.audit_log calls this (no INSERT
-- elsewhere but the audit writer's batches, ta.audit_append_batch, which do the same), in
-- the practice's context (request.jwt.claims' pid, as row-level security needs anyway). An
-- append holds one of the practice's 64 chains until its transaction ends (a
-- transaction-level advisory lock: the first free one, starting from the backend's own),
-- draws the row's id and reads its predecessor meanwhile, so a chain never forks.
-- One chain for the whole practice would make every read of a practice wait for the
-- previous one to commit (GET /patients fell from ~1400 to ~260 tx/s in bench/pgbench.sh).
CREATE FUNCTION ta.audit_append(practice bigint, uid bigint, action text, route text, patient_ids bigint[],
                                client_addr inet, at timestamptz) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    chains constant integer := 64;
    first integer := pg_backend_pid() % chains;
    r ta.audit_log;
    prev bytea;
BEGIN
    IF practice IS DISTINCT FROM ta.current_practice_id() THEN
        RAISE EXCEPTION 'audit rows must be appended in their practice''s context' USING ERRCODE = '42501';
    END IF;
    r.chain := NULL;
    FOR i IN 0 .. chains - 1 LOOP
        IF pg_try_advisory_xact_lock(hashtextextended('ta.audit_log ' || practice, (first + i) % chains)) THEN
            r.chain := (first + i) % chains;
            EXIT;
        END IF;
    END LOOP;
    IF r.chain IS NULL THEN  -- all 64 busy: wait for this backend's own
        PERFORM pg_advisory_xact_lock(hashtextextended('ta.audit_log ' || practice, first));
        r.chain := first;
    END IF;
    SELECT l.hash INTO prev FROM ta.audit_log l WHERE l.practice_id = practice AND l.chain = r.chain
     ORDER BY l.id DESC LIMIT 1;
    r.id := nextval('ta.audit_log_id_seq'::regclass);
    r.practice_id := practice;
    r.user_id := uid;
    r.action := action;
    r.route := route;
    r.patient_ids := patient_ids;
    r.client_addr := client_addr;
    r.at := at;
    r.hash := ta.audit_row_hash(prev, r);
    INSERT INTO ta.audit_log (id, practice_id, user_id, action, route, patient_ids, client_addr, at, chain, hash)
    VALUES (r.id, r.practice_id, r.user_id, r.action, r.route, r.patient_ids, r.client_addr, r.at, r.chain, r.hash);
END $$;
COMMENT ON FUNCTION ta.audit_append(bigint, bigint, text, text, bigint[], inet, timestamptz) IS
    'Appends one audit row, chained to the previous one of a free chain of the practice (so do the writer''s batches).';

-- A read's entry as the audit writer (extension/audit_writer.c) hands it over: an audit row
-- before its id, chain and hash are given.
CREATE TYPE ta.audit_entry AS (practice_id bigint, user_id bigint, action ta.audit_action, route text,
                               patient_ids bigint[], client_addr inet, at timestamptz);
COMMENT ON TYPE ta.audit_entry IS 'A queued audit row for ta.audit_append_batch (no id, chain or hash yet).';

-- Appends the audit writer's batch, entries in the order their reads committed, as
-- ta.audit_append would one at a time, for less: per practice one chain (taken as there, and
-- before any id is drawn, so no row appended to that chain later can get a smaller id), one
-- predecessor lookup and one multi-row INSERT; the ids are drawn in the entries' order (across
-- practices too) and each practice's rows are chained in it. It sets each practice's context
-- (ta.set_claims) itself, as row-level security needs, and restores the caller's: only
-- the writer, as the owner, calls it (no role of the application reaches schema ta).
CREATE FUNCTION ta.audit_append_batch(entries ta.audit_entry[]) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    chains constant integer := 64;
    first integer := pg_backend_pid() % chains;
    claims text := current_setting('request.jwt.claims', true);
    practices bigint[] := ARRAY(SELECT DISTINCT e.practice_id FROM unnest(entries) e ORDER BY 1);
    taken smallint[] := '{}';
    ids bigint[];
    p bigint;
    c smallint;
    k integer := 0;
    prev bytea;
    r ta.audit_log;
    batch ta.audit_log[];
    e record;
BEGIN
    FOREACH p IN ARRAY practices LOOP
        c := NULL;
        FOR i IN 0 .. chains - 1 LOOP
            IF pg_try_advisory_xact_lock(hashtextextended('ta.audit_log ' || p, (first + i) % chains)) THEN
                c := (first + i) % chains;
                EXIT;
            END IF;
        END LOOP;
        IF c IS NULL THEN  -- all 64 busy: wait for this backend's own
            PERFORM pg_advisory_xact_lock(hashtextextended('ta.audit_log ' || p, first));
            c := first;
        END IF;
        taken := taken || c;
    END LOOP;
    ids := ARRAY(SELECT nextval('ta.audit_log_id_seq'::regclass) FROM generate_series(1, cardinality(entries)));
    -- Practice by practice (in the order of practices), each one's entries in their order.
    FOR e IN SELECT u.*, ids[u.n] AS id,
                    lag(u.practice_id) OVER w IS DISTINCT FROM u.practice_id AS first_of_practice,
                    lead(u.practice_id) OVER w IS DISTINCT FROM u.practice_id AS last_of_practice
               FROM unnest(entries) WITH ORDINALITY
                    AS u(practice_id, user_id, action, route, patient_ids, client_addr, at, n)
             WINDOW w AS (ORDER BY u.practice_id, u.n) ORDER BY u.practice_id, u.n LOOP
        IF e.first_of_practice THEN
            k := k + 1;
            PERFORM ta.set_claims(json_build_object('pid', practices[k])::text);
            SELECT l.hash INTO prev FROM ta.audit_log l WHERE l.practice_id = practices[k] AND l.chain = taken[k]
             ORDER BY l.id DESC LIMIT 1;
            batch := '{}';
        END IF;
        r.id := e.id;
        r.practice_id := e.practice_id;
        r.user_id := e.user_id;
        r.action := e.action;
        r.route := e.route;
        r.patient_ids := e.patient_ids;
        r.client_addr := e.client_addr;
        r.at := e.at;
        r.chain := taken[k];
        r.hash := ta.audit_row_hash(prev, r);
        prev := r.hash;
        batch := batch || r;
        IF e.last_of_practice THEN
            INSERT INTO ta.audit_log (id, practice_id, user_id, action, route, patient_ids, client_addr, at, chain, hash)
            SELECT b.id, b.practice_id, b.user_id, b.action, b.route, b.patient_ids, b.client_addr, b.at, b.chain, b.hash
              FROM unnest(batch) b;
        END IF;
    END LOOP;
    PERFORM ta.set_claims(coalesce(claims, ''));
END $$;
COMMENT ON FUNCTION ta.audit_append_batch(ta.audit_entry[]) IS
    'Appends the audit writer''s batch: each row as ta.audit_append would, one chain and INSERT per practice.';

-- Makes the trail complete for the caller before it is read or appended to: waits until the
-- rows queued before (see ta.audit) are written (unless wait is false), then appends this
-- transaction's own deferred rows of the practice, so that ids follow the order of the calls.
CREATE FUNCTION ta.audit_settle(wait boolean) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    e record;
BEGIN
    IF wait THEN
        PERFORM ta.audit_flush();
    END IF;
    FOR e IN SELECT * FROM ta.audit_take_pending(ta.current_practice_id()) LOOP
        PERFORM ta.audit_append(e.practice_id, e.user_id, e.action, e.route, e.patient_ids, e.client_addr, e.at);
    END LOOP;
END $$;
COMMENT ON FUNCTION ta.audit_settle(boolean) IS
    'Waits for the queued audit rows and appends this transaction''s deferred ones: the trail is complete.';

-- Writes the caller's row in this transaction. A read that has written nothing else commits
-- asynchronously (synchronous_commit off for this transaction): the audit row is then its only
-- write, and waiting for the WAL flush would make every GET as slow as a write. What that
-- risks: a crash of PostgreSQL itself (not of the proxy) within a fraction of a second may
-- lose the newest read rows; never a write, nor the audit row of a write, and no later
-- commit can survive without them (WAL is ordered). A write's row follows every row queued
-- before it; a read's does not wait for the queue (a read writes its own row when the queue
-- is full: it must not wait for the writer).
CREATE FUNCTION ta.audit_write(uid bigint, action text, patient_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF action = 'read' AND pg_current_xact_id_if_assigned() IS NULL THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    PERFORM ta.audit_settle(action NOT IN ('read', 'export'));
    PERFORM ta.audit_append(ta.current_practice_id(), uid, audit_write.action,
                            nullif(current_setting('request.route', true), ''), coalesce(audit_write.patient_ids, '{}'),
                            ta.client_addr(), now());
END $$;
COMMENT ON FUNCTION ta.audit_write(bigint, text, bigint[]) IS
    'Appends the caller''s audit row in this transaction (after the queued and deferred ones).';

-- Records one call of the caller (uid, of the claims' practice).
--
-- A read or an export whose transaction has written nothing and is not a block the client
-- opened (BEGIN) is deferred in the C install loaded by shared_preload_libraries
-- (ta.audit_defer, extension/audit_defer.c): its entry is queued in shared memory when the
-- transaction commits (dropped if it aborts) and the database's audit writer, a background
-- worker, appends it through ta.audit_append within milliseconds, in batches of one
-- transaction each. The read stays a read-only transaction: no xid, no WAL, no commit record.
-- Reading the trail (ta.audit_settle) waits for the queue, so everyone sees their own reads.
-- The same risk as an asynchronous commit: a crash of PostgreSQL itself may lose the read
-- rows of the last fraction of a second (queued or not yet flushed); never a write, nor the
-- audit row of a write. When the queue is full, has no writer yet, or the library was not
-- preloaded (and always in the plain-SQL install), the row is written now (ta.audit_write).
--
-- On a hot standby (the read replica of the proxy's DB_READ_URL) nothing can be written: the
-- row is then handed to the proxy in response.audit, and the proxy writes it on the primary
-- with api.record_read before it answers; if that fails, the answer is never sent.
CREATE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF pg_is_in_recovery() THEN
        PERFORM set_config('response.audit',
                           json_build_object('action', action, 'patient_ids', coalesce(patient_ids, '{}'))::text, true);
        RETURN;
    END IF;
    IF action IN ('read', 'export')
       AND ta.audit_defer(ta.current_practice_id(), uid, audit.action, nullif(current_setting('request.route', true), ''),
                          coalesce(audit.patient_ids, '{}'), ta.client_addr(), now()) THEN
        RETURN;
    END IF;
    PERFORM ta.audit_write(uid, audit.action, audit.patient_ids);
END $$;
COMMENT ON FUNCTION ta.audit(bigint, text, bigint[]) IS
    'Appends one audit row for the caller: action is read, create, update, delete or export.';

---------------------------------------------------------------------------------------
-- The trail and the patient's record, as the api answers them

CREATE FUNCTION api.list_audit(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    patient bigint := ta.query_id(params, 'patient_id');
    who bigint := ta.query_id(params, 'user_id');
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    act text := nullif(ta.field_text(params, 'action'), '');
BEGIN
    PERFORM ta.caller();
    PERFORM ta.audit_settle(true);
    IF act <> ALL (enum_range(NULL::ta.audit_action)::text[]) THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa czynność w polu action (%s)',
                                         ta.one_of(enum_range(NULL::ta.audit_action)::text[])), 'action');
    END IF;
    RETURN coalesce((
        SELECT json_agg(json_build_object('id', l.id, 'at', l.at, 'user_id', l.user_id, 'action', l.action,
                                          'route', l.route, 'patient_ids', l.patient_ids,
                                          'client_addr', host(l.client_addr))
                        ORDER BY l.at DESC, l.id DESC)
          FROM (SELECT * FROM ta.audit_log l
                 WHERE (patient IS NULL OR l.patient_ids @> ARRAY[patient])
                   AND (who IS NULL OR l.user_id = who)
                   AND (act IS NULL OR l.action = act::ta.audit_action)
                   AND (date_from IS NULL OR l.at >= date_from)
                   AND (date_to IS NULL OR l.at < date_to + 1)
                 ORDER BY l.at DESC, l.id DESC OFFSET skip LIMIT lim) l), '[]');
END $$;
COMMENT ON FUNCTION api.list_audit(json) IS
    'GET /audit?patient_id&user_id&action&date_from&date_to&skip&limit: the practice''s trail, newest first.';

-- Everything stored about one patient, archived rows included (the right of access,
-- GDPR art. 15), with who accessed it; the export itself is audited.
CREATE FUNCTION api.export_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    result json;
BEGIN
    PERFORM ta.audit_settle(true);
    SELECT json_build_object(
        'patient', to_jsonb(p) - 'practice_id',
        'appointments', coalesce((SELECT json_agg((to_jsonb(a) - 'practice_id' - 'payment_id'
                                                   - ARRAY['reminder_starts_at', 'reminder_send_at',
                                                           'email_reminder_id', 'sms_reminder_id'])
                                                  || jsonb_build_object('is_paid', a.payment_id IS NOT NULL,
                                                                        'payment_id', a.payment_id)
                                                  ORDER BY a.date, a.start_time, a.id)
                                    FROM ta.appointments a WHERE a.patient_id = p.id), '[]'),
        'session_notes', coalesce((SELECT json_agg(to_jsonb(n) - 'practice_id' ORDER BY n.created_at, n.id)
                                     FROM ta.session_notes n WHERE n.patient_id = p.id), '[]'),
        'payments', coalesce((SELECT json_agg(to_jsonb(pay) - 'practice_id' ORDER BY pay.payment_date, pay.id)
                                FROM ta.payments pay WHERE pay.patient_id = p.id), '[]'),
        'reminder_consents', coalesce((SELECT json_agg(json_build_object('channel', c.channel, 'given', c.given,
                                                                         'at', c.at, 'by_user', c.by_user)
                                                       ORDER BY c.at, c.id)
                                         FROM ta.reminder_consents c WHERE c.patient_id = p.id), '[]'),
        'reminders', coalesce((SELECT json_agg(json_build_object('id', o.id, 'appointment_id', o.appointment_id,
                                                                 'channel', o.channel, 'status', o.status,
                                                                 'starts_at', o.starts_at, 'send_at', o.send_at,
                                                                 'sent_at', o.sent_at, 'attempts', o.attempts,
                                                                 'last_error', o.last_error)
                                               ORDER BY o.id)
                                 FROM ta.messages() o WHERE o.patient_id = p.id), '[]'),
        'access_log', coalesce((SELECT json_agg(json_build_object('at', l.at, 'user_id', l.user_id,
                                                                  'action', l.action, 'route', l.route)
                                                ORDER BY l.at, l.id)
                                  FROM ta.audit_log l WHERE l.patient_ids @> ARRAY[p.id]), '[]'))
      INTO result
      FROM ta.patients p WHERE p.id = export_patient.id;
    IF result IS NULL THEN
        PERFORM ta.raise('P0002', 'Pacjent nie został znaleziony');
    END IF;
    PERFORM ta.audit(uid, 'export', ARRAY[export_patient.id]);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.export_patient(bigint) IS
    'GET /patients/{id}/export: every stored row about the patient, archived ones too, and who accessed them.';

-- The audit row of a read that the read replica answered (see ta.audit), written on the
-- primary by the proxy before the answer leaves, in this call's transaction (not deferred: the
-- proxy waits for this round trip anyway). Only reads can be served by a replica, so only
-- their actions are taken; the practice and user are the caller's, as for every row.
CREATE FUNCTION api.record_read(audit json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    act text := audit ->> 'action';
    ids bigint[];
BEGIN
    IF json_typeof(audit) IS DISTINCT FROM 'object' OR act IS NULL OR act NOT IN ('read', 'export')
       OR json_typeof(audit -> 'patient_ids') IS DISTINCT FROM 'array' THEN
        PERFORM ta.raise('22023', 'Nieprawidłowy wpis dziennika dostępu');
    END IF;
    SELECT array_agg(ta.to_id(e, 'patient_ids') ORDER BY n) INTO ids
      FROM json_array_elements_text(audit -> 'patient_ids') WITH ORDINALITY AS t(e, n);
    PERFORM ta.audit_write(uid, act, ids);
    RETURN '{}';
END $$;
COMMENT ON FUNCTION api.record_read(json) IS
    'The audit row of a read served by the read replica, written on the primary by the proxy (no route).';

-- Recomputes the practice's chains: ok when every row's hash is that of its fields and its
-- predecessor's hash in its chain; first_bad_id names the first row where it is not
-- (changed, or the row after one removed). head is a digest of every chain's last hash:
-- noted down elsewhere, it also shows a trail that was cut short or rewritten whole.
CREATE FUNCTION api.verify_audit() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    result json;
BEGIN
    PERFORM ta.audit_settle(true);
    SELECT json_build_object('ok', count(*) FILTER (WHERE bad) = 0, 'rows', count(*),
                             'first_bad_id', min(id) FILTER (WHERE bad),
                             'head', encode(sha256(coalesce(string_agg(hash, ''::bytea ORDER BY chain)
                                                            FILTER (WHERE last), ''::bytea)), 'hex'))
      INTO result
      FROM (SELECT l.id, l.chain, l.hash,
                   l.hash IS DISTINCT FROM ta.audit_row_hash(lag(l.hash) OVER w, l) AS bad,
                   lead(l.id) OVER w IS NULL AS last
              FROM ta.audit_log l WHERE l.practice_id = ta.current_practice_id()
            WINDOW w AS (PARTITION BY l.chain ORDER BY l.id)) chain;
    RETURN result;
END $$;
COMMENT ON FUNCTION api.verify_audit() IS
    'GET /audit/verify: {ok, rows, first_bad_id, head}, the practice''s audit chain recomputed.';

REVOKE ALL ON FUNCTION api.verify_audit(), api.list_audit(json), api.export_patient(bigint), api.record_read(json) FROM PUBLIC;
-- Scheduling as a practice lives it: the practice's settings (the late-cancellation
-- window), Polish public holidays, recurring series of appointments, and what the
-- statuses add to the statistics. The status rules themselves are constraints of
-- ta.appointments and its trigger (appointments.sql).

---------------------------------------------------------------------------------------
-- Settings

CREATE FUNCTION ta.settings_json(practice bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('late_cancel_hours', coalesce(s.late_cancel_hours, 24),
                             'timezone', coalesce(s.timezone, 'Europe/Warsaw'))
      FROM (SELECT practice) p LEFT JOIN ta.practice_settings s ON s.practice_id = p.practice
$$;

CREATE FUNCTION api.get_settings() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.caller();
    RETURN ta.settings_json(ta.current_practice_id());
END $$;
COMMENT ON FUNCTION api.get_settings() IS 'GET /settings: {late_cancel_hours, timezone}';

-- Changes what is given; a late cancellation already recorded keeps its mark (it was
-- late by the rule of its day).
CREATE FUNCTION api.update_settings(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    practice bigint;
    hours integer;
    zone text;
BEGIN
    PERFORM ta.caller();
    -- The practice of the verified token: ta.caller() sets the claims (issue 16).
    practice := ta.current_practice_id();
    PERFORM ta.require_object(body);
    hours := ta.query_int(body, 'late_cancel_hours', NULL, 0, 168);
    zone := ta.field_text(body, 'timezone');
    INSERT INTO ta.practice_settings AS s (practice_id, late_cancel_hours, timezone)
    VALUES (practice, coalesce(hours, 24), coalesce(zone, 'Europe/Warsaw'))
    ON CONFLICT (practice_id) DO UPDATE
       SET late_cancel_hours = coalesce(hours, s.late_cancel_hours), timezone = coalesce(zone, s.timezone);
    RETURN ta.settings_json(practice);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_settings(json) IS 'PUT /settings: late_cancel_hours (0..168), timezone (Europe/Warsaw)';

---------------------------------------------------------------------------------------
-- Polish public holidays

-- Easter Sunday of the Gregorian calendar (the anonymous algorithm of Meeus, Jones and Butcher).
CREATE FUNCTION ta.easter_sunday(year integer) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a integer := year % 19;
    b integer := year / 100;
    c integer := year % 100;
    h integer;
    l integer;
    m integer;
BEGIN
    h := (19 * a + b - b / 4 - (b - (b + 8) / 25 + 1) / 3 + 15) % 30;
    l := (32 + 2 * (b % 4) + 2 * (c / 4) - h - c % 4) % 7;
    m := (a + 11 * h + 22 * l) / 451;
    RETURN make_date(year, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
END $$;
COMMENT ON FUNCTION ta.easter_sunday(integer) IS 'Easter Sunday of a year (Gregorian calendar).';

-- The days off of the statutory list (ustawa z dnia 18 stycznia 1951 r. o dniach wolnych od
-- pracy, as amended: Epiphany since 2011, Christmas Eve since 2025); Easter, Pentecost and
-- Corpus Christi follow Easter.
CREATE FUNCTION ta.polish_holidays(year integer) RETURNS TABLE (day date, name text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT d, n FROM (VALUES
        (make_date(year, 1, 1), 'Nowy Rok', true),
        (make_date(year, 1, 6), 'Święto Trzech Króli', year >= 2011),
        (ta.easter_sunday(year), 'Wielkanoc', true),
        (ta.easter_sunday(year) + 1, 'Poniedziałek Wielkanocny', true),
        (make_date(year, 5, 1), 'Święto Pracy', true),
        (make_date(year, 5, 3), 'Święto Konstytucji 3 Maja', true),
        (ta.easter_sunday(year) + 49, 'Zielone Świątki', true),
        (ta.easter_sunday(year) + 60, 'Boże Ciało', true),
        (make_date(year, 8, 15), 'Wniebowzięcie Najświętszej Maryi Panny', true),
        (make_date(year, 11, 1), 'Wszystkich Świętych', true),
        (make_date(year, 11, 11), 'Narodowe Święto Niepodległości', true),
        (make_date(year, 12, 24), 'Wigilia Bożego Narodzenia', year >= 2025),
        (make_date(year, 12, 25), 'Boże Narodzenie (pierwszy dzień)', true),
        (make_date(year, 12, 26), 'Boże Narodzenie (drugi dzień)', true)) h(d, n, observed)
     WHERE observed
     ORDER BY d
$$;
COMMENT ON FUNCTION ta.polish_holidays(integer) IS 'Polish statutory public holidays of a year, with their names.';

-- The name of the holiday on day, or NULL.
CREATE FUNCTION ta.polish_holiday(day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT h.name FROM ta.polish_holidays(extract(year FROM day)::integer) h WHERE h.day = polish_holiday.day
$$;

---------------------------------------------------------------------------------------
-- Recurring series

-- The dates a series books: every interval_weeks from first, until how_many dates are
-- booked or past until; with skip_holidays, holidays are passed over (not counted) and
-- listed in skipped as [{date, name}].
CREATE FUNCTION ta.series_plan(first date, interval_weeks integer, how_many integer, until date,
                               skip_holidays boolean, OUT dates date[], OUT skipped json)
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    day date := first;
    holiday text;
    skipped_days json[] := '{}';
    off date[];    -- the holidays of the years a series can reach (52 dates every 4 weeks: 4 years), once
    off_names text[];
BEGIN
    IF skip_holidays THEN
        SELECT array_agg(h.day ORDER BY h.day), array_agg(h.name ORDER BY h.day) INTO off, off_names
          FROM generate_series(extract(year FROM first)::integer, extract(year FROM first)::integer + 4) y,
               ta.polish_holidays(y) h;
    END IF;
    dates := '{}';
    WHILE (how_many IS NULL OR cardinality(dates) < how_many) AND (until IS NULL OR day <= until) LOOP
        holiday := off_names[array_position(off, day)];
        IF holiday IS NULL THEN
            dates := dates || day;
        ELSE
            skipped_days := skipped_days || json_build_object('date', day, 'name', holiday);
        END IF;
        day := day + 7 * interval_weeks;
    END LOOP;
    skipped := array_to_json(skipped_days);
END $$;

-- The dates among slots (date, start, end) that overlap a live, not cancelled appointment
-- other than those in except_ids: what the exclusion constraint would refuse.
CREATE FUNCTION ta.slot_conflicts(days date[], starts time[], ends time[], except_ids bigint[]) RETURNS date[]
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.day ORDER BY s.day), '{}')
      FROM unnest(days, starts, ends) s(day, start_time, end_time)
     WHERE EXISTS (SELECT FROM ta.appointments a
                    WHERE a.deleted_at IS NULL AND a.status <> 'cancelled' AND a.date = s.day
                      AND a.start_time < s.end_time AND a.end_time > s.start_time
                      AND a.id <> ALL (except_ids))
$$;

-- The 400 answer for colliding dates, given without raising (response.status) so that it
-- can carry the list; the caller has changed nothing.
CREATE FUNCTION ta.conflicts_answer(conflicts date[]) RETURNS json
    LANGUAGE sql AS $$
    SELECT json_build_object('detail', 'Wizyty kolidują z innymi wizytami w dniach: '
                                       || (SELECT string_agg(to_char(d, 'YYYY-MM-DD'), ', ' ORDER BY d) FROM unnest(conflicts) d),
                             'conflicts', to_json(conflicts))
      FROM (SELECT set_config('response.status', '400', true)) answered
$$;

CREATE FUNCTION ta.series_json(s ta.appointment_series) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'patient_id', s.patient_id, 'interval_weeks', s.interval_weeks,
        'skip_holidays', s.skip_holidays, 'created_at', s.created_at,
        'appointments', coalesce((SELECT json_agg(ta.appointment_out(a) ORDER BY a.date, a.start_time, a.id)
                                    FROM ta.appointments a WHERE a.series_id = s.id AND a.deleted_at IS NULL), '[]'))
$$;

-- A series of the caller's practice, locked for a change when lock, or 404.
CREATE FUNCTION ta.require_series(id bigint, lock boolean) RETURNS ta.appointment_series
    LANGUAGE plpgsql AS $$
DECLARE
    s ta.appointment_series;
BEGIN
    IF lock THEN
        SELECT * INTO s FROM ta.appointment_series WHERE appointment_series.id = require_series.id FOR UPDATE;
    ELSE
        SELECT * INTO s FROM ta.appointment_series WHERE appointment_series.id = require_series.id;
    END IF;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Seria wizyt nie została znaleziona');
    END IF;
    RETURN s;
END $$;

-- A date of a series' change must lie within the series (its first to its last live appointment).
CREATE FUNCTION ta.require_series_date(s ta.appointment_series, day date, key text) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    first_day date;
    last_day date;
BEGIN
    SELECT min(a.date), max(a.date) INTO first_day, last_day
      FROM ta.appointments a WHERE a.series_id = s.id AND a.deleted_at IS NULL;
    IF day IS NULL THEN
        PERFORM ta.raise('22023', format('Pole %s jest wymagane', key), key);
    ELSIF first_day IS NULL OR day NOT BETWEEN first_day AND last_day THEN
        PERFORM ta.raise('22023', format('Data %s jest poza serią (seria trwa od %s do %s)', to_char(day, 'YYYY-MM-DD'),
                                         coalesce(to_char(first_day, 'YYYY-MM-DD'), '-'),
                                         coalesce(to_char(last_day, 'YYYY-MM-DD'), '-')), key);
    END IF;
END $$;

-- POST /appointment_series. All or nothing: every date is booked, or (on any collision)
-- none, and the answer lists every colliding date. The rows are inserted even when a
-- collision is known or only a preview is asked ("dry_run": true), and then rolled back,
-- so that the constraints judge the input exactly as they would for the real booking.
-- A booking committed meanwhile by someone else makes the insert fail on the exclusion
-- constraint (it waits for that transaction first); the collisions are then read again.
CREATE FUNCTION api.create_appointment_series(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    uid bigint := ta.caller();
    patient bigint;
    first date;
    how_many integer;
    until date;
    every integer;
    skip boolean;
    dry_run boolean;
    start_t time;
    end_t time;
    session_price numeric;
    plan record;
    conflicts date[];
    s ta.appointment_series;
    result json;
BEGIN
    PERFORM ta.require_object(body);
    patient := ta.field_id(body, 'patient_id');
    PERFORM ta.require_patient(patient);
    first := ta.field_date(body, 'start_date');
    IF first IS NULL THEN
        PERFORM ta.raise('22023', 'Data pierwszej wizyty (start_date) jest wymagana', 'start_date');
    END IF;
    start_t := ta.field_time(body, 'start_time');
    end_t := ta.field_time(body, 'end_time');
    every := ta.query_int(body, 'interval_weeks', 1, 1, 4);
    skip := coalesce(ta.field_bool(body, 'skip_holidays'), false);
    dry_run := coalesce(ta.field_bool(body, 'dry_run'), false);
    how_many := ta.query_int(body, 'count', NULL, 1, 52);
    until := ta.field_date(body, 'until');
    IF (how_many IS NULL) = (until IS NULL) THEN
        PERFORM ta.raise('22023', 'Podaj albo liczbę wizyt (count), albo datę ostatniej wizyty (until)',
                         CASE WHEN how_many IS NULL THEN 'count' ELSE 'until' END);
    ELSIF until < first THEN
        PERFORM ta.raise('22023', 'Data until nie może być wcześniejsza niż start_date', 'until');
    ELSIF until > first + 366 THEN
        PERFORM ta.raise('22023', 'Seria może trwać najwyżej 366 dni od start_date', 'until');
    END IF;
    plan := ta.series_plan(first, every, how_many, until, skip);
    IF cardinality(plan.dates) = 0 THEN
        PERFORM ta.raise('22023', 'W podanym okresie nie ma żadnego terminu poza świętami', 'until');
    END IF;
    conflicts := ta.slot_conflicts(plan.dates, array_fill(start_t, ARRAY[cardinality(plan.dates)]),
                                   array_fill(end_t, ARRAY[cardinality(plan.dates)]), '{}');
    BEGIN
        INSERT INTO ta.appointment_series (practice_id, patient_id, interval_weeks, skip_holidays, created_by)
        VALUES (ta.current_practice_id(), patient, every, skip, uid)
        RETURNING * INTO s;
        -- The price is read once, not once per row, and (as before) only when a row is to be
        -- inserted: when every date collides, a bad price does not hide the collisions.
        IF cardinality(conflicts) < cardinality(plan.dates) THEN
            session_price := ta.field_money(body, 'price');
        END IF;
        INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price, series_id)
        SELECT s.practice_id, patient, d, start_t, end_t, session_price, s.id
          FROM unnest(plan.dates) d WHERE d <> ALL (conflicts) ORDER BY d;
        IF dry_run OR cardinality(conflicts) > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'TA001';  -- undo the trial
        END IF;
        result := ta.series_json(s);
    EXCEPTION
        WHEN SQLSTATE 'TA001' THEN
            NULL;
        WHEN exclusion_violation THEN
            conflicts := ta.slot_conflicts(plan.dates, array_fill(start_t, ARRAY[cardinality(plan.dates)]),
                                           array_fill(end_t, ARRAY[cardinality(plan.dates)]), '{}');
            IF cardinality(conflicts) = 0 THEN
                RAISE;
            END IF;
    END;
    IF dry_run THEN
        RETURN json_build_object('dry_run', true, 'dates', to_json(plan.dates), 'skipped_holidays', plan.skipped,
                                 'conflicts', to_json(conflicts));
    ELSIF cardinality(conflicts) > 0 THEN
        RETURN ta.conflicts_answer(conflicts);
    END IF;
    PERFORM ta.audit(uid, 'create', ARRAY[patient]);
    PERFORM set_config('response.status', '201', true);
    RETURN result;
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_appointment_series(json) IS
    'POST /appointment_series: books every date of a weekly (1-4 weeks) series, or none; dry_run previews.';

CREATE FUNCTION api.get_appointment_series(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    s ta.appointment_series := ta.require_series(id, false);
BEGIN
    PERFORM ta.audit(uid, 'read', ARRAY[s.patient_id]);
    RETURN ta.series_json(s);
END $$;
COMMENT ON FUNCTION api.get_appointment_series(bigint) IS 'GET /appointment_series/{id}: with its appointments.';

-- PATCH: "this and following". Every scheduled appointment of the series on or after
-- from_date gets the times and price given; all or nothing, collisions as for creating.
CREATE FUNCTION api.update_appointment_series(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    uid bigint := ta.caller();
    s ta.appointment_series;
    from_day date;
    start_t time;
    end_t time;
    new_price numeric;
    ids bigint[];
    days date[];
    starts time[];
    ends time[];
    conflicts date[];
BEGIN
    PERFORM ta.require_object(body);
    s := ta.require_series(id, true);
    from_day := ta.field_date(body, 'from_date');
    PERFORM ta.require_series_date(s, from_day, 'from_date');
    start_t := ta.field_time(body, 'start_time');
    end_t := ta.field_time(body, 'end_time');
    new_price := ta.field_money(body, 'price');
    SELECT coalesce(array_agg(a.id ORDER BY a.date), '{}'), array_agg(a.date ORDER BY a.date),
           array_agg(coalesce(start_t, a.start_time) ORDER BY a.date), array_agg(coalesce(end_t, a.end_time) ORDER BY a.date)
      INTO ids, days, starts, ends
      FROM (SELECT * FROM ta.appointments a
             WHERE a.series_id = s.id AND a.deleted_at IS NULL AND a.status = 'scheduled' AND a.date >= from_day
             ORDER BY a.date FOR UPDATE) a;
    conflicts := ta.slot_conflicts(days, starts, ends, ids);
    IF cardinality(conflicts) > 0 THEN
        RETURN ta.conflicts_answer(conflicts);
    END IF;
    BEGIN
        UPDATE ta.appointments a
           SET start_time = coalesce(start_t, a.start_time), end_time = coalesce(end_t, a.end_time),
               price = coalesce(new_price, a.price)
         WHERE a.id = ANY (ids);
    EXCEPTION WHEN exclusion_violation THEN
        conflicts := ta.slot_conflicts(days, starts, ends, ids);
        IF cardinality(conflicts) = 0 THEN
            RAISE;
        END IF;
        RETURN ta.conflicts_answer(conflicts);
    END;
    PERFORM ta.audit(uid, 'update', ARRAY[s.patient_id]);
    RETURN ta.series_json(s);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_appointment_series(bigint, json) IS
    'PATCH /appointment_series/{id}: from_date, start_time, end_time, price of the scheduled ones from that day.';

-- DELETE: the therapist cancels the series from a day (default today, Polish time).
CREATE FUNCTION api.cancel_appointment_series(id bigint, q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    params json := ta.query_params(q);
    uid bigint := ta.caller();
    s ta.appointment_series := ta.require_series(id, true);
    from_day date := ta.query_date(params, 'from');
    n integer;
BEGIN
    IF from_day IS NOT NULL THEN
        PERFORM ta.require_series_date(s, from_day, 'from');
    END IF;
    UPDATE ta.appointments a SET status = 'cancelled', cancel_reason = 'therapist'
     WHERE a.series_id = s.id AND a.deleted_at IS NULL AND a.status = 'scheduled'
       AND a.date >= coalesce(from_day, (now() AT TIME ZONE 'Europe/Warsaw')::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM ta.audit(uid, 'update', ARRAY[s.patient_id]);
    RETURN json_build_object('detail', format('Odwołano wizyty serii: %s', n), 'cancelled', n);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.cancel_appointment_series(bigint, json) IS
    'DELETE /appointment_series/{id}?from: the scheduled ones from that day become cancelled by the therapist.';

---------------------------------------------------------------------------------------
-- Statistics of what became of the appointments

CREATE FUNCTION api.appointment_statistics(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    uid bigint := ta.caller();
BEGIN
    -- Counts over the practice's appointments: audited as a read of no one patient.
    PERFORM ta.audit(uid, 'read', '{}');
    RETURN (SELECT json_build_object(
                'scheduled_count', count(*) FILTER (WHERE a.status = 'scheduled'),
                'completed_count', count(*) FILTER (WHERE a.status = 'completed'),
                'no_show_count', count(*) FILTER (WHERE a.status = 'no_show'),
                'cancelled_late_count', count(*) FILTER (WHERE a.late_cancellation),
                'cancelled_on_time_count',
                    count(*) FILTER (WHERE a.status = 'cancelled' AND a.cancel_reason = 'patient' AND NOT a.late_cancellation),
                'cancelled_by_therapist_count', count(*) FILTER (WHERE a.cancel_reason = 'therapist'),
                'late_cancellation_due', coalesce(sum(a.price) FILTER (WHERE a.late_cancellation), 0),
                'no_show_due', coalesce(sum(a.price) FILTER (WHERE a.status = 'no_show'), 0),
                'unpaid_due', coalesce(sum(a.price) FILTER (WHERE ta.is_due(a) AND a.payment_id IS NULL
                                                             AND a.status <> 'scheduled'), 0))
              FROM ta.appointments a
             WHERE a.deleted_at IS NULL
               AND (date_from IS NULL OR a.date >= date_from)
               AND (date_to IS NULL OR a.date <= date_to));
END $$;
COMMENT ON FUNCTION api.appointment_statistics(json) IS
    'GET /statistics/appointments?date_from&date_to: attended, cancelled (late, on time, by the therapist), missed, due.';
-- The calendar feed: a secret URL per therapist that phone calendars subscribe to, serving
-- the practice's appointments as RFC 5545 iCalendar. What leaves is decided here: times,
-- status and the patient's initials; never a name, contact, note, price or payment.
-- The token is a 256-bit random string; only its SHA-256 is stored, so a copy of the
-- database does not open the feeds. The route is public: failed fetches are counted per
-- client address and refused like failed logins (ta.feed_throttle).

-- Identity, not practice data: found by the token's hash before any practice is known (as
-- ta.users is), so it has no RLS; the application role has no privilege on it.
CREATE TABLE ta.calendar_feeds (
    user_id bigint PRIMARY KEY REFERENCES ta.users,
    practice_id bigint NOT NULL REFERENCES ta.practices,
    token_sha256 bytea NOT NULL CONSTRAINT calendar_feeds_token_sha256_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX calendar_feeds_practice_id_idx ON ta.calendar_feeds (practice_id);
COMMENT ON TABLE ta.calendar_feeds IS 'One calendar feed per user: the SHA-256 of its secret token.';

CREATE TABLE ta.feed_failures (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feed_failures_client_addr_idx ON ta.feed_failures (client_addr, at);
CREATE INDEX feed_failures_at_idx ON ta.feed_failures (at);
COMMENT ON TABLE ta.feed_failures IS 'Fetches of unknown calendar feeds of the last day, per client address.';
ALTER TABLE ta.feed_failures ENABLE ROW LEVEL SECURITY;

-- Waits for the address's turn (as ta.login_throttle does, so parallel guesses count one
-- after another), then raises PT429 when it has 10 failed fetches in the last 15 minutes.
CREATE FUNCTION ta.feed_throttle(addr inet) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    oldest timestamptz;
    wait_s integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('ta.feed_failures addr ' || coalesce(addr::text, ''), 0));
    SELECT f.at INTO oldest FROM ta.feed_failures f
     WHERE f.client_addr IS NOT DISTINCT FROM addr AND f.at > now() - interval '15 minutes'
     ORDER BY f.at DESC LIMIT 1 OFFSET 9;
    IF oldest IS NOT NULL THEN
        wait_s := greatest(1, ceil(extract(epoch FROM oldest + interval '15 minutes' - now())))::integer;
        RAISE EXCEPTION USING ERRCODE = 'PT429', DETAIL = wait_s::text,
            MESSAGE = format('Zbyt wiele prób pobrania nieznanego kalendarza. Spróbuj ponownie za %s min.',
                             ceil(wait_s / 60.0)::integer);
    END IF;
END $$;
COMMENT ON FUNCTION ta.feed_throttle(inet) IS
    'Serialises feed fetches per address; PT429 (DETAIL: seconds to wait) after 10 unknown tokens in 15 minutes.';

-- POST /calendar_feed: a new token replaces the previous one, whose URL stops working.
CREATE FUNCTION api.create_calendar_feed() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    token text := translate(rtrim(encode(gen_random_bytes(32), 'base64'), '='), '+/', '-_');
BEGIN
    INSERT INTO ta.calendar_feeds AS f (user_id, practice_id, token_sha256)
    VALUES (uid, ta.current_practice_id(), sha256(convert_to(token, 'UTF8')))
    ON CONFLICT (user_id) DO UPDATE SET token_sha256 = excluded.token_sha256, created_at = now();
    PERFORM ta.audit(uid, 'create', '{}');
    RETURN json_build_object('url', '/calendar/' || token || '.ics');
END $$;
COMMENT ON FUNCTION api.create_calendar_feed() IS 'POST /calendar_feed: {url}, a new secret feed URL (the old one stops).';

-- DELETE /calendar_feed: the URL stops working.
CREATE FUNCTION api.delete_calendar_feed() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    DELETE FROM ta.calendar_feeds WHERE user_id = uid;
    PERFORM ta.audit(uid, 'delete', '{}');
    RETURN json_build_object('detail', 'Kalendarz został wyłączony');
END $$;
COMMENT ON FUNCTION api.delete_calendar_feed() IS 'DELETE /calendar_feed: turns the feed off.';

-- GET /calendar_feed: whether the feed is on (the URL itself is known only when made).
CREATE FUNCTION api.get_calendar_feed() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN (SELECT json_build_object('enabled', count(*) > 0, 'created_at', max(f.created_at))
              FROM ta.calendar_feeds f WHERE f.user_id = uid);
END $$;
COMMENT ON FUNCTION api.get_calendar_feed() IS 'GET /calendar_feed: {enabled, created_at}';

-- An iCalendar TEXT value: backslash, semicolon, comma and line breaks escaped (RFC 5545 3.3.11).
CREATE FUNCTION ta.ical_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(value, '\', '\\'), ';', '\;'), ',', '\,'), E'\r', ''), E'\n', '\n')
$$;

-- One content line ending in CRLF, folded so that no line exceeds 75 octets (RFC 5545
-- 3.1): a continuation starts with a space; a UTF-8 character is never split.
CREATE FUNCTION ta.ical_line(line text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    result text := '';
    chunk text := '';
    limit_octets integer := 75;
    ch text;
BEGIN
    IF octet_length(line) <= 75 THEN
        RETURN line || E'\r\n';
    END IF;
    FOREACH ch IN ARRAY regexp_split_to_array(line, '') LOOP
        IF octet_length(chunk) + octet_length(ch) > limit_octets THEN
            result := result || chunk || E'\r\n ';
            chunk := '';
            limit_octets := 74;  -- the leading space counts
        END IF;
        chunk := chunk || ch;
    END LOOP;
    RETURN result || chunk || E'\r\n';
END $$;

-- A patient's initials, "A. K.": the first letters of the first and the last word of the
-- name that start with a letter ("?" when none does).
CREATE FUNCTION ta.initials(name text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(upper(left(w, 1)) || '.', ' ' ORDER BY n), '?')
      FROM (SELECT w, n, min(n) OVER () AS first_n, max(n) OVER () AS last_n
              FROM regexp_split_to_table(btrim(name), '[[:space:]]+') WITH ORDINALITY t(w, n)
             WHERE w ~ '^[[:alpha:]]') words
     WHERE n IN (first_n, last_n)
$$;

-- The feed of the caller's practice: appointments from 30 days ago to 366 days ahead. Each
-- patient's SUMMARY line is made once, not once per appointment; the other lines of an event
-- are short by construction (an id, a time), so only SUMMARY is folded.
-- Built for a busy year (~2,000 events, ~450 kB) with as little memory as the text itself:
-- the events are sorted as narrow rows (ids, times, the short SUMMARY line), not as their
-- text, and one string_agg in that order takes the header and the footer too, so the whole
-- text is never copied to be prefixed or suffixed. (The aggregate reads its input in the
-- order of the sorted subquery: one plain aggregate over an Append of three subqueries, and
-- a SQL function runs its statement without parallel workers.) Fresh memory is what the feed
-- costs most: see bench/REPORT.md, "Issue 15".
CREATE FUNCTION ta.calendar_ics(OUT ics text, OUT patient_ids bigint[])
    LANGUAGE sql STABLE AS $$
    WITH now_local AS MATERIALIZED (
        SELECT (now() AT TIME ZONE 'Europe/Warsaw')::date AS today,
               'DTSTAMP:' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS"Z"') || E'\r\n' AS dtstamp),
    shown AS MATERIALIZED (
        SELECT a.id, a.patient_id, a.date, a.start_time, a.end_time, a.status FROM ta.appointments a, now_local n
         WHERE a.deleted_at IS NULL AND a.date BETWEEN n.today - 30 AND n.today + 366),
    people AS MATERIALIZED (
        SELECT p.id, ta.ical_line('SUMMARY:' || ta.ical_text(ta.initials(p.name))) AS summary
          FROM ta.patients p WHERE p.id IN (SELECT s.patient_id FROM shown s))
    SELECT string_agg(e.piece, ''),
           coalesce(array_agg(DISTINCT e.patient_id) FILTER (WHERE e.patient_id IS NOT NULL), '{}')
      FROM (SELECT NULL::bigint AS patient_id,
                   E'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//TherapyAssistance//Kalendarz wizyt//PL\r\n'
                   'CALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\nX-WR-CALNAME:Wizyty\r\nX-WR-TIMEZONE:Europe/Warsaw\r\n'
                   'BEGIN:VTIMEZONE\r\nTZID:Europe/Warsaw\r\n'
                   'BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\n'
                   'DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n'
                   'BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n'
                   'DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n'
                   'END:VTIMEZONE\r\n' AS piece
            UNION ALL
            SELECT ev.patient_id,
                   E'BEGIN:VEVENT\r\nUID:appointment-' || ev.id || E'@therapyassistance\r\n' ||
                   (SELECT n.dtstamp FROM now_local n) ||
                   'DTSTART;TZID=Europe/Warsaw:' || to_char(ev.date + ev.start_time, 'YYYYMMDD"T"HH24MISS') || E'\r\n' ||
                   'DTEND;TZID=Europe/Warsaw:' || to_char(ev.date + ev.end_time, 'YYYYMMDD"T"HH24MISS') || E'\r\n' ||
                   ev.summary ||
                   CASE WHEN ev.status = 'cancelled' THEN E'STATUS:CANCELLED\r\nTRANSP:TRANSPARENT\r\n'
                        ELSE E'STATUS:CONFIRMED\r\n' END ||
                   E'END:VEVENT\r\n'
              FROM (SELECT a.id, a.patient_id, a.date, a.start_time, a.end_time, a.status, pe.summary
                      FROM shown a JOIN people pe ON pe.id = a.patient_id
                     ORDER BY a.date, a.start_time, a.id) ev
            UNION ALL
            SELECT NULL, E'END:VCALENDAR\r\n') e
$$;

-- GET /calendar/{token}.ics (public; token is the path's segment without ".ics"). An unknown, revoked or malformed token answers 404
-- without raising, so that its failure is counted (and committed) as a failed login is;
-- a known one acts as its user for this transaction only, and the fetch is audited.
CREATE FUNCTION api.calendar_feed(token text) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    addr inet := ta.client_addr();
    feed ta.calendar_feeds;
    result record;
BEGIN
    PERFORM ta.feed_throttle(addr);
    IF token ~ '^[A-Za-z0-9_-]{43}$' THEN
        SELECT f.* INTO feed FROM ta.calendar_feeds f JOIN ta.users u ON u.id = f.user_id AND u.deleted_at IS NULL
         WHERE f.token_sha256 = sha256(convert_to(token, 'UTF8'));
    END IF;
    IF feed.user_id IS NULL THEN
        DELETE FROM ta.feed_failures WHERE at < now() - interval '1 day';
        INSERT INTO ta.feed_failures (client_addr) VALUES (addr);
        PERFORM set_config('response.status', '404', true);
        RETURN json_build_object('detail', 'Kalendarz nie został znaleziony')::text;
    END IF;
    PERFORM ta.set_claims(json_build_object('sub', feed.user_id::text, 'pid', feed.practice_id)::text);
    result := ta.calendar_ics();
    -- The feed's user, found by its token above (live: joined with ta.users); there is no bearer token
    -- for ta.caller() to verify here (issue 16).
    PERFORM ta.audit(feed.user_id, 'read', result.patient_ids);
    RETURN result.ics;
END $$;
COMMENT ON FUNCTION api.calendar_feed(text) IS
    'GET /calendar/{token}.ics: the iCalendar feed of the token''s user; 404 (counted, throttled) otherwise.';
-- Password reset by e-mail (issue 17): POST /auth/password-reset answers the same 202 for any
-- address and, for an account, queues an e-mail with a link; /confirm sets the new password
-- once and ends every session of the user (ta.users.token_version, checked by ta.caller).
-- The link's token is never stored: it is HMAC(jwt secret, the row's random nonce), made again
-- when the e-mail is sent; the table keeps only its SHA-256, which is what /confirm looks up.

-- Identity data like ta.users: no practice, no RLS, no privilege for the application role.
CREATE TABLE ta.password_resets (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES ta.users,
    nonce bytea NOT NULL,
    token_hash bytea NOT NULL,
    client_addr inet,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    CONSTRAINT password_resets_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX password_resets_user_idx ON ta.password_resets (user_id, created_at);
COMMENT ON TABLE ta.password_resets IS 'Password-reset links: SHA-256 of the token, 60 minutes, single use.';

-- Every request, known address or not, for the per-address throttle (kept a day).
CREATE TABLE ta.password_reset_requests (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email text NOT NULL,
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_reset_requests_addr_idx ON ta.password_reset_requests (client_addr, at);
CREATE INDEX password_reset_requests_at_idx ON ta.password_reset_requests (at);
COMMENT ON TABLE ta.password_reset_requests IS 'Password-reset requests of the last day, per client address.';
ALTER TABLE ta.password_resets ENABLE ROW LEVEL SECURITY;
ALTER TABLE ta.password_reset_requests ENABLE ROW LEVEL SECURITY;

-- The token of a reset's link (hex), from the secret only the owner can read.
-- (plpgsql: pgcrypto's hmac is found through the calling api function's search_path)
CREATE FUNCTION ta.password_reset_token(nonce bytea) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN encode(hmac(nonce, convert_to((SELECT s.jwt_secret FROM ta.settings s), 'UTF8'), 'sha256'), 'hex');
END $$;

CREATE FUNCTION api.request_password_reset(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    address text;
    addr inet := ta.client_addr();
    u ta.users;
    oldest timestamptz;
    nonce bytea;
    reset_id bigint;
BEGIN
    PERFORM ta.require_object(body);
    address := btrim(ta.field_text(body, 'email'));
    IF address IS NULL OR address = '' THEN
        PERFORM ta.raise('22023', 'Email jest wymagany', 'email');
    ELSIF octet_length(address) > 254 OR NOT ta.is_email(address) THEN
        PERFORM ta.raise('22023', 'Nieprawidłowy adres email', 'email');
    END IF;
    -- per address: 10 requests an hour, whatever the address asked for (so 429 tells nothing)
    IF addr IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('ta.password_reset addr ' || addr::text, 0));
        SELECT min(at) INTO oldest FROM (SELECT r.at FROM ta.password_reset_requests r
                                          WHERE r.client_addr = addr AND r.at > now() - interval '1 hour'
                                          ORDER BY r.at DESC LIMIT 1 OFFSET 9) tenth;
        IF oldest IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'PT429',
                DETAIL = greatest(1, ceil(extract(epoch FROM oldest + interval '1 hour' - now())))::integer::text,
                MESSAGE = 'Zbyt wiele próśb o zmianę hasła. Spróbuj ponownie później.';
        END IF;
    END IF;
    DELETE FROM ta.password_reset_requests WHERE at < now() - interval '1 day';
    INSERT INTO ta.password_reset_requests (email, client_addr) VALUES (lower(address), addr);
    SELECT * INTO u FROM ta.users WHERE lower(users.email) = lower(address) AND deleted_at IS NULL;
    IF u.id IS NOT NULL THEN
        -- per account: 3 links an hour; more requests get the same answer and no e-mail
        PERFORM pg_advisory_xact_lock(hashtextextended('ta.password_reset user ' || u.id, 0));
        IF (SELECT count(*) FROM ta.password_resets r
             WHERE r.user_id = u.id AND r.created_at > now() - interval '1 hour') < 3 THEN
            nonce := gen_random_bytes(32);
            INSERT INTO ta.password_resets (user_id, nonce, token_hash, client_addr, expires_at)
            VALUES (u.id, nonce, digest(ta.password_reset_token(nonce), 'sha256'), addr, now() + interval '60 minutes')
            RETURNING id INTO reset_id;
            PERFORM ta.set_claims(json_build_object('pid', u.practice_id)::text);
            INSERT INTO ta.outbox (practice_id, kind, channel, user_id, password_reset_id, send_at)
            VALUES (u.practice_id, 'password_reset', 'email', u.id, reset_id, now());
        END IF;
    END IF;
    PERFORM set_config('response.status', '202', true);
    RETURN json_build_object('detail', 'Jeśli konto istnieje, wysłaliśmy wiadomość z linkiem do zmiany hasła');
END $$;
COMMENT ON FUNCTION api.request_password_reset(json) IS
    'POST /auth/password-reset: always 202; for an account, an e-mail with a link valid 60 minutes.';

CREATE FUNCTION api.confirm_password_reset(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    token text;
    secret text;
    r ta.password_resets;
    u ta.users;
BEGIN
    PERFORM ta.require_object(body);
    token := ta.field_text(body, 'token');
    secret := ta.field_text(body, 'new_password');
    IF token IS NULL OR token = '' THEN
        PERFORM ta.raise('22023', 'Brak tokenu zmiany hasła', 'token');
    ELSIF secret IS NULL THEN
        PERFORM ta.raise('22023', 'Hasło jest wymagane', 'new_password');
    ELSIF length(secret) < 8 THEN
        PERFORM ta.raise('22023', 'Hasło musi mieć co najmniej 8 znaków', 'new_password');
    ELSIF octet_length(secret) > 72 THEN
        PERFORM ta.raise('22023', 'Hasło może mieć najwyżej 72 bajty', 'new_password');
    END IF;
    IF token ~ '^[0-9a-f]{64}$' THEN
        SELECT * INTO r FROM ta.password_resets p WHERE p.token_hash = digest(token, 'sha256') FOR UPDATE;
    END IF;
    IF r.id IS NULL OR r.used_at IS NOT NULL OR r.expires_at <= now() THEN
        PERFORM ta.raise('P0001', 'Link do zmiany hasła jest nieprawidłowy, wygasł lub został już użyty', 'token');
    END IF;
    UPDATE ta.users SET password_hash = crypt(secret, gen_salt('bf', 10)), token_version = token_version + 1
     WHERE id = r.user_id AND deleted_at IS NULL
    RETURNING * INTO u;
    IF u.id IS NULL THEN
        PERFORM ta.raise('P0001', 'Link do zmiany hasła jest nieprawidłowy, wygasł lub został już użyty', 'token');
    END IF;
    -- this link and every other open one of the user are spent; their unsent e-mails too
    UPDATE ta.password_resets SET used_at = now() WHERE user_id = u.id AND used_at IS NULL;
    PERFORM ta.set_claims(json_build_object('pid', u.practice_id)::text);
    UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
     WHERE kind = 'password_reset' AND user_id = u.id AND status = 'pending';
    DELETE FROM ta.login_failures f WHERE f.email = lower(u.email);
    RETURN json_build_object('detail', 'Hasło zostało zmienione. Zaloguj się nowym hasłem.');
END $$;
COMMENT ON FUNCTION api.confirm_password_reset(json) IS
    'POST /auth/password-reset/confirm: {token, new_password}; the link is spent and every session ends.';
-- Reminders (issue 17): the patient's consent per channel with its history, the practice's
-- settings and Polish templates, and the outbox the notifier (notifier/, C) sends from.
-- A due reminder is written by the same transaction as the appointment change that makes it due
-- (the triggers below): a new appointment's in its own row (no second row per POST /appointments,
-- issue 17's 5 %), which the notifier's claim (or any later change of the appointment) turns into
-- an outbox row with the same id; rescheduling moves it, cancelling or archiving cancels it. UNIQUE (appointment_id, channel, starts_at) makes
-- "one reminder per appointment, channel and start time" a constraint, not the sender's care.

CREATE TYPE ta.reminder_channel AS ENUM ('email', 'sms');
CREATE TYPE ta.reminder_status AS ENUM ('pending', 'sent', 'failed', 'cancelled');
-- What an outbox row is: a reminder of an appointment, a test to the therapist ("Wyślij
-- test"), or the link of a password reset.
CREATE TYPE ta.message_kind AS ENUM ('reminder', 'test', 'password_reset');

-- Templates: {data}, {godzina} and {gabinet} and no other braces.
CREATE FUNCTION ta.template_is_valid(template text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(template, '\{(data|godzina|gabinet)\}', '', 'g') !~ '[{}]'
$$;

-- The text of a template for an appointment starting at starts (shown in time zone tz).
CREATE FUNCTION ta.render_template(template text, starts timestamptz, tz text, practice_name text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT replace(replace(replace(template,
               '{data}', to_char(starts AT TIME ZONE tz, 'DD.MM.YYYY')),
               '{godzina}', to_char(starts AT TIME ZONE tz, 'HH24:MI')),
               '{gabinet}', practice_name)
$$;

-- Every time a consent was given or withdrawn, by whom (the therapist who recorded it).
CREATE TABLE ta.reminder_consents (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    channel ta.reminder_channel NOT NULL,
    given boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    by_user bigint REFERENCES ta.users,
    CONSTRAINT reminder_consents_patient_fkey FOREIGN KEY (patient_id, practice_id)
        REFERENCES ta.patients (id, practice_id)
);
CREATE INDEX reminder_consents_patient_idx ON ta.reminder_consents (practice_id, patient_id, at);
COMMENT ON TABLE ta.reminder_consents IS 'History of patients'' consents to reminders: given or withdrawn, when, by whom.';

-- A practice's choices; a practice without a row has the defaults of ta.reminder_settings_of.
CREATE TABLE ta.reminder_settings (
    practice_id bigint PRIMARY KEY REFERENCES ta.practices,
    email_enabled boolean NOT NULL,
    sms_enabled boolean NOT NULL,
    hours_before integer NOT NULL,
    practice_name text NOT NULL,
    email_subject text NOT NULL,
    email_body text NOT NULL,
    sms_body text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reminder_settings_hours_before CHECK (hours_before BETWEEN 1 AND 72),
    -- a header line: no line breaks (they would inject headers), and short enough to read
    CONSTRAINT reminder_settings_practice_name CHECK (btrim(practice_name) <> '' AND length(practice_name) <= 100
                                                      AND practice_name !~ '[\r\n]'),
    CONSTRAINT reminder_settings_email_subject CHECK (btrim(email_subject) <> '' AND length(email_subject) <= 200
                                                      AND email_subject !~ '[\r\n]'
                                                      AND ta.template_is_valid(email_subject)),
    CONSTRAINT reminder_settings_email_body CHECK (btrim(email_body) <> '' AND length(email_body) <= 5000
                                                   AND ta.template_is_valid(email_body)),
    CONSTRAINT reminder_settings_sms_body CHECK (btrim(sms_body) <> '' AND ta.template_is_valid(sms_body)),
    -- one SMS: 160 characters once the placeholders are filled in (sent with SMSAPI's normalize,
    -- so Polish letters do not turn it into 70-character UCS-2 parts)
    CONSTRAINT reminder_settings_sms_length CHECK (
        length(ta.render_template(sms_body, '2026-12-31 23:59+00', 'UTC', practice_name)) <= 160)
);
COMMENT ON TABLE ta.reminder_settings IS 'Per practice: channels, hours before, the practice''s name and the Polish templates.';

-- The outbox: every message the notifier is to send, with what became of it.
CREATE TABLE ta.outbox (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    kind ta.message_kind NOT NULL DEFAULT 'reminder',
    channel ta.reminder_channel NOT NULL,
    appointment_id bigint,
    patient_id bigint,
    user_id bigint,
    password_reset_id bigint REFERENCES ta.password_resets,
    -- the start of the appointment this reminder is about: a new start is a new reminder
    starts_at timestamptz,
    -- when it is due (the next attempt after a failure)
    send_at timestamptz NOT NULL,
    status ta.reminder_status NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    sent_at timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_once_per_start UNIQUE (appointment_id, channel, starts_at),
    CONSTRAINT outbox_before_start CHECK (status <> 'pending' OR starts_at IS NULL OR send_at < starts_at),
    CONSTRAINT outbox_reminder_shape CHECK ((kind = 'reminder') = (appointment_id IS NOT NULL AND patient_id IS NOT NULL
                                                                  AND starts_at IS NOT NULL)),
    CONSTRAINT outbox_user_shape CHECK (kind = 'reminder' OR user_id IS NOT NULL),
    CONSTRAINT outbox_reset_shape CHECK ((kind = 'password_reset') = (password_reset_id IS NOT NULL)),
    -- The row's practice is its patient's (a reminder) or its user's (a test, a reset link); each
    -- row has one of them (the shape CHECKs), so the practice exists. A reminder's check finds the
    -- patient row already locked by its appointment's own foreign key, where one to ta.practices
    -- locked the practice's row FOR KEY SHARE again, for every reminder of every therapist.
    CONSTRAINT outbox_patient_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    CONSTRAINT outbox_user_fkey FOREIGN KEY (user_id, practice_id) REFERENCES ta.users (id, practice_id),
    -- and its appointment's: with the appointment's id alone, a row could name a practice whose
    -- patient it names and another practice's appointment (an appointment's patient can change,
    -- so the patient is not part of this key: a sent reminder keeps the patient it went to).
    -- Checked at commit: the checks of the keys above come first, in a fresh and an upgraded
    -- database alike (immediate checks fire in the order the keys were made, which differs).
    CONSTRAINT outbox_appointment_id_fkey FOREIGN KEY (appointment_id, practice_id)
        REFERENCES ta.appointments (id, practice_id) DEFERRABLE INITIALLY DEFERRED
);
-- What the notifier claims: pending rows in claim's order (send_at, id), so the next one is the
-- index's first entry however many rows the outbox holds (not a sort of every pending row).
CREATE INDEX outbox_due_idx ON ta.outbox (send_at, id) WHERE status = 'pending';
CREATE INDEX outbox_practice_idx ON ta.outbox (practice_id, id);
COMMENT ON TABLE ta.outbox IS 'Messages to send (reminders, tests, password-reset links) and their outcome.';

-- The roles the notifier logs in as (ta.grant_notifier): they see every practice's outbox rows.
CREATE TABLE ta.senders (
    role_name name PRIMARY KEY,
    email_available boolean NOT NULL DEFAULT false,
    sms_available boolean NOT NULL DEFAULT false,
    seen_at timestamptz
);
ALTER TABLE ta.senders ENABLE ROW LEVEL SECURITY;
COMMENT ON TABLE ta.senders IS 'Notifier login roles and what the running notifier last said it can send (notifier.hello).';

CREATE FUNCTION ta.is_sender() RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT FROM ta.senders s WHERE s.role_name = session_user) $$;
COMMENT ON FUNCTION ta.is_sender() IS 'Whether this session logged in as a notifier role.';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['reminder_consents', 'reminder_settings', 'outbox'] LOOP
        EXECUTE format('ALTER TABLE ta.%I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE ta.%I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY %I ON ta.%I FOR INSERT WITH CHECK (practice_id = (SELECT ta.current_practice_id()))',
                       t || '_insert', t);
    END LOOP;
END $$;
CREATE POLICY reminder_consents_select ON ta.reminder_consents FOR SELECT
    USING (practice_id = (SELECT ta.current_practice_id()));
CREATE POLICY reminder_settings_select ON ta.reminder_settings FOR SELECT
    USING (practice_id = (SELECT ta.current_practice_id()));
CREATE POLICY reminder_settings_update ON ta.reminder_settings FOR UPDATE
    USING (practice_id = (SELECT ta.current_practice_id()))
    WITH CHECK (practice_id = (SELECT ta.current_practice_id()));
-- The notifier claims due rows of every practice (it then acts as the row's practice).
CREATE POLICY outbox_select ON ta.outbox FOR SELECT
    USING (practice_id = (SELECT ta.current_practice_id()) OR (SELECT ta.is_sender()));
CREATE POLICY outbox_update ON ta.outbox FOR UPDATE
    USING (practice_id = (SELECT ta.current_practice_id()) OR (SELECT ta.is_sender()))
    WITH CHECK (practice_id = (SELECT ta.current_practice_id()) OR (SELECT ta.is_sender()));

-- The practice's time zone for appointment times (GET/PUT /settings), Europe/Warsaw by default.
CREATE FUNCTION ta.practice_timezone(practice_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.timezone FROM ta.practice_settings s WHERE s.practice_id = practice_timezone.practice_id),
                    'Europe/Warsaw')
$$;

-- The practice's settings, stored or default (the defaults are stated here only).
CREATE FUNCTION ta.reminder_settings_of(pid bigint) RETURNS ta.reminder_settings
    LANGUAGE sql STABLE AS $$
    SELECT pid, coalesce(s.email_enabled, false), coalesce(s.sms_enabled, false), coalesce(s.hours_before, 24),
           coalesce(s.practice_name, left(pr.name, 100)),
           coalesce(s.email_subject, 'Przypomnienie o wizycie {data} o {godzina}'),
           coalesce(s.email_body, E'Dzień dobry,\n\nprzypominamy o wizycie w dniu {data} o godzinie {godzina}.\n'
                                  || E'Jeśli nie możesz przyjść, daj nam znać.\n\n{gabinet}'),
           coalesce(s.sms_body, 'Przypomnienie: wizyta {data} o godz. {godzina}. {gabinet}'),
           coalesce(s.updated_at, pr.created_at)
      FROM ta.practices pr LEFT JOIN ta.reminder_settings s ON s.practice_id = pr.id
     WHERE pr.id = pid
$$;

-- Whether an appointment may be reminded of at all: not archived and still scheduled (a
-- cancelled, completed or missed one is not). The one place that says so.
CREATE FUNCTION ta.appointment_is_live(a ta.appointments) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a.deleted_at IS NULL AND a.status = 'scheduled' $$;

-- What of an appointment its reminders depend on; the trigger syncs only when this changes.
CREATE FUNCTION ta.appointment_reminder_key(a ta.appointments) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws('|', a.patient_id, a.date, a.start_time, ta.appointment_is_live(a))
$$;

-- What an appointment's reminders should be now: its start, when
-- they are due (hours_before the start, or now if that has passed) and which channels are wanted.
-- No row when none can be: the appointment is not live, the patient is archived, the start has
-- passed or the practice has no settings. A consent needs its address (the CHECKs
-- patients_reminder_email_needs_email and patients_reminder_sms_needs_phone), so the flags alone
-- say it. Plain SQL returning SETOF, so the planner inlines it into the calling query: no
-- function call, and no SQL-function body parsed and planned on every call (ta.practice_timezone
-- and ta.sms_number in a plpgsql expression were, each transaction).
-- The start is ta.appointment_start's (appointments are Polish wall-clock time, and
-- practice_settings_timezone_check allows no other zone), so no settings row is read for it.
-- When a reminder of that start is due: hours before it, or now if that has passed.
CREATE FUNCTION ta.reminder_due(starts timestamptz, hours integer) RETURNS timestamptz
    LANGUAGE sql STABLE AS $$ SELECT greatest(starts - make_interval(hours => hours), now()) $$;

CREATE FUNCTION ta.reminder_plan(a ta.appointments)
    RETURNS TABLE (starts_at timestamptz, send_at timestamptz, email boolean, sms boolean)
    LANGUAGE sql STABLE AS $$
    SELECT ta.appointment_start(a), ta.reminder_due(ta.appointment_start(a), s.hours_before),
           s.email_enabled AND p.reminder_email, s.sms_enabled AND p.reminder_sms
      FROM ta.reminder_settings s
      JOIN ta.patients p ON p.id = a.patient_id AND p.deleted_at IS NULL
     WHERE s.practice_id = a.practice_id AND ta.appointment_is_live(a) AND ta.appointment_start(a) > now()
$$;
COMMENT ON FUNCTION ta.reminder_plan(ta.appointments) IS
    'The start, due time and wanted channels of an appointment''s reminders; no row when none is wanted.';

-- Every message: the outbox's rows and the reminders still waiting on their appointments (pending,
-- never attempted), as outbox rows. GET /reminders, the patient's export and the tests read it. Plain
-- SQL, so the planner inlines it into the calling query: the caller's row-level security and filters.
CREATE FUNCTION ta.messages() RETURNS SETOF ta.outbox
    LANGUAGE sql STABLE AS $$
    SELECT * FROM ta.outbox
    UNION ALL
    SELECT c.id, a.practice_id, 'reminder', c.channel, a.id, a.patient_id, NULL, NULL, a.reminder_starts_at,
           a.reminder_send_at, 'pending', 0, NULL, NULL, a.created_at, a.created_at
      FROM ta.appointments a
     CROSS JOIN LATERAL (VALUES ('email'::ta.reminder_channel, a.email_reminder_id), ('sms', a.sms_reminder_id)) c (channel, id)
     WHERE a.reminder_send_at IS NOT NULL AND c.id IS NOT NULL
$$;
COMMENT ON FUNCTION ta.messages() IS 'The outbox and the reminders waiting on their appointments: every message and its status.';

-- The reminders waiting on an appointment's row as pending outbox rows with the same ids, due
-- times and start (the caller clears them from the row). A row of the same appointment, channel
-- and start already there (outbox_once_per_start) stays, and the waiting one is dropped.
CREATE FUNCTION ta.promote_reminders(a ta.appointments) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO ta.outbox (id, practice_id, kind, channel, appointment_id, patient_id, starts_at, send_at)
    SELECT c.id, a.practice_id, 'reminder', c.channel, a.id, a.patient_id, a.reminder_starts_at, a.reminder_send_at
      FROM (VALUES ('email'::ta.reminder_channel, a.email_reminder_id), ('sms', a.sms_reminder_id)) c (channel, id)
     WHERE c.id IS NOT NULL AND a.reminder_send_at IS NOT NULL
    ON CONFLICT DO NOTHING
$$;

-- ta.promote_reminders and the row cleared, in one step (not for the row of a running trigger).
CREATE FUNCTION ta.take_reminders(a ta.appointments) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ta.promote_reminders(a);
    UPDATE ta.appointments SET reminder_starts_at = NULL, reminder_send_at = NULL, email_reminder_id = NULL,
                               sms_reminder_id = NULL
     WHERE id = a.id;
END $$;

-- Makes the outbox agree with one appointment that changed: for each channel, a pending
-- reminder at hours_before its start when it is wanted (ta.reminder_plan), none otherwise. A
-- pending row is moved to the new start; a reminder already sent or failed for a start stays,
-- and a new start gets its own row. Reminders waiting on the appointment's row become outbox rows
-- first. (A new appointment's reminders: ta.appointments_plan_reminders.)
CREATE FUNCTION ta.sync_reminders(a ta.appointments) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    plan record;
    ch ta.reminder_channel;
    existing ta.outbox;
BEGIN
    IF a.reminder_send_at IS NOT NULL THEN
        PERFORM ta.take_reminders(a);
    END IF;
    SELECT * INTO plan FROM ta.reminder_plan(a);
    FOREACH ch IN ARRAY enum_range(NULL::ta.reminder_channel) LOOP
        IF NOT coalesce(CASE ch WHEN 'email' THEN plan.email WHEN 'sms' THEN plan.sms END, false) THEN
            UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
             WHERE appointment_id = a.id AND channel = ch AND status = 'pending';
            CONTINUE;
        END IF;
        -- the row of this very start (a cancelled one comes back), else a pending one to move
        SELECT * INTO existing FROM ta.outbox
         WHERE appointment_id = a.id AND channel = ch AND starts_at = plan.starts_at;
        IF existing.id IS NOT NULL THEN
            UPDATE ta.outbox SET status = 'pending', send_at = plan.send_at, patient_id = a.patient_id,
                                 attempts = CASE WHEN status = 'cancelled' THEN 0 ELSE attempts END,
                                 last_error = CASE WHEN status = 'cancelled' THEN NULL ELSE last_error END,
                                 updated_at = now()
             WHERE id = existing.id AND status IN ('pending', 'cancelled')
               AND (status <> 'pending' OR send_at <> plan.send_at OR patient_id <> a.patient_id);
        ELSE
            UPDATE ta.outbox SET starts_at = plan.starts_at, send_at = plan.send_at, patient_id = a.patient_id,
                                 attempts = 0, last_error = NULL, updated_at = now()
             WHERE id = (SELECT o.id FROM ta.outbox o
                          WHERE o.appointment_id = a.id AND o.channel = ch AND o.status = 'pending'
                          ORDER BY o.id LIMIT 1)
            RETURNING * INTO existing;
        END IF;
        -- any other pending row of this appointment and channel is for a start that is gone
        UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
         WHERE appointment_id = a.id AND channel = ch AND status = 'pending' AND starts_at <> plan.starts_at;
        IF existing.id IS NULL THEN
            INSERT INTO ta.outbox (practice_id, kind, channel, appointment_id, patient_id, starts_at, send_at)
            VALUES (a.practice_id, 'reminder', ch, a.id, a.patient_id, plan.starts_at, plan.send_at)
            ON CONFLICT ON CONSTRAINT outbox_once_per_start DO NOTHING;
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION ta.sync_reminders(ta.appointments) IS
    'Writes, moves or cancels the reminders of a changed appointment in the outbox, in the caller''s transaction.';

-- A new appointment's reminders wait on its own row (reminder_starts_at, reminder_send_at and an
-- outbox id per wanted channel), written by the INSERT itself: no second row, key or CHECK per
-- appointment. ta.appointments_plan_reminders (sql/native.sql: C in the extension,
-- extension/reminder_plan.c; its PL/pgSQL twin in sql/fallback/native.sql) applies
-- ta.reminder_plan's rule.
CREATE TRIGGER appointments_reminders_insert BEFORE INSERT ON ta.appointments
    FOR EACH ROW EXECUTE FUNCTION ta.appointments_plan_reminders();

-- A change of what an appointment's reminders depend on: those waiting on its row become outbox
-- rows first (ta.promote_reminders, as they were), then ta.sync_reminders moves, cancels or
-- writes them. BEFORE, so that the same UPDATE clears them from the row.
CREATE FUNCTION ta.appointments_sync_reminders() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.reminder_send_at IS NOT NULL THEN
        PERFORM ta.promote_reminders(OLD);
        NEW.reminder_starts_at := NULL;
        NEW.reminder_send_at := NULL;
        NEW.email_reminder_id := NULL;
        NEW.sms_reminder_id := NULL;
    END IF;
    PERFORM ta.sync_reminders(NEW);
    RETURN NEW;
END $$;
CREATE TRIGGER appointments_reminders_update BEFORE UPDATE ON ta.appointments
    FOR EACH ROW WHEN (ta.appointment_reminder_key(OLD) IS DISTINCT FROM ta.appointment_reminder_key(NEW))
    EXECUTE FUNCTION ta.appointments_sync_reminders();

-- Consent: the moment it changed goes on the row (shown on the form) and into the history.
CREATE FUNCTION ta.patients_consent_stamp() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reminder_email IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.reminder_email ELSE false END) THEN
        NEW.reminder_email_changed_at := now();
    END IF;
    IF NEW.reminder_sms IS DISTINCT FROM (CASE WHEN TG_OP = 'UPDATE' THEN OLD.reminder_sms ELSE false END) THEN
        NEW.reminder_sms_changed_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER patients_consent_stamp BEFORE INSERT OR UPDATE OF reminder_email, reminder_sms ON ta.patients
    FOR EACH ROW EXECUTE FUNCTION ta.patients_consent_stamp();

CREATE FUNCTION ta.patients_consent_history() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    by_user bigint := (nullif(current_setting('request.jwt.claims', true), '')::json ->> 'sub')::bigint;
BEGIN
    INSERT INTO ta.reminder_consents (practice_id, patient_id, channel, given, by_user)
    SELECT NEW.practice_id, NEW.id, c.channel, c.given, by_user
      FROM (VALUES ('email'::ta.reminder_channel, NEW.reminder_email,
                    CASE WHEN TG_OP = 'UPDATE' THEN OLD.reminder_email ELSE false END),
                   ('sms', NEW.reminder_sms, CASE WHEN TG_OP = 'UPDATE' THEN OLD.reminder_sms ELSE false END))
           AS c(channel, given, was)
     WHERE c.given IS DISTINCT FROM c.was;
    IF TG_OP = 'UPDATE' THEN
        PERFORM ta.sync_reminders(a) FROM ta.appointments a
         WHERE a.patient_id = NEW.id AND a.deleted_at IS NULL AND a.date >= current_date - 1 FOR UPDATE;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER patients_consent_history AFTER INSERT OR UPDATE ON ta.patients
    FOR EACH ROW WHEN (NEW.reminder_email OR NEW.reminder_sms OR NEW.reminder_email_changed_at IS NOT NULL
                       OR NEW.reminder_sms_changed_at IS NOT NULL)
    EXECUTE FUNCTION ta.patients_consent_history();

-- Wakes the notifier (LISTEN ta_outbox) when a row becomes due within its longest sleep (60 s);
-- rows due later are found by its timer, so most writes notify nobody.
CREATE FUNCTION ta.outbox_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('ta_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF send_at, status ON ta.outbox
    FOR EACH ROW WHEN (NEW.status = 'pending' AND NEW.send_at <= now() + interval '60 seconds')
    EXECUTE FUNCTION ta.outbox_notify();

-- GET/PUT /settings/reminders

-- Whether a notifier that can send on the channel said so within the last two of its 60-second ticks.
CREATE FUNCTION ta.channel_available(channel ta.reminder_channel) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM ta.senders s
                    WHERE s.seen_at > now() - interval '150 seconds'
                      AND CASE channel WHEN 'email' THEN s.email_available ELSE s.sms_available END)
$$;

CREATE FUNCTION ta.reminder_settings_out(s ta.reminder_settings) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('email_enabled', s.email_enabled, 'sms_enabled', s.sms_enabled,
                             'hours_before', s.hours_before, 'practice_name', s.practice_name,
                             'email_subject', s.email_subject, 'email_body', s.email_body, 'sms_body', s.sms_body,
                             'email_available', ta.channel_available('email'),
                             'sms_available', ta.channel_available('sms'),
                             'sms_max_length', 160, 'placeholders', json_build_array('{data}', '{godzina}', '{gabinet}'))
$$;

CREATE FUNCTION api.get_reminder_settings() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN ta.reminder_settings_out(ta.reminder_settings_of(ta.current_practice_id()));
END $$;
COMMENT ON FUNCTION api.get_reminder_settings() IS 'GET /settings/reminders';

-- A template member of the body: text, and only the placeholders there are (named in the message).
CREATE FUNCTION ta.field_template(body json, key text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    t text := ta.field_text(body, key);
    unknown text;
BEGIN
    IF t IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT m[1] INTO unknown FROM regexp_matches(t, '(\{[^{}]*\}?|\})', 'g') m
     WHERE m[1] NOT IN ('{data}', '{godzina}', '{gabinet}') LIMIT 1;
    IF unknown IS NOT NULL THEN
        PERFORM ta.raise('22023', format('Nieznany znacznik %s w polu %s: dozwolone są tylko {data}, {godzina} i {gabinet}',
                                         left(unknown, 40), key), key);
    END IF;
    RETURN t;
END $$;

CREATE FUNCTION api.update_reminder_settings(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    uid bigint := ta.caller();
    pid bigint := ta.current_practice_id();
    cur ta.reminder_settings := ta.reminder_settings_of(pid);
    hours text;
BEGIN
    PERFORM ta.require_object(body);
    hours := ta.field_scalar(body, 'hours_before');
    IF hours IS NOT NULL AND (hours !~ '^[0-9]{1,9}$' OR hours::integer NOT BETWEEN 1 AND 72) THEN
        PERFORM ta.raise('22023', 'Przypomnienie można wysłać od 1 do 72 godzin przed wizytą', 'hours_before');
    END IF;
    INSERT INTO ta.reminder_settings AS s (practice_id, email_enabled, sms_enabled, hours_before, practice_name,
                                           email_subject, email_body, sms_body)
    VALUES (pid, coalesce(ta.field_bool(body, 'email_enabled'), cur.email_enabled),
            coalesce(ta.field_bool(body, 'sms_enabled'), cur.sms_enabled),
            coalesce(hours::integer, cur.hours_before),
            coalesce(btrim(ta.field_text(body, 'practice_name')), cur.practice_name),
            coalesce(ta.field_template(body, 'email_subject'), cur.email_subject),
            coalesce(ta.field_template(body, 'email_body'), cur.email_body),
            coalesce(ta.field_template(body, 'sms_body'), cur.sms_body))
    ON CONFLICT (practice_id) DO UPDATE SET
        email_enabled = excluded.email_enabled, sms_enabled = excluded.sms_enabled,
        hours_before = excluded.hours_before, practice_name = excluded.practice_name,
        email_subject = excluded.email_subject, email_body = excluded.email_body, sms_body = excluded.sms_body,
        updated_at = now()
    RETURNING * INTO cur;
    -- channels or hours changed: every future appointment's reminders follow
    PERFORM ta.sync_reminders(a) FROM ta.appointments a
     WHERE a.deleted_at IS NULL AND a.date >= current_date - 1 FOR UPDATE;
    RETURN ta.reminder_settings_out(cur);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_reminder_settings(json) IS 'PUT /settings/reminders: any subset of the fields.';

-- POST /settings/reminders/test: the e-mail template, for an appointment tomorrow at 10:00, to
-- the caller's own address. At most 5 an hour per practice.
CREATE FUNCTION api.send_test_reminder(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    pid bigint := ta.current_practice_id();
    id bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('ta.outbox test ' || pid, 0));
    IF (SELECT count(*) FROM ta.outbox o WHERE o.kind = 'test' AND o.created_at > now() - interval '1 hour') >= 5 THEN
        RAISE EXCEPTION USING ERRCODE = 'PT429', DETAIL = '3600',
            MESSAGE = 'Wysłano już 5 wiadomości testowych w ciągu godziny. Spróbuj ponownie później.';
    END IF;
    INSERT INTO ta.outbox (practice_id, kind, channel, user_id, send_at)
    VALUES (pid, 'test', 'email', uid, now())
    RETURNING outbox.id INTO id;
    PERFORM set_config('response.status', '202', true);
    RETURN json_build_object('detail', 'Wiadomość testowa czeka na wysłanie na Twój adres e-mail', 'id', id,
                             'email_available', ta.channel_available('email'));
END $$;
COMMENT ON FUNCTION api.send_test_reminder(json) IS 'POST /settings/reminders/test: a test e-mail to the caller.';

CREATE FUNCTION api.list_reminders(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    wanted text := ta.field_scalar(params, 'status');
    uid bigint := ta.caller();
    pid bigint := ta.current_practice_id();
    result json;
    ids bigint[];
BEGIN
    IF wanted IS NOT NULL AND NOT wanted = ANY (enum_range(NULL::ta.reminder_status)::text[]) THEN
        PERFORM ta.raise('22023', format('Nieprawidłowy status: dozwolone są %s',
                                         array_to_string(enum_range(NULL::ta.reminder_status)::text[], ', ')), 'status');
    END IF;
    SELECT coalesce(json_agg(json_build_object('id', o.id, 'kind', o.kind, 'appointment_id', o.appointment_id,
                                               'patient_id', o.patient_id, 'channel', o.channel, 'status', o.status,
                                               'starts_at', o.starts_at, 'send_at', o.send_at, 'sent_at', o.sent_at,
                                               'attempts', o.attempts, 'last_error', o.last_error)
                             ORDER BY o.send_at DESC, o.id DESC), '[]'),
           array_agg(DISTINCT o.patient_id) FILTER (WHERE o.patient_id IS NOT NULL)
      INTO result, ids
      FROM (SELECT * FROM ta.messages() o
             WHERE o.practice_id = pid AND o.kind <> 'password_reset'
               AND (wanted IS NULL OR o.status = wanted::ta.reminder_status)
             ORDER BY o.send_at DESC, o.id DESC OFFSET skip LIMIT lim) o;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_reminders(json) IS 'GET /reminders?status&skip&limit: the practice''s outbox, latest first.';
-- The notifier's functions (schema notifier): what the sender in notifier/ (C) may call, and
-- all it may call. The rules are here: which row is due, what a message says, when to retry.
-- The sender's loop, per message, in ONE transaction:
--   BEGIN; SELECT * FROM notifier.claim(app_url);   -- locks one due row (FOR UPDATE SKIP LOCKED)
--   ... hands the message to the SMTP server or the SMS gateway ...
--   SELECT notifier.record_sent(id) (or record_failure); COMMIT;
-- The row stays locked while it is sent, so several senders never take the same one; a sender
-- that dies leaves it pending (its lock goes with its connection), so it is sent again: the
-- only duplicate possible is a message handed over but not yet recorded, one per sender.

-- A message's texts, as the claimed row makes them.
CREATE TYPE notifier.message AS (id bigint, kind text, channel text, recipient text, subject text, body text,
                                 message_key text);

-- Lets role log in as the notifier: the notifier schema, and every practice's outbox rows
-- through it (ta.is_sender). Refuses a role that may create objects, as ta.grant_api does.
CREATE FUNCTION ta.grant_notifier(role_name name) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    writable name := (SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege(role_name, n.oid, 'CREATE')
                         AND n.nspname !~ '^pg_(toast_)?temp_' LIMIT 1);
BEGIN
    IF writable IS NOT NULL THEN
        RAISE EXCEPTION 'role % may create objects in schema %; the notifier role must not', role_name, writable
            USING HINT = format('REVOKE CREATE ON SCHEMA %I FROM %I (and from PUBLIC)', writable, role_name);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA notifier TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA notifier TO %I', role_name);
    INSERT INTO ta.senders (role_name) VALUES (grant_notifier.role_name) ON CONFLICT DO NOTHING;
END $$;
COMMENT ON FUNCTION ta.grant_notifier(name) IS 'Lets role_name run the notifier (call the notifier functions), and nothing else.';

CREATE FUNCTION ta.require_sender() RETURNS void
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT ta.is_sender() THEN
        PERFORM ta.raise('42501', 'only a notifier role (ta.grant_notifier) may send');
    END IF;
END $$;

-- The sender says what it can send (SMTP_URL, SMSAPI_TOKEN set), on start and every tick;
-- GET /settings/reminders reports it as email_available and sms_available.
CREATE FUNCTION notifier.hello(email boolean, sms boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    UPDATE ta.senders SET email_available = email, sms_available = sms, seen_at = now()
     WHERE role_name = session_user;
END $$;

-- The reminders waiting on appointments' rows (ta.appointments_plan_reminders) are behind the
-- appointments' row-level security, which a sender arm (OR ta.is_sender()) would make unusable as
-- an index condition for every api query: so the sender looks practice by practice, acting as each
-- (one probe of appointments_reminder_due_idx per practice, and only when the outbox has nothing due).
-- Whether a waiting reminder has a channel of the sender's:
CREATE FUNCTION ta.waits_for(a ta.appointments, channels text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (a.email_reminder_id IS NOT NULL AND 'email' = ANY (channels))
        OR (a.sms_reminder_id IS NOT NULL AND 'sms' = ANY (channels))
$$;

-- When the next reminder waiting on an appointment for one of these channels is due; NULL: none.
CREATE FUNCTION ta.next_waiting_reminder(channels text[]) RETURNS timestamptz
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    due timestamptz;
    earliest timestamptz;
BEGIN
    FOR pid IN SELECT id FROM ta.practices LOOP
        PERFORM ta.set_claims(json_build_object('pid', pid)::text);
        SELECT a.reminder_send_at INTO due FROM ta.appointments a
         WHERE a.practice_id = pid AND a.reminder_send_at IS NOT NULL AND ta.waits_for(a, channels)
         ORDER BY a.reminder_send_at LIMIT 1;
        earliest := least(earliest, due);
    END LOOP;
    RETURN earliest;
END $$;

-- Turns the due reminders waiting on appointments (at most per_practice of each practice, for the
-- sender's channels) into pending outbox rows, in the caller's transaction; the rows stay locked
-- (SKIP LOCKED: another sender takes others). Returns how many appointments it took them from.
CREATE FUNCTION ta.take_due_reminders(channels text[], per_practice integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    a ta.appointments;
    n integer := 0;
BEGIN
    FOR pid IN SELECT id FROM ta.practices LOOP
        PERFORM ta.set_claims(json_build_object('pid', pid)::text);
        FOR a IN SELECT * FROM ta.appointments
                  WHERE practice_id = pid AND reminder_send_at <= now() AND ta.waits_for(appointments, channels)
                  ORDER BY reminder_send_at, id LIMIT per_practice FOR UPDATE SKIP LOCKED LOOP
            PERFORM ta.take_reminders(a);
            n := n + 1;
        END LOOP;
    END LOOP;
    RETURN n;
END $$;

-- Seconds until the next pending row of the sender's channels is due: 0 when one is, 60 (the
-- sender's longest sleep) when none is pending. A row of a channel the sender cannot send is not
-- its business (it waits for a sender that can): counting it kept a sender without SMSAPI_TOKEN
-- awake, and an empty outbox (min() of no rows is NULL, and greatest(0, NULL) is 0) made every
-- idle sender ask again at once, forever.
CREATE FUNCTION notifier.next_due(channels text[]) RETURNS double precision
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    RETURN least(60, greatest(0, coalesce(extract(epoch FROM
               least((SELECT min(o.send_at) FROM ta.outbox o
                       WHERE o.status = 'pending' AND o.channel::text = ANY (channels)),
                     ta.next_waiting_reminder(channels)) - now()), 60)));
END $$;
COMMENT ON FUNCTION notifier.next_due(text[]) IS
    'Seconds until the next pending row of the given channels is due: 0 when one is, at most 60.';

-- The next due message, its row locked until the caller's transaction ends; no row when none is
-- due. A reminder whose appointment started or is no longer wanted is settled here instead
-- (failed or cancelled, committed with the caller's transaction) and the next row is taken.
-- channels: the channels this sender can send ('email', 'sms'); rows of others wait.
-- enable_sort off: the next row must come from walking outbox_due_idx in order, whatever the
-- statistics say. Right after 10,000 rows were written at once (before autovacuum analysed
-- them) the planner believed in a dozen pending rows and chose to collect and sort them all:
-- 43 ms per claim and growing with the outbox, instead of well under 1 ms.
CREATE FUNCTION notifier.claim(app_url text, channels text[]) RETURNS SETOF notifier.message
    LANGUAGE plpgsql SECURITY DEFINER SET enable_sort = off AS $$
DECLARE
    o ta.outbox;
    a ta.appointments;
    p ta.patients;
    u ta.users;
    r ta.password_resets;
    s ta.reminder_settings;
    tz text;
    m notifier.message;
    sample timestamptz;
BEGIN
    PERFORM ta.require_sender();
    LOOP
        SELECT * INTO o FROM ta.outbox
         WHERE status = 'pending' AND send_at <= now() AND channel::text = ANY (channels)
         ORDER BY send_at, id LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            -- nothing due in the outbox: the due reminders waiting on appointments come next
            IF ta.take_due_reminders(channels, 50) = 0 THEN
                RETURN;
            END IF;
            CONTINUE;
        END IF;
        -- act as the row's practice: row-level security shows its patient, appointment, settings
        PERFORM ta.set_claims(json_build_object('pid', o.practice_id)::text);
        s := ta.reminder_settings_of(o.practice_id);
        tz := ta.practice_timezone(o.practice_id);
        m := ROW(o.id, o.kind::text, o.channel::text, NULL, NULL, NULL, format('ta-%s-%s', o.kind, o.id));
        IF o.kind = 'reminder' THEN
            SELECT * INTO a FROM ta.appointments WHERE appointments.id = o.appointment_id;
            SELECT * INTO p FROM ta.patients WHERE patients.id = o.patient_id;
            IF o.starts_at <= now() THEN
                UPDATE ta.outbox SET status = 'failed', updated_at = now(),
                                     last_error = 'Nie wysłano przed rozpoczęciem wizyty'
                 WHERE id = o.id;
                CONTINUE;
            END IF;
            -- The triggers cancel what is no longer wanted; this guards the send itself.
            IF NOT (ta.appointment_is_live(a) AND a.patient_id = o.patient_id AND p.deleted_at IS NULL
                    AND (a.date + a.start_time) AT TIME ZONE tz = o.starts_at
                    AND CASE o.channel WHEN 'email' THEN s.email_enabled AND p.reminder_email
                                       ELSE s.sms_enabled AND p.reminder_sms END) THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now() WHERE id = o.id;
                CONTINUE;
            END IF;
            m.recipient := CASE o.channel WHEN 'email' THEN p.email ELSE ta.sms_number(p.phone) END;
            IF o.channel = 'email' THEN
                m.subject := ta.render_template(s.email_subject, o.starts_at, tz, s.practice_name);
                m.body := ta.render_template(s.email_body, o.starts_at, tz, s.practice_name);
            ELSE
                m.body := ta.render_template(s.sms_body, o.starts_at, tz, s.practice_name);
            END IF;
        ELSIF o.kind = 'test' THEN
            SELECT * INTO u FROM ta.users WHERE users.id = o.user_id AND deleted_at IS NULL;
            IF u.id IS NULL THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now() WHERE id = o.id;
                CONTINUE;
            END IF;
            -- a sample appointment tomorrow at 10:00
            sample := (((now() AT TIME ZONE tz)::date + 1) + time '10:00') AT TIME ZONE tz;
            m.recipient := u.email;
            m.subject := '[Test] ' || ta.render_template(s.email_subject, sample, tz, s.practice_name);
            m.body := ta.render_template(s.email_body, sample, tz, s.practice_name);
        ELSE
            SELECT * INTO r FROM ta.password_resets WHERE password_resets.id = o.password_reset_id;
            SELECT * INTO u FROM ta.users WHERE users.id = o.user_id AND deleted_at IS NULL;
            IF u.id IS NULL OR r.used_at IS NOT NULL OR r.expires_at <= now() THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now(),
                                     last_error = CASE WHEN r.expires_at <= now() THEN 'Link wygasł przed wysłaniem' END
                 WHERE id = o.id;
                CONTINUE;
            END IF;
            m.recipient := u.email;
            m.subject := 'Zmiana hasła w TherapyAssistance';
            m.body := E'Dzień dobry,\n\notrzymaliśmy prośbę o zmianę hasła do konta ' || u.email
                      || E' w TherapyAssistance.\nAby ustawić nowe hasło, otwórz link:\n\n'
                      || rtrim(app_url, '/') || '/reset-hasla?token=' || ta.password_reset_token(r.nonce)
                      || E'\n\nLink jest ważny 60 minut i działa tylko raz. Jeśli to nie Ty prosiłeś o zmianę, '
                      || E'zignoruj tę wiadomość: hasło pozostanie bez zmian.\n';
        END IF;
        RETURN NEXT m;
        RETURN;
    END LOOP;
END $$;
COMMENT ON FUNCTION notifier.claim(text, text[]) IS
    'Locks and returns the next due message (none when none is due); call in a transaction, record, commit.';

CREATE FUNCTION notifier.record_sent(id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    UPDATE ta.outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL,
                         updated_at = now()
     WHERE outbox.id = record_sent.id AND status = 'pending';
END $$;

-- A failed attempt: retried after retry_seconds * 4^(attempts before) (60 s, 4, 16, 64 min by
-- default), at most 5 attempts and never at or after the appointment's start or a link's expiry;
-- then (or at once when permanent) failed, with the reason. Returns the row's status.
CREATE FUNCTION notifier.record_failure(id bigint, error text, permanent boolean, retry_seconds integer)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    o ta.outbox;
    next_try timestamptz;
    deadline timestamptz;
    reason text := left(regexp_replace(coalesce(nullif(btrim(error), ''), 'nieznany błąd'), '[[:cntrl:]]+', ' ', 'g'),
                        500);
BEGIN
    PERFORM ta.require_sender();
    SELECT * INTO o FROM ta.outbox WHERE outbox.id = record_failure.id AND status = 'pending' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    next_try := now() + make_interval(secs => least(greatest(retry_seconds, 1), 3600)::double precision
                                              * power(4, least(o.attempts, 6)));
    deadline := coalesce(o.starts_at, (SELECT r.expires_at FROM ta.password_resets r WHERE r.id = o.password_reset_id),
                         'infinity');
    UPDATE ta.outbox SET attempts = attempts + 1, last_error = reason, updated_at = now(),
                         status = CASE WHEN permanent OR o.attempts + 1 >= 5 OR next_try >= deadline
                                       THEN 'failed' ELSE 'pending' END::ta.reminder_status,
                         send_at = CASE WHEN permanent OR o.attempts + 1 >= 5 OR next_try >= deadline
                                        THEN send_at ELSE next_try END
     WHERE outbox.id = o.id
    RETURNING * INTO o;
    RETURN o.status::text;
END $$;
COMMENT ON FUNCTION notifier.record_failure(bigint, text, boolean, integer) IS
    'Records a failed attempt: retried with backoff, or failed with the reason after the last try.';
-- Privileges and search paths: run last, by every install and every upgrade step, over
-- every api function there is then (so it must stay idempotent).

-- The application reaches only the api schema (ta.grant_api); nobody else reaches
-- anything by default. Every SECURITY DEFINER function runs with a pinned search_path:
-- pg_catalog, then pgcrypto's schema (bcrypt, and HMAC in the plain-SQL install), then
-- pg_temp last, so no object a caller could create is ever looked up first. Every object
-- the functions name themselves is schema-qualified anyway.
-- Roles that were already granted the api (ta.grant_api) are granted the functions an
-- upgrade adds.
DO $$
DECLARE
    crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                            WHERE e.extname = 'pgcrypto');
    r record;
BEGIN
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA notifier FROM PUBLIC;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace, 'notifier'::regnamespace)
                AND p.prosecdef LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', r.fn, crypto_schema);
    END LOOP;
    FOR r IN SELECT a.grantee::regrole AS role FROM pg_namespace n, aclexplode(n.nspacl) a
              WHERE n.nspname = 'api' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner LOOP
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO %s', r.role);
    END LOOP;
    FOR r IN SELECT a.grantee::regrole AS role FROM pg_namespace n, aclexplode(n.nspacl) a
              WHERE n.nspname = 'notifier' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner LOOP
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA notifier TO %s', r.role);
    END LOOP;
END $$;
