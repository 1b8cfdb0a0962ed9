-- 1.0 -> 1.1, issue 17 (reminders and outbound mail): e-mail and SMS reminders with the
-- patient's consent, an outbox written by the appointment changes themselves, the notifier's
-- schema, and password reset by e-mail. Every row stays; new columns go at the end.

-- Password reset ends every session: tokens carry the version they were issued with.
ALTER TABLE ta.users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- Consent to SMS needs a number an SMS can reach; the check uses this function.
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

-- The patient's consent per channel, when it last changed, and that it needs an address.
ALTER TABLE ta.patients
    ADD COLUMN reminder_email boolean NOT NULL DEFAULT false,
    ADD COLUMN reminder_sms boolean NOT NULL DEFAULT false,
    ADD COLUMN reminder_email_changed_at timestamptz,
    ADD COLUMN reminder_sms_changed_at timestamptz,
    ADD CONSTRAINT patients_reminder_email_needs_email CHECK (NOT reminder_email OR email IS NOT NULL),
    ADD CONSTRAINT patients_reminder_sms_needs_phone CHECK (NOT reminder_sms OR ta.sms_number(phone) IS NOT NULL);

-- The notifier's functions live in their own schema, granted to its role only.
CREATE SCHEMA notifier;
COMMENT ON SCHEMA notifier IS 'TherapyAssistance notifier: claim and record outbox messages (ta.grant_notifier).';

-- Patients in every answer carry their consents and when they changed.
ALTER TYPE ta.patient_out ADD ATTRIBUTE reminder_email boolean, ADD ATTRIBUTE reminder_sms boolean,
    ADD ATTRIBUTE reminder_email_changed_at timestamptz, ADD ATTRIBUTE reminder_sms_changed_at timestamptz;
CREATE OR REPLACE FUNCTION ta.patient_out(p ta.patients) RETURNS ta.patient_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p.id, p.name, p.phone, p.email, p.notes, p.created_at, p.reminder_email, p.reminder_sms,
               p.reminder_email_changed_at, p.reminder_sms_changed_at)::ta.patient_out
$$;

-- create and update take reminder_email and reminder_sms.
CREATE OR REPLACE FUNCTION api.create_patient(body json) RETURNS json
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

CREATE OR REPLACE FUNCTION api.update_patient(id bigint, body json) RETURNS json
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

-- A token of a version before the user's token_version (a reset password) answers 401.
CREATE OR REPLACE FUNCTION ta.caller() RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    claims json := nullif(current_setting('request.jwt.claims', true), '')::json;
    sub text := claims ->> 'sub';
    pid text := claims ->> 'pid';
    ver text := coalesce(claims ->> 'ver', '0');
    uid bigint;
BEGIN
    IF sub ~ '^[0-9]{1,18}$' AND pid ~ '^[0-9]{1,18}$' AND ver ~ '^[0-9]{1,9}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = sub::bigint AND u.practice_id = pid::bigint AND u.deleted_at IS NULL
           AND u.token_version = ver::integer;
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;

-- Tokens carry the user's token_version as "ver".
CREATE OR REPLACE FUNCTION api.login(body json) RETURNS json
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
                                                      'pid', u.practice_id, 'ver', u.token_version, 'iat', now_s,
                                                      'exp', now_s + s.jwt_expiration_hours * 3600),
                                    s.jwt_secret),
        'token_type', 'bearer');
END $$;
COMMENT ON FUNCTION api.login(json) IS 'POST /auth/login: {username or email, password} -> a bearer token.';

-- Polish messages for the new constraints.
CREATE OR REPLACE FUNCTION ta.explain_violation(code text, constraint_name text, column_name text) RETURNS void
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

-- The export carries the consent history and the patient's reminders.
CREATE OR REPLACE FUNCTION api.export_patient(id bigint) RETURNS json
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
                                 FROM ta.outbox o WHERE o.patient_id = p.id), '[]'),
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

-- New: password-reset links (sql/password_reset.sql as a fresh 1.1 has it).
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
            PERFORM set_config('request.jwt.claims', json_build_object('pid', u.practice_id)::text, true);
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
    PERFORM set_config('request.jwt.claims', json_build_object('pid', u.practice_id)::text, true);
    UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
     WHERE kind = 'password_reset' AND user_id = u.id AND status = 'pending';
    DELETE FROM ta.login_failures f WHERE f.email = lower(u.email);
    RETURN json_build_object('detail', 'Hasło zostało zmienione. Zaloguj się nowym hasłem.');
END $$;
COMMENT ON FUNCTION api.confirm_password_reset(json) IS
    'POST /auth/password-reset/confirm: {token, new_password}; the link is spent and every session ends.';

-- New: consents history, reminder settings, the outbox and its triggers (sql/reminders.sql).
-- Reminders (issue 17): the patient's consent per channel with its history, the practice's
-- settings and Polish templates, and the outbox the notifier (notifier/, C) sends from.
-- A due reminder is a row written by the same transaction as the appointment change that
-- makes it due (the triggers below call ta.sync_reminders); rescheduling moves the row,
-- cancelling or archiving cancels it. UNIQUE (appointment_id, channel, starts_at) makes
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
    practice_id bigint NOT NULL REFERENCES ta.practices,
    kind ta.message_kind NOT NULL DEFAULT 'reminder',
    channel ta.reminder_channel NOT NULL,
    appointment_id bigint REFERENCES ta.appointments,
    patient_id bigint,
    user_id bigint REFERENCES ta.users,
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
    CONSTRAINT outbox_reset_shape CHECK ((kind = 'password_reset') = (password_reset_id IS NOT NULL))
);
-- What the notifier claims: pending rows by due time.
CREATE INDEX outbox_due_idx ON ta.outbox (send_at) WHERE status = 'pending';
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

-- The practice's time zone for appointment times (Europe/Warsaw until practices choose one).
CREATE FUNCTION ta.practice_timezone(practice_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT 'Europe/Warsaw'::text $$;

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

-- Whether an appointment may be reminded of at all. The one place that says which
-- appointments are live: when appointments gain a status (issue 15), add
-- "AND a.status = 'scheduled'" here and nothing else changes.
CREATE FUNCTION ta.appointment_is_live(a ta.appointments) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a.deleted_at IS NULL $$;

-- What of an appointment its reminders depend on; the trigger syncs only when this changes.
CREATE FUNCTION ta.appointment_reminder_key(a ta.appointments) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws('|', a.patient_id, a.date, a.start_time, ta.appointment_is_live(a))
$$;

-- Makes the outbox agree with one appointment: for each channel, a pending reminder at
-- hours_before its start when it is wanted (live appointment in the future, live patient who
-- consented and has the address, channel enabled), none otherwise. A pending row is moved
-- to the new start; a reminder already sent or failed for a start stays, and a new start
-- gets its own row. fresh: the appointment was just inserted (it has no rows yet).
CREATE FUNCTION ta.sync_reminders(a ta.appointments, fresh boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    s ta.reminder_settings;
    p ta.patients;
    ch ta.reminder_channel;
    starts timestamptz;
    due timestamptz;
    wanted boolean;
    existing ta.outbox;
BEGIN
    SELECT * INTO s FROM ta.reminder_settings rs WHERE rs.practice_id = a.practice_id;
    IF fresh AND NOT (coalesce(s.email_enabled, false) OR coalesce(s.sms_enabled, false)) THEN
        RETURN;
    END IF;
    SELECT * INTO p FROM ta.patients WHERE patients.id = a.patient_id;
    starts := (a.date + a.start_time) AT TIME ZONE ta.practice_timezone(a.practice_id);
    due := greatest(starts - make_interval(hours => s.hours_before), now());
    FOREACH ch IN ARRAY enum_range(NULL::ta.reminder_channel) LOOP
        wanted := ta.appointment_is_live(a) AND p.deleted_at IS NULL AND starts > now() AND CASE ch
            WHEN 'email' THEN coalesce(s.email_enabled, false) AND p.reminder_email AND p.email IS NOT NULL
            WHEN 'sms' THEN coalesce(s.sms_enabled, false) AND p.reminder_sms AND ta.sms_number(p.phone) IS NOT NULL
        END;
        IF NOT wanted THEN
            IF NOT fresh THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
                 WHERE appointment_id = a.id AND channel = ch AND status = 'pending';
            END IF;
            CONTINUE;
        END IF;
        existing := NULL;
        IF NOT fresh THEN
            -- the row of this very start (a cancelled one comes back), else a pending one to move
            SELECT * INTO existing FROM ta.outbox
             WHERE appointment_id = a.id AND channel = ch AND starts_at = starts;
            IF existing.id IS NOT NULL THEN
                UPDATE ta.outbox SET status = 'pending', send_at = due, patient_id = a.patient_id,
                                     attempts = CASE WHEN status = 'cancelled' THEN 0 ELSE attempts END,
                                     last_error = CASE WHEN status = 'cancelled' THEN NULL ELSE last_error END,
                                     updated_at = now()
                 WHERE id = existing.id AND status IN ('pending', 'cancelled')
                   AND (status <> 'pending' OR send_at <> due OR patient_id <> a.patient_id);
            ELSE
                UPDATE ta.outbox SET starts_at = starts, send_at = due, patient_id = a.patient_id,
                                     attempts = 0, last_error = NULL, updated_at = now()
                 WHERE id = (SELECT o.id FROM ta.outbox o
                              WHERE o.appointment_id = a.id AND o.channel = ch AND o.status = 'pending'
                              ORDER BY o.id LIMIT 1)
                RETURNING * INTO existing;
            END IF;
            -- any other pending row of this appointment and channel is for a start that is gone
            UPDATE ta.outbox SET status = 'cancelled', updated_at = now()
             WHERE appointment_id = a.id AND channel = ch AND status = 'pending' AND starts_at <> starts;
        END IF;
        IF existing.id IS NULL THEN
            INSERT INTO ta.outbox (practice_id, kind, channel, appointment_id, patient_id, starts_at, send_at)
            VALUES (a.practice_id, 'reminder', ch, a.id, a.patient_id, starts, due)
            ON CONFLICT ON CONSTRAINT outbox_once_per_start DO NOTHING;
        END IF;
    END LOOP;
END $$;
COMMENT ON FUNCTION ta.sync_reminders(ta.appointments, boolean) IS
    'Writes, moves or cancels the appointment''s reminders in the outbox, in the caller''s transaction.';

CREATE FUNCTION ta.appointments_sync_reminders() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ta.sync_reminders(NEW, TG_OP = 'INSERT');
    RETURN NULL;
END $$;
CREATE TRIGGER appointments_reminders_insert AFTER INSERT ON ta.appointments
    FOR EACH ROW EXECUTE FUNCTION ta.appointments_sync_reminders();
CREATE TRIGGER appointments_reminders_update AFTER UPDATE ON ta.appointments
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
      FROM (SELECT * FROM ta.outbox o
             WHERE o.practice_id = pid AND o.kind <> 'password_reset'
               AND (wanted IS NULL OR o.status = wanted::ta.reminder_status)
             ORDER BY o.send_at DESC, o.id DESC OFFSET skip LIMIT lim) o;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_reminders(json) IS 'GET /reminders?status&skip&limit: the practice''s outbox, latest first.';

-- New: the notifier's functions (sql/notifier.sql).
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

-- Seconds until the next pending row is due: 0 when one is, at most 60 (the sender's longest sleep).
CREATE FUNCTION notifier.next_due() RETURNS double precision
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    RETURN coalesce(least(60, greatest(0, extract(epoch FROM
               (SELECT min(o.send_at) FROM ta.outbox o WHERE o.status = 'pending') - now()))), 60);
END $$;

-- The next due message, its row locked until the caller's transaction ends; no row when none is
-- due. A reminder whose appointment started or is no longer wanted is settled here instead
-- (failed or cancelled, committed with the caller's transaction) and the next row is taken.
-- channels: the channels this sender can send ('email', 'sms'); rows of others wait.
CREATE FUNCTION notifier.claim(app_url text, channels text[]) RETURNS SETOF notifier.message
    LANGUAGE plpgsql SECURITY DEFINER AS $$
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
            RETURN;
        END IF;
        -- act as the row's practice: row-level security shows its patient, appointment, settings
        PERFORM set_config('request.jwt.claims', json_build_object('pid', o.practice_id)::text, true);
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
