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
    deleted_at timestamptz
);
CREATE UNIQUE INDEX users_email_key ON ta.users (lower(email));
CREATE INDEX users_practice_id_idx ON ta.users (practice_id);
COMMENT ON TABLE ta.users IS 'Therapists who log in; email unique regardless of case.';

CREATE TABLE ta.patients (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL REFERENCES ta.practices,
    name text NOT NULL CHECK (btrim(name) <> '' AND length(name) <= 200),
    phone text CHECK (length(phone) <= 50),
    email text CHECK (ta.is_email(email)),
    notes text CHECK (length(notes) <= 200000),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    UNIQUE (id, practice_id)
);
CREATE INDEX patients_practice_id_idx ON ta.patients (practice_id, id) WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.patients IS 'A practice''s patients.';

CREATE TABLE ta.session_notes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    content text NOT NULL CHECK (btrim(content) <> '' AND length(content) <= 200000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    UNIQUE (id, patient_id, practice_id)
);
CREATE INDEX session_notes_practice_id_idx ON ta.session_notes (practice_id, created_at DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX session_notes_patient_id_idx ON ta.session_notes (patient_id, created_at DESC)
    WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.session_notes IS 'Notes written after sessions, per patient.';

CREATE TABLE ta.payments (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    patient_id bigint NOT NULL,
    amount numeric(10,2) NOT NULL CHECK (amount >= 0),
    payment_method text NOT NULL CHECK (payment_method IN ('CASH', 'TRANSFER')),
    description text CHECK (length(description) <= 2000),
    payment_date date NOT NULL DEFAULT current_date,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    -- the appointments an archived payment covered, kept for the record
    archived_appointment_ids bigint[],
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    UNIQUE (id, patient_id, practice_id)
);
CREATE INDEX payments_practice_id_idx ON ta.payments (practice_id, payment_date DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX payments_patient_id_idx ON ta.payments (patient_id) WHERE deleted_at IS NULL;
COMMENT ON TABLE ta.payments IS 'Money received for one or more appointments of one patient.';

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
    price numeric(10,2) NOT NULL CHECK (price > 0),
    session_note_id bigint,
    payment_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by bigint REFERENCES ta.users,
    CONSTRAINT appointments_end_after_start CHECK (end_time > start_time),
    FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients (id, practice_id),
    CONSTRAINT appointments_note_fkey FOREIGN KEY (session_note_id, patient_id, practice_id)
        REFERENCES ta.session_notes (id, patient_id, practice_id),
    CONSTRAINT appointments_payment_fkey FOREIGN KEY (payment_id, patient_id, practice_id)
        REFERENCES ta.payments (id, patient_id, practice_id),
    -- Two live appointments of one practice never overlap; touching ends do not overlap.
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        practice_id WITH =,
        tsrange(date + start_time, date + end_time) WITH &&
    ) WHERE (deleted_at IS NULL)
);
CREATE INDEX appointments_practice_date_idx ON ta.appointments (practice_id, date, start_time)
    WHERE deleted_at IS NULL;
CREATE INDEX appointments_patient_id_idx ON ta.appointments (patient_id, date, start_time)
    WHERE deleted_at IS NULL;
CREATE INDEX appointments_payment_id_idx ON ta.appointments (payment_id) WHERE payment_id IS NOT NULL;
COMMENT ON TABLE ta.appointments IS 'Booked sessions; paid when payment_id is set.';

-- Row-level security: a row is visible and writable only when its practice_id is the
-- caller's. FORCE makes it bind the owner too, and so the SECURITY DEFINER api
-- functions. There is no DELETE policy: records are archived, never deleted.
CREATE FUNCTION ta.current_practice_id() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (nullif(current_setting('request.jwt.claims', true), '')::json ->> 'pid')::bigint $$;
COMMENT ON FUNCTION ta.current_practice_id() IS
    'The practice of the caller, from the transaction''s request.jwt.claims; NULL when unset.';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['patients', 'session_notes', 'payments', 'appointments'] LOOP
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
-- Login throttling: failed logins are counted per account (the email as typed, known
-- or not) and per client address, in a table, so that every proxy in front of the
-- database shares the count. Ten failures within fifteen minutes refuse further
-- attempts (SQLSTATE PT429) until the oldest of them is fifteen minutes old; the check
-- runs before bcrypt, so a locked-out guesser costs the server no hashing.

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

-- The client address the proxy set for this transaction (request.client_addr), or NULL.
CREATE FUNCTION ta.client_addr() RETURNS inet
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.client_addr', true), '')::inet $$;
COMMENT ON FUNCTION ta.client_addr() IS 'The caller''s address from request.client_addr; NULL when unset.';

-- Waits for the account's and the address's turn, then raises PT429 when either has 10
-- failures in the last 15 minutes. The turn (a transaction-level advisory lock, always
-- address first, so two logins never wait for each other crosswise) makes concurrent
-- attempts count one after another: without it, a burst of parallel guesses would all pass
-- the check before any of their failures committed. The message says when to retry; DETAIL
-- carries the same as whole seconds.
CREATE FUNCTION ta.login_throttle(account text, addr inet) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    window_start constant timestamptz := now() - interval '15 minutes';
    oldest timestamptz;
    wait_s integer;
BEGIN
    IF addr IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('ta.login_failures addr ' || addr::text, 0));
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('ta.login_failures email ' || account, 0));
    -- The 10th most recent failure of each kind decides: it leaves the window first.
    SELECT min(at) INTO oldest FROM (
        (SELECT f.at FROM ta.login_failures f WHERE f.email = account AND f.at > window_start
          ORDER BY f.at DESC LIMIT 10 OFFSET 9)
        UNION ALL
        (SELECT f.at FROM ta.login_failures f WHERE addr IS NOT NULL AND f.client_addr = addr AND f.at > window_start
          ORDER BY f.at DESC LIMIT 10 OFFSET 9)) tenth;
    IF oldest IS NOT NULL THEN
        wait_s := greatest(1, ceil(extract(epoch FROM oldest + interval '15 minutes' - now())))::integer;
        RAISE EXCEPTION USING ERRCODE = 'PT429', DETAIL = wait_s::text,
            MESSAGE = format('Zbyt wiele nieudanych prób logowania. Spróbuj ponownie za %s min.',
                             ceil(wait_s / 60.0)::integer);
    END IF;
END $$;
COMMENT ON FUNCTION ta.login_throttle(text, inet) IS
    'Serialises logins per account and address; PT429 (DETAIL: seconds to wait) after 10 failures in 15 minutes.';

-- Records a failed login (committed with the 401 answer) and forgets those older than a day.
CREATE FUNCTION ta.login_failed(account text, addr inet) RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM ta.login_failures WHERE at < now() - interval '1 day';
    INSERT INTO ta.login_failures (email, client_addr) VALUES (account, addr);
$$;
COMMENT ON FUNCTION ta.login_failed(text, inet) IS 'Counts one failed login of account from addr.';
-- The api: one function per use case of the REST contract, each returning the
-- response body as json or raising a SQLSTATE with the Polish message the client
-- shows (the SQLSTATE -> HTTP table is in sql/README.md). The entry points are
-- SECURITY DEFINER so the application role needs no privilege on any table; row-level
-- security still binds them to the caller's practice.

---------------------------------------------------------------------------------------
-- Errors and input

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
        WHEN 'patients_name_check' THEN
            ARRAY['22023', 'Imię i nazwisko jest wymagane (najwyżej 200 znaków)', 'name']
        WHEN 'patients_phone_check' THEN ARRAY['22023', 'Telefon może mieć najwyżej 50 znaków', 'phone']
        WHEN 'patients_email_check' THEN ARRAY['22023', 'Nieprawidłowy adres email', 'email']
        WHEN 'patients_notes_check' THEN ARRAY['22023', 'Notatki mogą mieć najwyżej 200000 znaków', 'notes']
        WHEN 'session_notes_content_check' THEN
            ARRAY['22023', 'Treść notatki nie może być pusta (najwyżej 200000 znaków)', 'content']
        WHEN 'payments_amount_check' THEN ARRAY['22023', 'Kwota nie może być ujemna', 'amount']
        WHEN 'payments_payment_method_check' THEN
            ARRAY['22023', 'Metoda płatności musi być CASH lub TRANSFER', 'payment_method']
        WHEN 'payments_description_check' THEN
            ARRAY['22023', 'Opis może mieć najwyżej 2000 znaków', 'description']
        WHEN 'users_email_key' THEN ARRAY['23505', 'Email już jest zarejestrowany', 'email']
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
-- \u0000 escape (not itself escaped) is refused here, before any member is read.
CREATE FUNCTION ta.require_object(body json) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF body IS NULL OR json_typeof(body) <> 'object' THEN
        PERFORM ta.raise('22023', 'Treść żądania musi być obiektem JSON');
    END IF;
    IF body::text ~ '(^|[^\\])(\\\\)*\\u0000' THEN
        PERFORM ta.raise('22023', 'Tekst nie może zawierać znaku NUL (\u0000)');
    END IF;
END $$;

-- The query parameters: an object of strings from the proxy, {} when there are none.
CREATE FUNCTION ta.query_params(q json) RETURNS json
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF q IS NULL THEN
        RETURN '{}';
    END IF;
    PERFORM ta.require_object(q);
    RETURN q;
END $$;

-- A string member of body, or NULL when absent or null; anything else is refused.
CREATE FUNCTION ta.field_text(body json, key text) RETURNS text
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

-- An optional text member where an empty or blank string means "none".
CREATE FUNCTION ta.field_optional_text(body json, key text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT nullif(btrim(ta.field_text(body, key)), '') $$;

-- Value of a scalar member as text (numbers and strings alike), or NULL.
CREATE FUNCTION ta.field_scalar(body json, key text) RETURNS text
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

-- A date, also given as the date part of an ISO 8601 timestamp (what JavaScript sends).
CREATE FUNCTION ta.field_day(body json, key text) RETURNS date
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    s text := ta.field_text(body, key);
BEGIN
    IF length(s) > 10 AND substr(s, 11, 1) NOT IN ('T', ' ') THEN
        PERFORM ta.raise('22023', format('Nieprawidłowa data w polu %s (oczekiwano RRRR-MM-DD)', key), key);
    END IF;
    RETURN ta.to_date(left(s, 10), key);
END $$;

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

CREATE FUNCTION ta.field_bool(body json, key text) RETURNS boolean
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

-- A money amount as Python prints a float (150.0, 99.5), for the original's messages.
CREATE FUNCTION ta.money_text(m numeric) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN t LIKE '%.%' THEN t ELSE t || '.0' END FROM (SELECT trim_scale(m)::text AS t) v
$$;

---------------------------------------------------------------------------------------
-- The caller

-- The user id of the caller after checking that the claims name a live user of the
-- practice they claim; 401 otherwise (also for a token of a deleted user).
CREATE FUNCTION ta.caller() RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    claims json := nullif(current_setting('request.jwt.claims', true), '')::json;
    sub text := claims ->> 'sub';
    pid text := claims ->> 'pid';
    uid bigint;
BEGIN
    IF sub ~ '^[0-9]{1,18}$' AND pid ~ '^[0-9]{1,18}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = sub::bigint AND u.practice_id = pid::bigint AND u.deleted_at IS NULL;
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;

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

---------------------------------------------------------------------------------------
-- JSON shapes of the contract. Lists aggregate composite rows (json_agg of a record is
-- several times cheaper than json_build_object per row); the attribute names are the keys.

CREATE TYPE ta.patient_out AS (id bigint, name text, phone text, email text, notes text, created_at timestamptz);
CREATE FUNCTION ta.patient_out(p ta.patients) RETURNS ta.patient_out
    LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(p.id, p.name, p.phone, p.email, p.notes, p.created_at)::ta.patient_out $$;

CREATE TYPE ta.appointment_out AS (id bigint, patient_id bigint, date date, start_time time, end_time time,
                                   session_note_id bigint, is_paid boolean, price numeric, created_at timestamptz);
CREATE FUNCTION ta.appointment_out(a ta.appointments) RETURNS ta.appointment_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(a.id, a.patient_id, a.date, a.start_time, a.end_time, a.session_note_id, a.payment_id IS NOT NULL,
               a.price, a.created_at)::ta.appointment_out
$$;

CREATE TYPE ta.note_out AS (id bigint, patient_id bigint, content text, created_at timestamptz);
CREATE FUNCTION ta.note_out(n ta.session_notes) RETURNS ta.note_out
    LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(n.id, n.patient_id, n.content, n.created_at)::ta.note_out $$;

-- A payment with its appointments and patient (the contract's PaymentWithPatient;
-- create and update answer it too: a superset of Payment).
CREATE FUNCTION ta.payment_json(p ta.payments) RETURNS json
    LANGUAGE sql STABLE AS $$
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
      FROM ta.patients pt WHERE pt.id = p.patient_id
$$;

---------------------------------------------------------------------------------------
-- Administration (run by the owner, not granted to the application)

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

---------------------------------------------------------------------------------------
-- Service

CREATE FUNCTION api.health() RETURNS json
    LANGUAGE sql STABLE AS $$ SELECT json_build_object('status', 'healthy') $$;
COMMENT ON FUNCTION api.health() IS 'GET /health';

---------------------------------------------------------------------------------------
-- Auth

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

---------------------------------------------------------------------------------------
-- Patients

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
    SELECT coalesce(json_agg(ta.patient_out(p) ORDER BY p.id), '[]'), array_agg(p.id ORDER BY p.id)
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
    INSERT INTO ta.patients (practice_id, name, phone, email, notes)
    VALUES (ta.current_practice_id(), ta.field_text(body, 'name'), ta.field_optional_text(body, 'phone'),
            ta.field_optional_text(body, 'email'), ta.field_text(body, 'notes'))
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
        notes = CASE WHEN body -> 'notes' IS NULL THEN notes ELSE ta.field_text(body, 'notes') END
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

-- Archives the patient with their appointments and notes; payments stay (accounts).
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
    UPDATE ta.appointments SET deleted_at = now(), deleted_by = uid
     WHERE patient_id = delete_patient.id AND deleted_at IS NULL;
    UPDATE ta.session_notes SET deleted_at = now(), deleted_by = uid
     WHERE patient_id = delete_patient.id AND deleted_at IS NULL;
    PERFORM ta.audit(uid, 'delete', ARRAY[delete_patient.id]);
    RETURN json_build_object('detail', 'Pacjent został usunięty');
END $$;
COMMENT ON FUNCTION api.delete_patient(bigint) IS 'DELETE /patients/{id}: archives, keeps the records.';

---------------------------------------------------------------------------------------
-- Appointments

CREATE FUNCTION api.list_appointments(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    patient bigint := ta.query_id(params, 'patient_id');
    uid bigint := ta.caller();
    result json;
    ids bigint[];
BEGIN
    SELECT coalesce(json_agg(ta.appointment_out(a) ORDER BY a.date, a.start_time, a.id), '[]'),
           array_agg(DISTINCT a.patient_id)
      INTO result, ids
      FROM (SELECT * FROM ta.appointments a
             WHERE a.deleted_at IS NULL
               AND (date_from IS NULL OR a.date >= date_from)
               AND (date_to IS NULL OR a.date <= date_to)
               AND (patient IS NULL OR a.patient_id = patient)
             ORDER BY a.date, a.start_time, a.id OFFSET skip LIMIT lim) a;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_appointments(json) IS
    'GET /appointments?skip&limit&date_from&date_to[&patient_id] (inclusive dates)';

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

-- is_paid is not set by hand: it follows from payments. A client may send the value
-- it already has (the original SPA sends is_paid: false); anything else is refused.
CREATE FUNCTION ta.check_is_paid(body json, paid boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    wanted boolean := ta.field_bool(body, 'is_paid');
BEGIN
    IF wanted IS NOT NULL AND wanted <> paid THEN
        PERFORM ta.raise('P0001', CASE WHEN wanted
            THEN 'Wizytę oznacza się jako opłaconą, dodając płatność'
            ELSE 'Wizyta jest opłacona: aby to zmienić, usuń ją z płatności' END, 'is_paid');
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
BEGIN
    PERFORM ta.require_object(body);
    SELECT * INTO a FROM ta.appointments
     WHERE appointments.id = update_appointment.id AND deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
    END IF;
    old_patient := a.patient_id;
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
                               ELSE ta.field_id(body, 'session_note_id') END
     WHERE appointments.id = update_appointment.id
    RETURNING * INTO a;
    PERFORM ta.audit(uid, 'update', ARRAY(SELECT DISTINCT unnest(ARRAY[old_patient, a.patient_id])));
    RETURN row_to_json(ta.appointment_out(a));
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_appointment(bigint, json) IS 'PUT /appointments/{id}: any subset of the fields.';

CREATE FUNCTION api.delete_appointment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    a ta.appointments;
BEGIN
    SELECT * INTO a FROM ta.appointments
     WHERE appointments.id = delete_appointment.id AND deleted_at IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Wizyta nie została znaleziona');
    ELSIF a.payment_id IS NOT NULL THEN
        PERFORM ta.raise('P0001', 'Nie można usunąć opłaconej wizyty: najpierw usuń ją z płatności');
    END IF;
    UPDATE ta.appointments SET deleted_at = now(), deleted_by = uid WHERE appointments.id = a.id;
    PERFORM ta.audit(uid, 'delete', ARRAY[a.patient_id]);
    RETURN json_build_object('detail', 'Wizyta została usunięta');
END $$;
COMMENT ON FUNCTION api.delete_appointment(bigint) IS 'DELETE /appointments/{id}: archives it.';

---------------------------------------------------------------------------------------
-- Session notes

-- A page of notes (of one patient or all) and the ids of the patients they belong to.
CREATE FUNCTION ta.notes_page(patient bigint, q json, OUT body json, OUT patient_ids bigint[])
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(ta.note_out(n) ORDER BY n.created_at DESC, n.id DESC), '[]'),
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

---------------------------------------------------------------------------------------
-- Payments

-- Links appointment_ids to the payment (locking them), after checking that they are
-- live appointments of the patient, unpaid (or already this payment's), and that the
-- amount covers their prices. Unlinks the payment's other appointments.
-- Messages follow the original: a new payment lists every taken id, a change names the first.
CREATE FUNCTION ta.link_appointments(pay ta.payments, appointment_ids bigint[], changing boolean) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    found_count integer;
    taken bigint[];
    total numeric;
BEGIN
    SELECT count(*), array_agg(a.id ORDER BY a.id) FILTER (WHERE a.payment_id <> pay.id),
           coalesce(sum(a.price), 0)
      INTO found_count, taken, total
      FROM (SELECT * FROM ta.appointments a
             WHERE a.id = ANY (appointment_ids) AND a.patient_id = pay.patient_id AND a.deleted_at IS NULL
             ORDER BY a.id FOR UPDATE) a;
    IF found_count <> cardinality(appointment_ids) THEN
        PERFORM ta.raise('P0001', 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta', 'appointment_ids');
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
            ta.field_text(body, 'payment_method'), ta.field_text(body, 'description'),
            coalesce(ta.field_day(body, 'payment_date'), current_date))
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
    method text := ta.field_scalar(params, 'payment_method');
    result json;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    IF method NOT IN ('CASH', 'TRANSFER') THEN
        PERFORM ta.raise('22023', 'Metoda płatności musi być CASH lub TRANSFER', 'payment_method');
    END IF;
    WITH matching AS (
        SELECT * FROM ta.payments p
         WHERE p.deleted_at IS NULL
           AND (patient IS NULL OR p.patient_id = patient)
           AND (date_from IS NULL OR p.payment_date >= date_from)
           AND (date_to IS NULL OR p.payment_date <= date_to)
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
                              ELSE ta.field_text(body, 'payment_method') END,
        description = CASE WHEN body -> 'description' IS NULL THEN description
                           ELSE ta.field_text(body, 'description') END,
        payment_date = CASE WHEN body -> 'payment_date' IS NULL THEN payment_date
                            ELSE ta.field_day(body, 'payment_date') END,
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
                        AND a.deleted_at IS NULL AND a.payment_id IS NULL), '[]');
END $$;
COMMENT ON FUNCTION api.unpaid_appointments(bigint) IS
    'GET /payments/patient/{patient_id}/unpaid-appointments: ids by date and time.';

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
               AND (date_from IS NULL OR p.payment_date >= date_from)
               AND (date_to IS NULL OR p.payment_date <= date_to));
END $$;
COMMENT ON FUNCTION api.payment_statistics(json) IS 'GET /payments/statistics/summary?date_from&date_to';

---------------------------------------------------------------------------------------
-- Privileges and search paths

-- The application reaches only the api schema (ta.grant_api); nobody else reaches
-- anything by default. The functions that call pgcrypto get a search_path that finds
-- it. The others need none, and are spared the cost of setting one per call: every
-- object they name is schema-qualified, built-ins resolve from pg_catalog, policies and
-- constraints are bound by OID, and the one role that may call them (the application,
-- trusted to state the caller anyway) may create nothing (ta.grant_api checks).
DO $$
DECLARE
    crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                            WHERE e.extname = 'pgcrypto');
BEGIN
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
    EXECUTE format('ALTER FUNCTION api.register(json) SET search_path = pg_catalog, %I, pg_temp', crypto_schema);
    EXECUTE format('ALTER FUNCTION api.login(json) SET search_path = pg_catalog, %I, pg_temp', crypto_schema);
END $$;
-- The audit trail (GDPR art. 30/32): one row per api call that reads or changes patient
-- data, written by the call itself, so it commits or rolls back with what it records.
-- Append-only: no UPDATE or DELETE policy (row-level security is forced, so even the
-- owner's functions match no row), and a trigger refuses UPDATE, DELETE and TRUNCATE
-- to everyone, the superuser too, while it exists.

-- No foreign keys: a key check would lock the user's and the practice's rows on every
-- read, and the trail must not depend on what it records anyway.
CREATE TABLE ta.audit_log (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    practice_id bigint NOT NULL,
    user_id bigint NOT NULL,
    action text NOT NULL CHECK (action IN ('read', 'create', 'update', 'delete', 'export')),
    route text,
    patient_ids bigint[] NOT NULL DEFAULT '{}',
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
-- The one index besides the key, ascending so that new rows go to its rightmost page (a
-- backward scan serves newest-first). No GIN on patient_ids: every read would update it (its
-- pending list is one page all sessions lock), halving GET throughput; the patient filter of
-- GET /audit and the export scan the practice's rows instead.
CREATE INDEX audit_log_practice_at_idx ON ta.audit_log (practice_id, at, id);
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

-- Records one call of the caller (uid, of the claims' practice). A read that has written
-- nothing else commits asynchronously (synchronous_commit off for this transaction): the
-- audit row is then its only write, and waiting for the WAL flush would make every GET as
-- slow as a write. What that risks: a crash of PostgreSQL itself (not of the proxy) within
-- a fraction of a second may lose the newest read rows; never a write, nor the audit row
-- of a write, and no later commit can survive without them (WAL is ordered).
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
    IF action = 'read' AND pg_current_xact_id_if_assigned() IS NULL THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO ta.audit_log (practice_id, user_id, action, route, patient_ids, client_addr)
    VALUES (ta.current_practice_id(), uid, audit.action, nullif(current_setting('request.route', true), ''),
            coalesce(audit.patient_ids, '{}'), ta.client_addr());
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
    IF act NOT IN ('read', 'create', 'update', 'delete', 'export') THEN
        PERFORM ta.raise('22023', 'Nieprawidłowa czynność w polu action (read, create, update, delete lub export)',
                         'action');
    END IF;
    RETURN coalesce((
        SELECT json_agg(json_build_object('id', l.id, 'at', l.at, 'user_id', l.user_id, 'action', l.action,
                                          'route', l.route, 'patient_ids', l.patient_ids,
                                          'client_addr', host(l.client_addr))
                        ORDER BY l.at DESC, l.id DESC)
          FROM (SELECT * FROM ta.audit_log l
                 WHERE (patient IS NULL OR l.patient_ids @> ARRAY[patient])
                   AND (who IS NULL OR l.user_id = who)
                   AND (act IS NULL OR l.action = act)
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
    SELECT json_build_object(
        'patient', to_jsonb(p) - 'practice_id',
        'appointments', coalesce((SELECT json_agg((to_jsonb(a) - 'practice_id' - 'payment_id')
                                                  || jsonb_build_object('is_paid', a.payment_id IS NOT NULL,
                                                                        'payment_id', a.payment_id)
                                                  ORDER BY a.date, a.start_time, a.id)
                                    FROM ta.appointments a WHERE a.patient_id = p.id), '[]'),
        'session_notes', coalesce((SELECT json_agg(to_jsonb(n) - 'practice_id' ORDER BY n.created_at, n.id)
                                     FROM ta.session_notes n WHERE n.patient_id = p.id), '[]'),
        'payments', coalesce((SELECT json_agg(to_jsonb(pay) - 'practice_id' ORDER BY pay.payment_date, pay.id)
                                FROM ta.payments pay WHERE pay.patient_id = p.id), '[]'),
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
-- primary by the proxy before the answer leaves. Only reads can be served by a replica, so
-- only their actions are taken; the practice and user are the caller's, as for every row.
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
    PERFORM ta.audit(uid, act, ids);
    RETURN '{}';
END $$;
COMMENT ON FUNCTION api.record_read(json) IS
    'The audit row of a read served by the read replica, written on the primary by the proxy (no route).';

REVOKE ALL ON FUNCTION api.list_audit(json), api.export_patient(bigint), api.record_read(json) FROM PUBLIC;
