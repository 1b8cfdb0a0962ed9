-- therapyassistance 1.0 -> 1.1, plain-SQL install (from sql/upgrade/1.0--1.1/).
-- Before step 1.0 -> 1.1 changes anything: the database holds version 1.0's tables exactly
-- as released (sql/releases/schema-1.0.txt), and the plain-SQL install is upgraded by the
-- role that owns it. Anything else stops the step here, with nothing changed.
DO $check$
DECLARE
    expected text[] := string_to_array($fingerprint$column ta.appointment_out.created_at timestamp with time zone
column ta.appointment_out.date date
column ta.appointment_out.end_time time without time zone
column ta.appointment_out.id bigint
column ta.appointment_out.is_paid boolean
column ta.appointment_out.patient_id bigint
column ta.appointment_out.price numeric
column ta.appointment_out.session_note_id bigint
column ta.appointment_out.start_time time without time zone
column ta.appointments.created_at timestamp with time zone not null
column ta.appointments.date date not null
column ta.appointments.deleted_at timestamp with time zone
column ta.appointments.deleted_by bigint
column ta.appointments.end_time time without time zone not null
column ta.appointments.id bigint not null
column ta.appointments.patient_id bigint not null
column ta.appointments.payment_id bigint
column ta.appointments.practice_id bigint not null
column ta.appointments.price numeric(10,2) not null
column ta.appointments.session_note_id bigint
column ta.appointments.start_time time without time zone not null
column ta.audit_log.action text not null
column ta.audit_log.at timestamp with time zone not null
column ta.audit_log.client_addr inet
column ta.audit_log.id bigint not null
column ta.audit_log.patient_ids bigint[] not null
column ta.audit_log.practice_id bigint not null
column ta.audit_log.route text
column ta.audit_log.user_id bigint not null
column ta.login_failures.at timestamp with time zone not null
column ta.login_failures.client_addr inet
column ta.login_failures.email text not null
column ta.login_failures.id bigint not null
column ta.note_out.content text
column ta.note_out.created_at timestamp with time zone
column ta.note_out.id bigint
column ta.note_out.patient_id bigint
column ta.patient_out.created_at timestamp with time zone
column ta.patient_out.email text
column ta.patient_out.id bigint
column ta.patient_out.name text
column ta.patient_out.notes text
column ta.patient_out.phone text
column ta.patients.created_at timestamp with time zone not null
column ta.patients.deleted_at timestamp with time zone
column ta.patients.deleted_by bigint
column ta.patients.email text
column ta.patients.id bigint not null
column ta.patients.name text not null
column ta.patients.notes text
column ta.patients.phone text
column ta.patients.practice_id bigint not null
column ta.payments.amount numeric(10,2) not null
column ta.payments.archived_appointment_ids bigint[]
column ta.payments.created_at timestamp with time zone not null
column ta.payments.deleted_at timestamp with time zone
column ta.payments.deleted_by bigint
column ta.payments.description text
column ta.payments.id bigint not null
column ta.payments.patient_id bigint not null
column ta.payments.payment_date date not null
column ta.payments.payment_method text not null
column ta.payments.practice_id bigint not null
column ta.payments.updated_at timestamp with time zone not null
column ta.practices.created_at timestamp with time zone not null
column ta.practices.id bigint not null
column ta.practices.name text not null
column ta.session_notes.content text not null
column ta.session_notes.created_at timestamp with time zone not null
column ta.session_notes.deleted_at timestamp with time zone
column ta.session_notes.deleted_by bigint
column ta.session_notes.id bigint not null
column ta.session_notes.patient_id bigint not null
column ta.session_notes.practice_id bigint not null
column ta.session_notes.updated_at timestamp with time zone
column ta.settings.jwt_expiration_hours integer not null
column ta.settings.jwt_secret text not null
column ta.settings.singleton boolean not null
column ta.users.created_at timestamp with time zone not null
column ta.users.deleted_at timestamp with time zone
column ta.users.email text not null
column ta.users.id bigint not null
column ta.users.password_hash text not null
column ta.users.practice_id bigint not null
constraint ta.appointments appointments_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.appointments appointments_end_after_start CHECK ((end_time > start_time))
constraint ta.appointments appointments_no_overlap EXCLUDE USING gist (practice_id WITH =, tsrange((date + start_time), (date + end_time)) WITH &&) WHERE ((deleted_at IS NULL))
constraint ta.appointments appointments_note_fkey FOREIGN KEY (session_note_id, patient_id, practice_id) REFERENCES ta.session_notes(id, patient_id, practice_id)
constraint ta.appointments appointments_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.appointments appointments_payment_fkey FOREIGN KEY (payment_id, patient_id, practice_id) REFERENCES ta.payments(id, patient_id, practice_id)
constraint ta.appointments appointments_pkey PRIMARY KEY (id)
constraint ta.appointments appointments_price_check CHECK ((price > (0)::numeric))
constraint ta.audit_log audit_log_action_check CHECK ((action = ANY (ARRAY['read'::text, 'create'::text, 'update'::text, 'delete'::text, 'export'::text])))
constraint ta.audit_log audit_log_pkey PRIMARY KEY (id)
constraint ta.login_failures login_failures_pkey PRIMARY KEY (id)
constraint ta.patients patients_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.patients patients_email_check CHECK (ta.is_email(email))
constraint ta.patients patients_id_practice_id_key UNIQUE (id, practice_id)
constraint ta.patients patients_name_check CHECK (((btrim(name) <> ''::text) AND (length(name) <= 200)))
constraint ta.patients patients_notes_check CHECK ((length(notes) <= 200000))
constraint ta.patients patients_phone_check CHECK ((length(phone) <= 50))
constraint ta.patients patients_pkey PRIMARY KEY (id)
constraint ta.patients patients_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
constraint ta.payments payments_amount_check CHECK ((amount >= (0)::numeric))
constraint ta.payments payments_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.payments payments_description_check CHECK ((length(description) <= 2000))
constraint ta.payments payments_id_patient_id_practice_id_key UNIQUE (id, patient_id, practice_id)
constraint ta.payments payments_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.payments payments_payment_method_check CHECK ((payment_method = ANY (ARRAY['CASH'::text, 'TRANSFER'::text])))
constraint ta.payments payments_pkey PRIMARY KEY (id)
constraint ta.practices practices_pkey PRIMARY KEY (id)
constraint ta.session_notes session_notes_content_check CHECK (((btrim(content) <> ''::text) AND (length(content) <= 200000)))
constraint ta.session_notes session_notes_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.session_notes session_notes_id_patient_id_practice_id_key UNIQUE (id, patient_id, practice_id)
constraint ta.session_notes session_notes_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.session_notes session_notes_pkey PRIMARY KEY (id)
constraint ta.settings settings_jwt_expiration_hours_check CHECK (((jwt_expiration_hours >= 1) AND (jwt_expiration_hours <= 8760)))
constraint ta.settings settings_jwt_secret_check CHECK ((octet_length(jwt_secret) >= 32))
constraint ta.settings settings_pkey PRIMARY KEY (singleton)
constraint ta.settings settings_singleton_check CHECK (singleton)
constraint ta.users users_email_check CHECK (ta.is_email(email))
constraint ta.users users_pkey PRIMARY KEY (id)
constraint ta.users users_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
index CREATE INDEX appointments_no_overlap ON ta.appointments USING gist (practice_id, tsrange((date + start_time), (date + end_time))) WHERE (deleted_at IS NULL)
index CREATE INDEX appointments_patient_id_idx ON ta.appointments USING btree (patient_id, date, start_time) WHERE (deleted_at IS NULL)
index CREATE INDEX appointments_payment_id_idx ON ta.appointments USING btree (payment_id) WHERE (payment_id IS NOT NULL)
index CREATE INDEX appointments_practice_date_idx ON ta.appointments USING btree (practice_id, date, start_time) WHERE (deleted_at IS NULL)
index CREATE INDEX audit_log_practice_at_idx ON ta.audit_log USING btree (practice_id, at, id)
index CREATE INDEX login_failures_at_idx ON ta.login_failures USING btree (at)
index CREATE INDEX login_failures_client_addr_idx ON ta.login_failures USING btree (client_addr, at) WHERE (client_addr IS NOT NULL)
index CREATE INDEX login_failures_email_idx ON ta.login_failures USING btree (email, at)
index CREATE INDEX patients_practice_id_idx ON ta.patients USING btree (practice_id, id) WHERE (deleted_at IS NULL)
index CREATE INDEX payments_patient_id_idx ON ta.payments USING btree (patient_id) WHERE (deleted_at IS NULL)
index CREATE INDEX payments_practice_id_idx ON ta.payments USING btree (practice_id, payment_date DESC, id DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX session_notes_patient_id_idx ON ta.session_notes USING btree (patient_id, created_at DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX session_notes_practice_id_idx ON ta.session_notes USING btree (practice_id, created_at DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX users_practice_id_idx ON ta.users USING btree (practice_id)
index CREATE UNIQUE INDEX appointments_pkey ON ta.appointments USING btree (id)
index CREATE UNIQUE INDEX audit_log_pkey ON ta.audit_log USING btree (id)
index CREATE UNIQUE INDEX login_failures_pkey ON ta.login_failures USING btree (id)
index CREATE UNIQUE INDEX patients_id_practice_id_key ON ta.patients USING btree (id, practice_id)
index CREATE UNIQUE INDEX patients_pkey ON ta.patients USING btree (id)
index CREATE UNIQUE INDEX payments_id_patient_id_practice_id_key ON ta.payments USING btree (id, patient_id, practice_id)
index CREATE UNIQUE INDEX payments_pkey ON ta.payments USING btree (id)
index CREATE UNIQUE INDEX practices_pkey ON ta.practices USING btree (id)
index CREATE UNIQUE INDEX session_notes_id_patient_id_practice_id_key ON ta.session_notes USING btree (id, patient_id, practice_id)
index CREATE UNIQUE INDEX session_notes_pkey ON ta.session_notes USING btree (id)
index CREATE UNIQUE INDEX settings_pkey ON ta.settings USING btree (singleton)
index CREATE UNIQUE INDEX users_email_key ON ta.users USING btree (lower(email))
index CREATE UNIQUE INDEX users_pkey ON ta.users USING btree (id)
policy ta.appointments appointments_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.appointments appointments_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.appointments appointments_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.audit_log audit_log_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.audit_log audit_log_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.patients patients_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.patients patients_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.patients patients_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.payments payments_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.payments payments_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.payments payments_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.session_notes session_notes_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.session_notes session_notes_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.session_notes session_notes_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
trigger CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON ta.audit_log FOR EACH ROW EXECUTE FUNCTION ta.audit_log_refuse_change()
trigger CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ta.audit_log FOR EACH STATEMENT EXECUTE FUNCTION ta.audit_log_refuse_change()$fingerprint$, E'\n');
    found text[];
    missing text[];
    unexpected text[];
    path text := current_setting('search_path');
    schema_owner name := (SELECT nspowner::regrole::name FROM pg_catalog.pg_namespace WHERE nspname = 'ta');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'therapyassistance')
       AND schema_owner IS DISTINCT FROM current_user THEN
        RAISE EXCEPTION 'therapyassistance 1.0 -> 1.1: run the upgrade as %, the owner of schema ta, not as %; nothing was changed',
            coalesce(schema_owner, '(no schema ta)'), current_user;
    END IF;
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);
    SELECT array_agg(line) INTO found FROM (
SELECT line FROM (
    SELECT format('column %s.%s.%s %s%s', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END) AS line
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE n.nspname IN ('ta', 'api') AND c.relkind IN ('r', 'p', 'v', 'c')
    UNION ALL
    SELECT format('constraint %s.%s %s %s', n.nspname, c.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid))
      FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('index %s', pg_catalog.pg_get_indexdef(i.indexrelid))
      FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('policy %s.%s %s %s %s %s', n.nspname, c.relname, p.polname, p.polcmd,
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api')
    UNION ALL
    SELECT format('trigger %s', pg_catalog.pg_get_triggerdef(t.oid))
      FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('ta', 'api') AND NOT t.tgisinternal
    UNION ALL
    SELECT format('enum %s.%s %s', n.nspname, t.typname, (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                                             FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid))
      FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname IN ('ta', 'api') AND t.typtype = 'e'
) f
ORDER BY line
    ) f;
    PERFORM pg_catalog.set_config('search_path', path, true);
    SELECT array_agg(x ORDER BY x) INTO missing FROM unnest(expected) x WHERE x <> ALL (coalesce(found, '{}'));
    SELECT array_agg(x ORDER BY x) INTO unexpected FROM unnest(found) x WHERE x <> ALL (expected);
    IF missing IS NOT NULL OR unexpected IS NOT NULL THEN
        RAISE EXCEPTION 'therapyassistance 1.0 -> 1.1: the database does not hold the tables of version 1.0 as released; nothing was changed'
            USING DETAIL = concat_ws(E'\n',
                'missing: ' || array_to_string(missing[1:10], E'\n         '),
                'not in 1.0: ' || array_to_string(unexpected[1:10], E'\n         ')),
                  HINT = 'Was a table changed by hand? Undo that change (or restore a backup), then upgrade again.';
    END IF;
END $check$;
-- The schema version this script leaves (therapyassistance.control's default_version; each
-- upgrade step sets its target). The proxy refuses to serve an older schema than it needs.
CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '1.1'::text /* therapyassistance schema version */ $$;
COMMENT ON FUNCTION api.schema_version() IS 'The installed schema version, e.g. 1.1 (GET /health).';
-- 1.1 records its version (api.schema_version(), written by every install and step), so the
-- proxy can refuse a schema older than it needs and the plain-SQL upgrade knows where to start.
-- GET /health names the installed version.
CREATE OR REPLACE FUNCTION api.health() RETURNS json
    LANGUAGE sql STABLE AS $$ SELECT json_build_object('status', 'healthy', 'schema_version', api.schema_version()) $$;
COMMENT ON FUNCTION api.health() IS 'GET /health';
-- Payment methods and audit actions are closed lists: one enum each, from which the columns,
-- the api's checks and messages and the OpenAPI document take their values.
CREATE TYPE ta.payment_method AS ENUM ('CASH', 'TRANSFER');
COMMENT ON TYPE ta.payment_method IS 'How a payment was made: cash or bank transfer.';
ALTER TABLE ta.payments DROP CONSTRAINT payments_payment_method_check,
    ALTER COLUMN payment_method TYPE ta.payment_method USING payment_method::ta.payment_method;
CREATE TYPE ta.audit_action AS ENUM ('read', 'create', 'update', 'delete', 'export');
COMMENT ON TYPE ta.audit_action IS 'What an audited api call did with patient data.';
ALTER TABLE ta.audit_log DROP CONSTRAINT audit_log_action_check,
    ALTER COLUMN action TYPE ta.audit_action USING action::ta.audit_action;
-- Messages list the values from the types; the check of a payment method moves from the
-- dropped constraint's message to the parser.
CREATE OR REPLACE FUNCTION ta.one_of(items text[]) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN cardinality(items) < 2 THEN items[1]
                ELSE array_to_string(items[1:cardinality(items) - 1], ', ') || ' lub ' || items[cardinality(items)] END
$$;
CREATE OR REPLACE FUNCTION ta.to_payment_method(value text, key text) RETURNS ta.payment_method
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.payment_method)::text[]) THEN
        RETURN value::ta.payment_method;
    END IF;
    PERFORM ta.raise('22023', format('Metoda płatności musi być %s', ta.one_of(enum_range(NULL::ta.payment_method)::text[])),
                     key);
END $$;
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
-- The functions that write or filter the two columns.
CREATE OR REPLACE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void
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
CREATE OR REPLACE FUNCTION api.list_audit(q json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.create_payment(body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.list_payments(q json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.update_payment(id bigint, body json) RETURNS json
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
-- Issue 14, parity with the original SPA: payment_date is an instant, a paid appointment can be
-- deleted (its payment keeps the amount and records it), and archiving a patient takes their
-- appointments, notes and payments along, which POST /patients/{id}/restore brings back.

-- payment_date becomes a timestamp: these read its input and draw the Europe/Warsaw days of
-- the date filters; field_day (the date part only) has no caller left.
DROP FUNCTION ta.field_day(json, text);

CREATE OR REPLACE FUNCTION ta.warsaw_instant(local timestamp) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT local AT TIME ZONE 'Europe/Warsaw' $$;
COMMENT ON FUNCTION ta.warsaw_instant(timestamp) IS
    'The instant of a Europe/Warsaw local time (day boundaries of date filters, naive input).';
CREATE OR REPLACE FUNCTION ta.field_timestamp(body json, key text) RETURNS timestamptz
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

-- The original SPA sends and shows the time of a payment. A 1.0 row keeps its day: its date
-- becomes 00:00 Europe/Warsaw that day, whatever the session's TimeZone.
ALTER TABLE ta.payments ALTER COLUMN payment_date TYPE timestamptz
    USING payment_date::timestamp AT TIME ZONE 'Europe/Warsaw';
ALTER TABLE ta.payments ALTER COLUMN payment_date SET DEFAULT now();

-- Rows archived together with their patient, so that a restore brings back exactly those.
ALTER TABLE ta.session_notes ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.session_notes ADD CONSTRAINT session_notes_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);
-- A paid appointment may now be deleted: its payment records which ones it lost.
ALTER TABLE ta.payments ADD COLUMN deleted_appointment_ids bigint[];
ALTER TABLE ta.payments ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.payments ADD CONSTRAINT payments_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);
ALTER TABLE ta.appointments ADD COLUMN archived_with_patient boolean NOT NULL DEFAULT false;
ALTER TABLE ta.appointments ADD CONSTRAINT appointments_archived_with_patient_check
    CHECK (NOT archived_with_patient OR deleted_at IS NOT NULL);

-- 1.0 archived a patient's appointments and notes in the patient's own statement (same time,
-- same user): mark those, so restoring such a patient brings them back too. Their payments
-- 1.0 left live, and they stay so (no one's accounts change by upgrading). (The plain-SQL
-- upgrade lifts FORCE ROW LEVEL SECURITY for its transaction, so these reach every practice.)
UPDATE ta.appointments a SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = a.patient_id AND p.deleted_at IS NOT NULL
   AND a.deleted_at = p.deleted_at AND a.deleted_by IS NOT DISTINCT FROM p.deleted_by;
UPDATE ta.session_notes n SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = n.patient_id AND p.deleted_at IS NOT NULL
   AND n.deleted_at = p.deleted_at AND n.deleted_by IS NOT DISTINCT FROM p.deleted_by;

-- payment_date: read as an instant; date filters and statistics count Europe/Warsaw days.
CREATE OR REPLACE FUNCTION api.create_payment(body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.list_payments(q json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.update_payment(id bigint, body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.payment_statistics(q json) RETURNS json
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
-- Editing a paid appointment in the original SPA sends is_paid: false (its form has no such
-- field): 1.0 refused that edit with 400; now false changes nothing.
CREATE OR REPLACE FUNCTION ta.check_is_paid(body json, paid boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF ta.field_bool(body, 'is_paid') AND NOT paid THEN
        PERFORM ta.raise('P0001', 'Wizytę oznacza się jako opłaconą, dodając płatność', 'is_paid');
    END IF;
END $$;
-- A paid appointment is deleted out of its payment instead of refusing (400 in 1.0).
CREATE OR REPLACE FUNCTION api.delete_appointment(id bigint) RETURNS json
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
-- Archiving a patient takes their payments too, and marks what it archived for the restore.
CREATE OR REPLACE FUNCTION api.delete_patient(id bigint) RETURNS json
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
-- New: POST /patients/{id}/restore.
CREATE OR REPLACE FUNCTION api.restore_patient(id bigint) RETURNS json
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
-- Issue 15, scheduling: appointment status and cancellations, recurring series, the calendar feed.
-- What became of an appointment and who cancelled it are closed lists, one enum each.
CREATE TYPE ta.appointment_status AS ENUM ('scheduled', 'completed', 'cancelled', 'no_show');
COMMENT ON TYPE ta.appointment_status IS 'What became of an appointment: scheduled, held, cancelled or missed.';
CREATE TYPE ta.cancel_reason AS ENUM ('patient', 'therapist');
COMMENT ON TYPE ta.cancel_reason IS 'Who cancelled an appointment.';

-- A practice's late-cancellation window (and its calendar's time zone) is its own setting.
CREATE TABLE ta.practice_settings (
    practice_id bigint PRIMARY KEY REFERENCES ta.practices,
    late_cancel_hours integer NOT NULL DEFAULT 24
        CONSTRAINT practice_settings_late_cancel_hours_check CHECK (late_cancel_hours BETWEEN 0 AND 168),
    timezone text NOT NULL DEFAULT 'Europe/Warsaw'
        CONSTRAINT practice_settings_timezone_check CHECK (timezone = 'Europe/Warsaw')
);
COMMENT ON TABLE ta.practice_settings IS
    'Per practice: how many hours before the start a patient''s cancellation is late (billable).';

-- A recurring series keeps the rule its appointments were booked by.
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

-- Both are practice data: the same row-level security as every practice table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['practice_settings', 'appointment_series'] LOOP
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

-- Every existing appointment is scheduled, not cancelled, in no series.
ALTER TABLE ta.appointments
    ADD COLUMN status ta.appointment_status NOT NULL DEFAULT 'scheduled',
    ADD COLUMN cancel_reason ta.cancel_reason,
    ADD COLUMN cancelled_at timestamptz,
    ADD COLUMN late_cancellation boolean NOT NULL DEFAULT false,
    ADD COLUMN series_id bigint;
-- A cancelled appointment frees its slot: the overlap rule now passes over cancelled rows.
ALTER TABLE ta.appointments DROP CONSTRAINT appointments_no_overlap,
    ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        practice_id WITH =,
        tsrange(date + start_time, date + end_time) WITH &&
    ) WHERE (deleted_at IS NULL AND status <> 'cancelled');
-- A reason exactly when cancelled, a cancellation time with it, late only for the patient's,
-- and only what is due can be paid (every existing row is scheduled: all hold).
ALTER TABLE ta.appointments
    ADD CONSTRAINT appointments_cancel_reason_check CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    ADD CONSTRAINT appointments_cancelled_at_check CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    ADD CONSTRAINT appointments_late_cancellation_check
        CHECK (NOT late_cancellation OR (status = 'cancelled' AND cancel_reason = 'patient')),
    ADD CONSTRAINT appointments_paid_when_due
        CHECK (payment_id IS NULL OR status <> 'cancelled' OR late_cancellation);
-- A series' appointments belong to it. Checking the new key queries the tables, which a restore's
-- session (row_security off) may not do under forced row-level security: row security is on for
-- that one statement (every series_id is still NULL, so nothing can fail the check).
DO $$
DECLARE
    saved text := current_setting('row_security');
BEGIN
    PERFORM set_config('row_security', 'on', true);
    ALTER TABLE ta.appointments ADD CONSTRAINT appointments_series_fkey FOREIGN KEY (series_id, practice_id)
        REFERENCES ta.appointment_series (id, practice_id);
    PERFORM set_config('row_security', saved, true);
END $$;
CREATE INDEX appointments_series_id_idx ON ta.appointments (series_id, date) WHERE series_id IS NOT NULL;

-- Appointments answer their status, reason, late mark and series.
ALTER TYPE ta.appointment_out ADD ATTRIBUTE status ta.appointment_status, ADD ATTRIBUTE cancel_reason ta.cancel_reason,
    ADD ATTRIBUTE late_cancellation boolean, ADD ATTRIBUTE series_id bigint;
CREATE OR REPLACE FUNCTION ta.appointment_out(a ta.appointments) RETURNS ta.appointment_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(a.id, a.patient_id, a.date, a.start_time, a.end_time, a.session_note_id, a.payment_id IS NOT NULL,
               a.price, a.created_at, a.status, a.cancel_reason, a.late_cancellation, a.series_id)::ta.appointment_out
$$;
-- The rules of what is late and what is due, and the trigger that stamps cancellations.
CREATE OR REPLACE FUNCTION ta.late_cancel_hours(practice bigint) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.late_cancel_hours FROM ta.practice_settings s WHERE s.practice_id = practice), 24)
$$;
CREATE OR REPLACE FUNCTION ta.appointment_start(a ta.appointments) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE AS $$ SELECT (a.date + a.start_time) AT TIME ZONE 'Europe/Warsaw' $$;
CREATE OR REPLACE FUNCTION ta.is_due(a ta.appointments) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a.status <> 'cancelled' OR a.late_cancellation $$;
CREATE OR REPLACE FUNCTION ta.appointments_stamp_cancellation() RETURNS trigger
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
-- Parsing statuses and reasons; listing by status; setting them.
CREATE OR REPLACE FUNCTION ta.to_status(value text, key text) RETURNS ta.appointment_status
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.appointment_status)::text[]) THEN
        RETURN value::ta.appointment_status;
    END IF;
    PERFORM ta.raise('22023', format('Status wizyty musi być %s', ta.one_of(enum_range(NULL::ta.appointment_status)::text[])),
                     key);
END $$;
CREATE OR REPLACE FUNCTION ta.to_cancel_reason(value text, key text) RETURNS ta.cancel_reason
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF value IS NULL OR value = ANY (enum_range(NULL::ta.cancel_reason)::text[]) THEN
        RETURN value::ta.cancel_reason;
    END IF;
    PERFORM ta.raise('22023', format('Powód odwołania musi być %s', ta.one_of(enum_range(NULL::ta.cancel_reason)::text[])),
                     key);
END $$;
CREATE OR REPLACE FUNCTION ta.query_statuses(q json, key text) RETURNS ta.appointment_status[]
    LANGUAGE sql STABLE AS $$
    SELECT array_agg(ta.to_status(btrim(s), key))
      FROM unnest(string_to_array(nullif(ta.field_scalar(q, key), ''), ',')) s
$$;
CREATE OR REPLACE FUNCTION api.list_appointments(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 1000);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    patient bigint := ta.query_id(params, 'patient_id');
    statuses ta.appointment_status[] := ta.query_statuses(params, 'status');
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
               AND (statuses IS NULL OR a.status = ANY (statuses))
             ORDER BY a.date, a.start_time, a.id OFFSET skip LIMIT lim) a;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_appointments(json) IS
    'GET /appointments?skip&limit&date_from&date_to[&patient_id][&status=a,b] (inclusive dates)';
CREATE OR REPLACE FUNCTION api.update_appointment(id bigint, body json) RETURNS json
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
-- The messages of the new constraints.
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
-- Unpaid lists hold what is due; paying what is not due is refused.
CREATE OR REPLACE FUNCTION ta.link_appointments(pay ta.payments, appointment_ids bigint[], changing boolean) RETURNS void
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
CREATE OR REPLACE FUNCTION api.unpaid_appointments(patient_id bigint) RETURNS json
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

-- Settings, holidays, series and the statistics of statuses (new: sql/scheduling.sql).
CREATE OR REPLACE FUNCTION ta.settings_json(practice bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('late_cancel_hours', coalesce(s.late_cancel_hours, 24),
                             'timezone', coalesce(s.timezone, 'Europe/Warsaw'))
      FROM (SELECT practice) p LEFT JOIN ta.practice_settings s ON s.practice_id = p.practice
$$;
CREATE OR REPLACE FUNCTION api.get_settings() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.caller();
    RETURN ta.settings_json(ta.current_practice_id());
END $$;
COMMENT ON FUNCTION api.get_settings() IS 'GET /settings: {late_cancel_hours, timezone}';
CREATE OR REPLACE FUNCTION api.update_settings(body json) RETURNS json
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
CREATE OR REPLACE FUNCTION ta.easter_sunday(year integer) RETURNS date
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
CREATE OR REPLACE FUNCTION ta.polish_holidays(year integer) RETURNS TABLE (day date, name text)
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
CREATE OR REPLACE FUNCTION ta.polish_holiday(day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT h.name FROM ta.polish_holidays(extract(year FROM day)::integer) h WHERE h.day = polish_holiday.day
$$;
CREATE OR REPLACE FUNCTION ta.series_plan(first date, interval_weeks integer, how_many integer, until date,
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
CREATE OR REPLACE FUNCTION ta.slot_conflicts(days date[], starts time[], ends time[], except_ids bigint[]) RETURNS date[]
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.day ORDER BY s.day), '{}')
      FROM unnest(days, starts, ends) s(day, start_time, end_time)
     WHERE EXISTS (SELECT FROM ta.appointments a
                    WHERE a.deleted_at IS NULL AND a.status <> 'cancelled' AND a.date = s.day
                      AND a.start_time < s.end_time AND a.end_time > s.start_time
                      AND a.id <> ALL (except_ids))
$$;
CREATE OR REPLACE FUNCTION ta.conflicts_answer(conflicts date[]) RETURNS json
    LANGUAGE sql AS $$
    SELECT json_build_object('detail', 'Wizyty kolidują z innymi wizytami w dniach: '
                                       || (SELECT string_agg(to_char(d, 'YYYY-MM-DD'), ', ' ORDER BY d) FROM unnest(conflicts) d),
                             'conflicts', to_json(conflicts))
      FROM (SELECT set_config('response.status', '400', true)) answered
$$;
CREATE OR REPLACE FUNCTION ta.series_json(s ta.appointment_series) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'patient_id', s.patient_id, 'interval_weeks', s.interval_weeks,
        'skip_holidays', s.skip_holidays, 'created_at', s.created_at,
        'appointments', coalesce((SELECT json_agg(ta.appointment_out(a) ORDER BY a.date, a.start_time, a.id)
                                    FROM ta.appointments a WHERE a.series_id = s.id AND a.deleted_at IS NULL), '[]'))
$$;
CREATE OR REPLACE FUNCTION ta.require_series(id bigint, lock boolean) RETURNS ta.appointment_series
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
CREATE OR REPLACE FUNCTION ta.require_series_date(s ta.appointment_series, day date, key text) RETURNS void
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
CREATE OR REPLACE FUNCTION api.create_appointment_series(body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.get_appointment_series(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    s ta.appointment_series := ta.require_series(id, false);
BEGIN
    PERFORM ta.audit(uid, 'read', ARRAY[s.patient_id]);
    RETURN ta.series_json(s);
END $$;
COMMENT ON FUNCTION api.get_appointment_series(bigint) IS 'GET /appointment_series/{id}: with its appointments.';
CREATE OR REPLACE FUNCTION api.update_appointment_series(id bigint, body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.cancel_appointment_series(id bigint, q json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.appointment_statistics(q json) RETURNS json
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

-- The calendar feed (new: sql/calendar_feed.sql): the token's hash per user, failed fetches per address.
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
CREATE OR REPLACE FUNCTION ta.feed_throttle(addr inet) RETURNS void
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
CREATE OR REPLACE FUNCTION api.create_calendar_feed() RETURNS json
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
CREATE OR REPLACE FUNCTION api.delete_calendar_feed() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    DELETE FROM ta.calendar_feeds WHERE user_id = uid;
    PERFORM ta.audit(uid, 'delete', '{}');
    RETURN json_build_object('detail', 'Kalendarz został wyłączony');
END $$;
COMMENT ON FUNCTION api.delete_calendar_feed() IS 'DELETE /calendar_feed: turns the feed off.';
CREATE OR REPLACE FUNCTION api.get_calendar_feed() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN (SELECT json_build_object('enabled', count(*) > 0, 'created_at', max(f.created_at))
              FROM ta.calendar_feeds f WHERE f.user_id = uid);
END $$;
COMMENT ON FUNCTION api.get_calendar_feed() IS 'GET /calendar_feed: {enabled, created_at}';
CREATE OR REPLACE FUNCTION ta.ical_text(value text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(replace(replace(replace(replace(value, '\', '\\'), ';', '\;'), ',', '\,'), E'\r', ''), E'\n', '\n')
$$;
CREATE OR REPLACE FUNCTION ta.ical_line(line text) RETURNS text
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
CREATE OR REPLACE FUNCTION ta.initials(name text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(upper(left(w, 1)) || '.', ' ' ORDER BY n), '?')
      FROM (SELECT w, n, min(n) OVER () AS first_n, max(n) OVER () AS last_n
              FROM regexp_split_to_table(btrim(name), '[[:space:]]+') WITH ORDINALITY t(w, n)
             WHERE w ~ '^[[:alpha:]]') words
     WHERE n IN (first_n, last_n)
$$;
CREATE OR REPLACE FUNCTION ta.calendar_ics(OUT ics text, OUT patient_ids bigint[])
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
CREATE OR REPLACE FUNCTION api.calendar_feed(token text) RETURNS text
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
    PERFORM set_config('request.jwt.claims', json_build_object('sub', feed.user_id::text, 'pid', feed.practice_id)::text,
                       true);
    result := ta.calendar_ics();
    -- The feed's user, found by its token above (live: joined with ta.users); there is no bearer token
    -- for ta.caller() to verify here (issue 16).
    PERFORM ta.audit(feed.user_id, 'read', result.patient_ids);
    RETURN result.ics;
END $$;
COMMENT ON FUNCTION api.calendar_feed(text) IS
    'GET /calendar/{token}.ics: the iCalendar feed of the token''s user; 404 (counted, throttled) otherwise.';
-- Issue 16, accounts and security (second round). Every change below says why.

-- Sessions that end: every token carries its user's token_version (claim ver), and a
-- password change increments it, so every older token is refused by ta.caller().
ALTER TABLE ta.users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN ta.users.token_version IS 'The ver claim a token must carry; incremented by a password change.';

-- Logout ends one token: its jti is kept here until the token would have expired.
CREATE TABLE ta.revoked_tokens (
    jti uuid PRIMARY KEY,
    user_id bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at_idx ON ta.revoked_tokens (expires_at);
COMMENT ON TABLE ta.revoked_tokens IS 'Logged-out tokens (jti) until their exp; ta.caller() refuses them.';

-- Throttling that cannot lock the owner out: the addresses an account logged in from are
-- never refused because of guesses made elsewhere.
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

-- Registration runs bcrypt and was unlimited: 20 per address per hour, counted here.
CREATE TABLE ta.registrations (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    client_addr inet,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_client_addr_idx ON ta.registrations (client_addr, at);
CREATE INDEX registrations_at_idx ON ta.registrations (at);
COMMENT ON TABLE ta.registrations IS 'Registrations of the last hour per client address (ta.register_throttle()).';
ALTER TABLE ta.registrations ENABLE ROW LEVEL SECURITY;

-- The caller check verifies the token through ta.verify_token: ta.jwt_verify itself in C; in the
-- plain-SQL install ta.jwt_verify with a per-backend memory of the last token, so that the
-- check inside the database keeps GET /patients' pace (its SQL verifier costs a millisecond).
-- The two installs define it differently (sql/native.sql, sql/fallback/native.sql): the same
-- text as there, chosen here by which install this is.
DO $step$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'therapyassistance') THEN
        CREATE FUNCTION ta.verify_token(token text, secret text) RETURNS json
            AS 'MODULE_PATHNAME', 'jwt_verify' LANGUAGE C STABLE STRICT PARALLEL SAFE;
    ELSE
CREATE FUNCTION ta.verify_token(token text, secret text) RETURNS json
    LANGUAGE plpgsql STABLE STRICT AS $f$
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
END $f$;
    END IF;
END $step$;
COMMENT ON FUNCTION ta.verify_token(text, text) IS
    'ta.jwt_verify as the caller check uses it (the plain-SQL install remembers the last token per backend).';

-- The JWT is verified inside the database: the caller check reads the raw token (request.jwt), no longer
-- trusts request.jwt.claims, and refuses tokens of an older version or logged out.
CREATE OR REPLACE FUNCTION ta.caller() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    claims json;
    c record;
    uid bigint;
BEGIN
    SELECT ta.verify_token(nullif(current_setting('request.jwt', true), ''), s.jwt_secret) INTO claims
      FROM ta.settings s;
    PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
    SELECT * INTO c FROM json_to_record(claims) AS r(sub text, pid text, ver text, jti text);
    IF c.sub ~ '^[0-9]{1,18}$' AND c.pid ~ '^[0-9]{1,18}$' AND c.ver ~ '^[0-9]{1,9}$'
       AND c.jti ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = c.sub::bigint AND u.practice_id = c.pid::bigint
           AND u.deleted_at IS NULL AND u.token_version = c.ver::integer
           AND NOT EXISTS (SELECT FROM ta.revoked_tokens r WHERE r.jti = c.jti::uuid);
    END IF;
    IF uid IS NULL THEN
        PERFORM set_config('request.jwt.claims', '', true);
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;
COMMENT ON FUNCTION ta.caller() IS
    'Verifies request.jwt (signature, exp, live user, token version, not logged out) and returns the user id; 401 otherwise.';

-- A username over ~2.7 kB answered 500 (index row too large): 422 above 254 bytes, before any work.
CREATE OR REPLACE FUNCTION ta.require_email_length(address text, field text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF octet_length(address) > 254 THEN
        PERFORM ta.raise('22023', 'Adres email może mieć najwyżej 254 bajty', field);
    END IF;
END $$;

-- The password rules, shared by register and the new password change.
CREATE OR REPLACE FUNCTION ta.require_new_password(secret text, field text) RETURNS void
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

-- Tokens carry ver and jti (logout, password change); one place signs them.
CREATE OR REPLACE FUNCTION ta.issue_token(u ta.users) RETURNS json
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

-- One way to answer PT429 with the wait, for logins and registrations.
CREATE OR REPLACE FUNCTION ta.too_many(free_at timestamptz, message text) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    wait_s integer := greatest(1, ceil(extract(epoch FROM free_at - now())))::integer;
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'PT429', DETAIL = wait_s::text,
        MESSAGE = format(message, ceil(wait_s / 60.0)::integer);
END $$;

-- Per account and address first (10), per address across accounts only at 100, per account from
-- everywhere at 100 but never for an address it logged in from: guessing no longer locks the owner out.
CREATE OR REPLACE FUNCTION ta.login_throttle(account text, addr inet) RETURNS void
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

-- A success clears only its own address's failures (the guesser's keep counting) and remembers the address.
CREATE OR REPLACE FUNCTION ta.login_succeeded(account text, addr inet) RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM ta.login_failures f WHERE f.email = account AND f.client_addr IS NOT DISTINCT FROM addr;
    DELETE FROM ta.login_addresses WHERE last_login_at < now() - interval '90 days';
    INSERT INTO ta.login_addresses (email, client_addr) SELECT account, addr WHERE addr IS NOT NULL
        ON CONFLICT ON CONSTRAINT login_addresses_pkey DO UPDATE SET last_login_at = now();
$$;
COMMENT ON FUNCTION ta.login_succeeded(text, inet) IS
    'Clears account''s failures from addr and remembers addr as one the account logs in from.';

-- Registrations: 20 per address per hour.
CREATE OR REPLACE FUNCTION ta.register_throttle(addr inet) RETURNS void
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

-- Throttled, the e-mail length checked first, a taken e-mail refused before bcrypt.
CREATE OR REPLACE FUNCTION api.register(body json) RETURNS json
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

-- Length check, the new throttle, and tokens with ver and jti.
CREATE OR REPLACE FUNCTION api.login(body json) RETURNS json
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

-- GET /auth/me.
CREATE OR REPLACE FUNCTION api.me() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN (SELECT json_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at)
              FROM ta.users u WHERE u.id = uid);
END $$;
COMMENT ON FUNCTION api.me() IS 'GET /auth/me: the caller''s account.';

-- POST /auth/logout: this token dies.
CREATE OR REPLACE FUNCTION api.logout() RETURNS json
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

-- PUT /auth/password: every earlier token dies.
CREATE OR REPLACE FUNCTION api.change_password(body json) RETURNS json
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

-- The audit trail becomes tamper-evident: each row's hash chains it to the previous row of
-- its chain (64 per practice, so that concurrent appends need not queue). Rows of 1.0 are
-- chained here on chain 0, in id order per practice, as ta.audit_append would have; the
-- append-only trigger and FORCE are lifted for this one backfill only.
ALTER TABLE ta.audit_log ADD COLUMN chain smallint, ADD COLUMN hash bytea;
-- One link of a chain: the row's fields and the previous row's hash.
CREATE OR REPLACE FUNCTION ta.audit_row_hash(prev bytea, l ta.audit_log) RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT sha256(coalesce(prev, '\x'::bytea)
                  || convert_to(json_build_array(l.id, l.practice_id, l.user_id, l.action, l.route,
                                                 l.patient_ids, l.client_addr::text,
                                                 extract(epoch FROM l.at), l.chain)::text, 'UTF8'))
$$;
COMMENT ON FUNCTION ta.audit_row_hash(bytea, ta.audit_log) IS
    'sha256(previous hash in the chain || the row''s fields as JSON): one link of the audit chain.';

ALTER TABLE ta.audit_log DISABLE TRIGGER audit_log_append_only;
ALTER TABLE ta.audit_log NO FORCE ROW LEVEL SECURITY;
UPDATE ta.audit_log SET chain = 0;
DO $$
DECLARE
    r ta.audit_log;
    prev bytea;
    practice bigint;
BEGIN
    FOR r IN SELECT * FROM ta.audit_log ORDER BY practice_id, id LOOP
        IF practice IS DISTINCT FROM r.practice_id THEN
            prev := NULL;
            practice := r.practice_id;
        END IF;
        prev := ta.audit_row_hash(prev, r);
        UPDATE ta.audit_log SET hash = prev WHERE id = r.id;
    END LOOP;
END $$;
ALTER TABLE ta.audit_log FORCE ROW LEVEL SECURITY;
ALTER TABLE ta.audit_log ENABLE TRIGGER audit_log_append_only;
ALTER TABLE ta.audit_log ALTER COLUMN chain SET NOT NULL, ALTER COLUMN hash SET NOT NULL,
    ADD CONSTRAINT audit_log_chain_check CHECK (chain BETWEEN 0 AND 63);
-- Each chain runs in id order: its head is found, and verification walks it, by this index.
CREATE INDEX audit_log_chain_idx ON ta.audit_log (practice_id, chain, id);

-- The owner (the api's role) can no longer disable, drop or replace the trail's triggers: in the
-- extension, sql/extension_tail.sql (appended to every extension step, run as the superuser) hands
-- ta.audit_log_refuse_change to the superuser and creates the event trigger ta_audit_trail_guard.
-- The plain-SQL install has no superuser to create one (SECURITY.md).

-- The one function every writer of the trail calls: it chains the row, one append per practice at a time.
CREATE OR REPLACE FUNCTION ta.audit_append(practice bigint, uid bigint, action text, route text, patient_ids bigint[],
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
    'Appends one audit row, chained to the previous one of a free chain of the practice (the only way rows are written).';

-- Rows are appended through ta.audit_append (chained).
CREATE OR REPLACE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void
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

-- GET /audit/verify: the chain recomputed.
CREATE OR REPLACE FUNCTION api.verify_audit() RETURNS json
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

REVOKE ALL ON FUNCTION api.verify_audit(), api.me(), api.logout(), api.change_password(json) FROM PUBLIC;
-- 1.0 -> 1.1, issue 17 (reminders and outbound mail): e-mail and SMS reminders with the
-- patient's consent, an outbox written by the appointment changes themselves, the notifier's
-- schema, and password reset by e-mail. Every row stays; new columns go at the end.

-- Password reset ends every session through ta.users.token_version (added by 16-security).

-- Consent to SMS needs a number an SMS can reach; the patients' check uses this function.
CREATE OR REPLACE FUNCTION ta.sms_number(phone text) RETURNS text
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

-- Patients in every answer carry their consents and when they changed; create and update take them.
ALTER TYPE ta.patient_out ADD ATTRIBUTE reminder_email boolean, ADD ATTRIBUTE reminder_sms boolean,
    ADD ATTRIBUTE reminder_email_changed_at timestamptz, ADD ATTRIBUTE reminder_sms_changed_at timestamptz;
CREATE OR REPLACE FUNCTION ta.patient_out(p ta.patients) RETURNS ta.patient_out
    LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p.id, p.name, p.phone, p.email, p.notes, p.created_at, p.reminder_email, p.reminder_sms,
               p.reminder_email_changed_at, p.reminder_sms_changed_at)::ta.patient_out
$$;
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
-- The export carries the consent history and the patient's reminders.
CREATE OR REPLACE FUNCTION api.export_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    result json;
BEGIN
    PERFORM ta.audit_settle(true);
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

-- New: password-reset links, as sql/password_reset.sql makes them in a fresh install.
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
CREATE OR REPLACE FUNCTION ta.password_reset_token(nonce bytea) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN encode(hmac(nonce, convert_to((SELECT s.jwt_secret FROM ta.settings s), 'UTF8'), 'sha256'), 'hex');
END $$;

CREATE OR REPLACE FUNCTION api.request_password_reset(body json) RETURNS json
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

CREATE OR REPLACE FUNCTION api.confirm_password_reset(body json) RETURNS json
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

-- New: consent history, reminder settings, the outbox and its triggers (sql/reminders.sql).
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
CREATE OR REPLACE FUNCTION ta.template_is_valid(template text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(template, '\{(data|godzina|gabinet)\}', '', 'g') !~ '[{}]'
$$;

-- The text of a template for an appointment starting at starts (shown in time zone tz).
CREATE OR REPLACE FUNCTION ta.render_template(template text, starts timestamptz, tz text, practice_name text) RETURNS text
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

CREATE OR REPLACE FUNCTION ta.is_sender() RETURNS boolean
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
CREATE OR REPLACE FUNCTION ta.practice_timezone(practice_id bigint) RETURNS text
    LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT s.timezone FROM ta.practice_settings s WHERE s.practice_id = practice_timezone.practice_id),
                    'Europe/Warsaw')
$$;

-- The practice's settings, stored or default (the defaults are stated here only).
CREATE OR REPLACE FUNCTION ta.reminder_settings_of(pid bigint) RETURNS ta.reminder_settings
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
CREATE OR REPLACE FUNCTION ta.appointment_is_live(a ta.appointments) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$ SELECT a.deleted_at IS NULL AND a.status = 'scheduled' $$;

-- What of an appointment its reminders depend on; the trigger syncs only when this changes.
CREATE OR REPLACE FUNCTION ta.appointment_reminder_key(a ta.appointments) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT concat_ws('|', a.patient_id, a.date, a.start_time, ta.appointment_is_live(a))
$$;

-- Makes the outbox agree with one appointment: for each channel, a pending reminder at
-- hours_before its start when it is wanted (live appointment in the future, live patient who
-- consented and has the address, channel enabled), none otherwise. A pending row is moved
-- to the new start; a reminder already sent or failed for a start stays, and a new start
-- gets its own row. fresh: the appointment was just inserted (it has no rows yet).
CREATE OR REPLACE FUNCTION ta.sync_reminders(a ta.appointments, fresh boolean DEFAULT false) RETURNS void
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

CREATE OR REPLACE FUNCTION ta.appointments_sync_reminders() RETURNS trigger
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
CREATE OR REPLACE FUNCTION ta.patients_consent_stamp() RETURNS trigger
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

CREATE OR REPLACE FUNCTION ta.patients_consent_history() RETURNS trigger
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
CREATE OR REPLACE FUNCTION ta.outbox_notify() RETURNS trigger
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
CREATE OR REPLACE FUNCTION ta.channel_available(channel ta.reminder_channel) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT FROM ta.senders s
                    WHERE s.seen_at > now() - interval '150 seconds'
                      AND CASE channel WHEN 'email' THEN s.email_available ELSE s.sms_available END)
$$;

CREATE OR REPLACE FUNCTION ta.reminder_settings_out(s ta.reminder_settings) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('email_enabled', s.email_enabled, 'sms_enabled', s.sms_enabled,
                             'hours_before', s.hours_before, 'practice_name', s.practice_name,
                             'email_subject', s.email_subject, 'email_body', s.email_body, 'sms_body', s.sms_body,
                             'email_available', ta.channel_available('email'),
                             'sms_available', ta.channel_available('sms'),
                             'sms_max_length', 160, 'placeholders', json_build_array('{data}', '{godzina}', '{gabinet}'))
$$;

CREATE OR REPLACE FUNCTION api.get_reminder_settings() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    RETURN ta.reminder_settings_out(ta.reminder_settings_of(ta.current_practice_id()));
END $$;
COMMENT ON FUNCTION api.get_reminder_settings() IS 'GET /settings/reminders';

-- A template member of the body: text, and only the placeholders there are (named in the message).
CREATE OR REPLACE FUNCTION ta.field_template(body json, key text) RETURNS text
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

CREATE OR REPLACE FUNCTION api.update_reminder_settings(body json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.send_test_reminder(body json) RETURNS json
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

CREATE OR REPLACE FUNCTION api.list_reminders(q json) RETURNS json
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
CREATE OR REPLACE FUNCTION ta.grant_notifier(role_name name) RETURNS void
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

CREATE OR REPLACE FUNCTION ta.require_sender() RETURNS void
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT ta.is_sender() THEN
        PERFORM ta.raise('42501', 'only a notifier role (ta.grant_notifier) may send');
    END IF;
END $$;

-- The sender says what it can send (SMTP_URL, SMSAPI_TOKEN set), on start and every tick;
-- GET /settings/reminders reports it as email_available and sms_available.
CREATE OR REPLACE FUNCTION notifier.hello(email boolean, sms boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    UPDATE ta.senders SET email_available = email, sms_available = sms, seen_at = now()
     WHERE role_name = session_user;
END $$;

-- Seconds until the next pending row of the sender's channels is due: 0 when one is, at most 60 (the
-- sender's longest sleep), 60 when none is pending (an idle sender sleeps instead of asking again at once).
CREATE OR REPLACE FUNCTION notifier.next_due(channels text[]) RETURNS double precision
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    RETURN least(60, greatest(0, coalesce(extract(epoch FROM
               (SELECT min(o.send_at) FROM ta.outbox o
                 WHERE o.status = 'pending' AND o.channel::text = ANY (channels)) - now()), 60)));
END $$;
COMMENT ON FUNCTION notifier.next_due(text[]) IS
    'Seconds until the next pending row of the given channels is due: 0 when one is, at most 60.';

-- The next due message, its row locked until the caller's transaction ends; no row when none is
-- due. A reminder whose appointment started or is no longer wanted is settled here instead
-- (failed or cancelled, committed with the caller's transaction) and the next row is taken.
-- channels: the channels this sender can send ('email', 'sms'); rows of others wait.
CREATE OR REPLACE FUNCTION notifier.claim(app_url text, channels text[]) RETURNS SETOF notifier.message
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

CREATE OR REPLACE FUNCTION notifier.record_sent(id bigint) RETURNS void
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
CREATE OR REPLACE FUNCTION notifier.record_failure(id bigint, error text, permanent boolean, retry_seconds integer)
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
-- Issue 18, the audit trail off the reads' transactions. Every change below says why.

-- The audit queue: in the C install (with shared_preload_libraries) a read's row can be queued
-- in shared memory and written by a background worker; the plain-SQL install's twins never defer.
CREATE OR REPLACE FUNCTION ta.audit_defer(practice bigint, uid bigint, action text, route text, patient_ids bigint[],
                               client_addr inet, at timestamptz) RETURNS boolean
    LANGUAGE sql VOLATILE AS $$ SELECT false $$;
COMMENT ON FUNCTION ta.audit_defer(bigint, bigint, text, text, bigint[], inet, timestamptz) IS
    'Keeps a read''s audit entry for the audit writer, queued at commit; false: write the row now.';
CREATE OR REPLACE FUNCTION ta.audit_take_pending(practice bigint)
    RETURNS TABLE (practice_id bigint, user_id bigint, action text, route text, patient_ids bigint[],
                   client_addr inet, at timestamptz)
    LANGUAGE sql VOLATILE STRICT ROWS 1 AS $$
    SELECT NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::bigint[], NULL::inet, NULL::timestamptz WHERE false
$$;
COMMENT ON FUNCTION ta.audit_take_pending(bigint) IS
    'This transaction''s deferred audit entries of the practice, for it to append itself (then not queued).';
CREATE OR REPLACE FUNCTION ta.audit_flush() RETURNS void
    LANGUAGE sql VOLATILE AS $$ $$;
COMMENT ON FUNCTION ta.audit_flush() IS
    'Waits until every audit entry queued in this database before the call is in ta.audit_log.';

-- Before the trail is read or appended to, the queued rows are written and the transaction's
-- own deferred rows appended first: everyone sees their own reads, ids keep the calls' order.
CREATE OR REPLACE FUNCTION ta.audit_settle(wait boolean) RETURNS void
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

-- The synchronous row of before, now a function of its own (after the settle).
CREATE OR REPLACE FUNCTION ta.audit_write(uid bigint, action text, patient_ids bigint[]) RETURNS void
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

-- Reads and exports defer their rows when they can.
CREATE OR REPLACE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void
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

-- Reading the trail waits for the queue.
CREATE OR REPLACE FUNCTION api.list_audit(q json) RETURNS json
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
CREATE OR REPLACE FUNCTION api.export_patient(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    result json;
BEGIN
    PERFORM ta.audit_settle(true);
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
CREATE OR REPLACE FUNCTION api.verify_audit() RETURNS json
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

-- The replica's read row stays in its own call's transaction: the proxy waits for it anyway.
CREATE OR REPLACE FUNCTION api.record_read(audit json) RETURNS json
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

-- Lean api functions. The query parameters of every GET (and every body) skip the NUL regular expression unless they hold \u0000.
CREATE OR REPLACE FUNCTION ta.require_object(body json) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF body IS NULL OR json_typeof(body) <> 'object' THEN
        PERFORM ta.raise('22023', 'Treść żądania musi być obiektem JSON');
    END IF;
    IF strpos(body::text, '\u0000') > 0 AND body::text ~ '(^|[^\\])(\\\\)*\\u0000' THEN
        PERFORM ta.raise('22023', 'Tekst nie może zawierać znaku NUL (\u0000)');
    END IF;
END $$;
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
