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

