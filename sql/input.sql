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

