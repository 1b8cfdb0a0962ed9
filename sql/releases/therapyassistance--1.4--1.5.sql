-- therapyassistance 1.4 -> 1.5 (built by make from sql/upgrade/1.4--1.5/).
\echo Use "ALTER EXTENSION therapyassistance UPDATE TO '1.5'" to load this file. \quit
-- Before step 1.4 -> 1.5 changes anything: the database holds version 1.4's tables exactly
-- as released (sql/releases/schema-1.4.txt), and the plain-SQL install is upgraded by the
-- role that owns it. Anything else stops the step here, with nothing changed.
DO $check$
DECLARE
    expected text[] := string_to_array($fingerprint$column ta.appointment_out.cancel_reason ta.cancel_reason
column ta.appointment_out.created_at timestamp with time zone
column ta.appointment_out.date date
column ta.appointment_out.end_time time without time zone
column ta.appointment_out.id bigint
column ta.appointment_out.is_paid boolean
column ta.appointment_out.late_cancellation boolean
column ta.appointment_out.patient_id bigint
column ta.appointment_out.price numeric
column ta.appointment_out.series_id bigint
column ta.appointment_out.session_note_id bigint
column ta.appointment_out.start_time time without time zone
column ta.appointment_out.status ta.appointment_status
column ta.appointment_series.created_at timestamp with time zone not null
column ta.appointment_series.created_by bigint
column ta.appointment_series.id bigint not null
column ta.appointment_series.interval_weeks integer not null
column ta.appointment_series.patient_id bigint not null
column ta.appointment_series.practice_id bigint not null
column ta.appointment_series.skip_holidays boolean not null
column ta.appointments.archived_with_patient boolean not null
column ta.appointments.cancel_reason ta.cancel_reason
column ta.appointments.cancelled_at timestamp with time zone
column ta.appointments.created_at timestamp with time zone not null
column ta.appointments.date date not null
column ta.appointments.deleted_at timestamp with time zone
column ta.appointments.deleted_by bigint
column ta.appointments.email_reminder_id bigint
column ta.appointments.end_time time without time zone not null
column ta.appointments.id bigint not null
column ta.appointments.late_cancellation boolean not null
column ta.appointments.patient_id bigint not null
column ta.appointments.payment_id bigint
column ta.appointments.practice_id bigint not null
column ta.appointments.price numeric(10,2) not null
column ta.appointments.reminder_send_at timestamp with time zone
column ta.appointments.reminder_starts_at timestamp with time zone
column ta.appointments.series_id bigint
column ta.appointments.session_note_id bigint
column ta.appointments.sms_reminder_id bigint
column ta.appointments.start_time time without time zone not null
column ta.appointments.status ta.appointment_status not null
column ta.audit_entry.action ta.audit_action
column ta.audit_entry.at timestamp with time zone
column ta.audit_entry.client_addr inet
column ta.audit_entry.patient_ids bigint[]
column ta.audit_entry.practice_id bigint
column ta.audit_entry.route text
column ta.audit_entry.user_id bigint
column ta.audit_log.action ta.audit_action not null
column ta.audit_log.at timestamp with time zone not null
column ta.audit_log.chain smallint not null
column ta.audit_log.client_addr inet
column ta.audit_log.hash bytea not null
column ta.audit_log.id bigint not null
column ta.audit_log.patient_ids bigint[] not null
column ta.audit_log.practice_id bigint not null
column ta.audit_log.route text
column ta.audit_log.user_id bigint not null
column ta.calendar_feeds.created_at timestamp with time zone not null
column ta.calendar_feeds.practice_id bigint not null
column ta.calendar_feeds.token_sha256 bytea not null
column ta.calendar_feeds.user_id bigint not null
column ta.feed_failures.at timestamp with time zone not null
column ta.feed_failures.client_addr inet
column ta.feed_failures.id bigint not null
column ta.login_addresses.client_addr inet not null
column ta.login_addresses.email text not null
column ta.login_addresses.last_login_at timestamp with time zone not null
column ta.login_failures.at timestamp with time zone not null
column ta.login_failures.client_addr inet
column ta.login_failures.email text not null
column ta.login_failures.id bigint not null
column ta.note_out.content text
column ta.note_out.created_at timestamp with time zone
column ta.note_out.id bigint
column ta.note_out.patient_id bigint
column ta.outbox.appointment_id bigint
column ta.outbox.attempts integer not null
column ta.outbox.channel ta.reminder_channel not null
column ta.outbox.created_at timestamp with time zone not null
column ta.outbox.id bigint not null
column ta.outbox.kind ta.message_kind not null
column ta.outbox.last_error text
column ta.outbox.password_reset_id bigint
column ta.outbox.patient_id bigint
column ta.outbox.practice_id bigint not null
column ta.outbox.send_at timestamp with time zone not null
column ta.outbox.sent_at timestamp with time zone
column ta.outbox.starts_at timestamp with time zone
column ta.outbox.status ta.reminder_status not null
column ta.outbox.updated_at timestamp with time zone not null
column ta.outbox.user_id bigint
column ta.password_reset_requests.at timestamp with time zone not null
column ta.password_reset_requests.client_addr inet
column ta.password_reset_requests.email text not null
column ta.password_reset_requests.id bigint not null
column ta.password_resets.client_addr inet
column ta.password_resets.created_at timestamp with time zone not null
column ta.password_resets.expires_at timestamp with time zone not null
column ta.password_resets.id bigint not null
column ta.password_resets.nonce bytea not null
column ta.password_resets.token_hash bytea not null
column ta.password_resets.used_at timestamp with time zone
column ta.password_resets.user_id bigint not null
column ta.patient_out.created_at timestamp with time zone
column ta.patient_out.email text
column ta.patient_out.id bigint
column ta.patient_out.name text
column ta.patient_out.notes text
column ta.patient_out.phone text
column ta.patient_out.reminder_email boolean
column ta.patient_out.reminder_email_changed_at timestamp with time zone
column ta.patient_out.reminder_sms boolean
column ta.patient_out.reminder_sms_changed_at timestamp with time zone
column ta.patients.created_at timestamp with time zone not null
column ta.patients.deleted_at timestamp with time zone
column ta.patients.deleted_by bigint
column ta.patients.email text
column ta.patients.id bigint not null
column ta.patients.name text not null
column ta.patients.notes text
column ta.patients.phone text
column ta.patients.practice_id bigint not null
column ta.patients.reminder_email boolean not null
column ta.patients.reminder_email_changed_at timestamp with time zone
column ta.patients.reminder_sms boolean not null
column ta.patients.reminder_sms_changed_at timestamp with time zone
column ta.payments.amount numeric(10,2) not null
column ta.payments.archived_appointment_ids bigint[]
column ta.payments.archived_with_patient boolean not null
column ta.payments.created_at timestamp with time zone not null
column ta.payments.deleted_appointment_ids bigint[]
column ta.payments.deleted_at timestamp with time zone
column ta.payments.deleted_by bigint
column ta.payments.description text
column ta.payments.id bigint not null
column ta.payments.patient_id bigint not null
column ta.payments.payment_date timestamp with time zone not null
column ta.payments.payment_method ta.payment_method not null
column ta.payments.practice_id bigint not null
column ta.payments.updated_at timestamp with time zone not null
column ta.practice_settings.late_cancel_hours integer not null
column ta.practice_settings.practice_id bigint not null
column ta.practice_settings.timezone text not null
column ta.practices.created_at timestamp with time zone not null
column ta.practices.id bigint not null
column ta.practices.name text not null
column ta.registrations.at timestamp with time zone not null
column ta.registrations.client_addr inet
column ta.registrations.id bigint not null
column ta.reminder_consents.at timestamp with time zone not null
column ta.reminder_consents.by_user bigint
column ta.reminder_consents.channel ta.reminder_channel not null
column ta.reminder_consents.given boolean not null
column ta.reminder_consents.id bigint not null
column ta.reminder_consents.patient_id bigint not null
column ta.reminder_consents.practice_id bigint not null
column ta.reminder_settings.email_body text not null
column ta.reminder_settings.email_enabled boolean not null
column ta.reminder_settings.email_subject text not null
column ta.reminder_settings.hours_before integer not null
column ta.reminder_settings.practice_id bigint not null
column ta.reminder_settings.practice_name text not null
column ta.reminder_settings.sms_body text not null
column ta.reminder_settings.sms_enabled boolean not null
column ta.reminder_settings.updated_at timestamp with time zone not null
column ta.revoked_tokens.expires_at timestamp with time zone not null
column ta.revoked_tokens.jti uuid not null
column ta.revoked_tokens.user_id bigint not null
column ta.senders.email_available boolean not null
column ta.senders.role_name name not null
column ta.senders.seen_at timestamp with time zone
column ta.senders.sms_available boolean not null
column ta.session_notes.archived_with_patient boolean not null
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
column ta.users.token_version integer not null
constraint ta.appointment_series appointment_series_created_by_fkey FOREIGN KEY (created_by) REFERENCES ta.users(id)
constraint ta.appointment_series appointment_series_id_practice_id_key UNIQUE (id, practice_id)
constraint ta.appointment_series appointment_series_interval_weeks_check CHECK (((interval_weeks >= 1) AND (interval_weeks <= 4)))
constraint ta.appointment_series appointment_series_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.appointment_series appointment_series_pkey PRIMARY KEY (id)
constraint ta.appointments appointments_archived_with_patient_check CHECK (((NOT archived_with_patient) OR (deleted_at IS NOT NULL)))
constraint ta.appointments appointments_cancel_reason_check CHECK (((status = 'cancelled'::ta.appointment_status) = (cancel_reason IS NOT NULL)))
constraint ta.appointments appointments_cancelled_at_check CHECK (((status = 'cancelled'::ta.appointment_status) = (cancelled_at IS NOT NULL)))
constraint ta.appointments appointments_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.appointments appointments_end_after_start CHECK ((end_time > start_time))
constraint ta.appointments appointments_id_practice_key UNIQUE (id, practice_id)
constraint ta.appointments appointments_late_cancellation_check CHECK (((NOT late_cancellation) OR ((status = 'cancelled'::ta.appointment_status) AND (cancel_reason = 'patient'::ta.cancel_reason))))
constraint ta.appointments appointments_no_overlap EXCLUDE USING gist (practice_id WITH =, tsrange((date + start_time), (date + end_time)) WITH &&) WHERE (((deleted_at IS NULL) AND (status <> 'cancelled'::ta.appointment_status)))
constraint ta.appointments appointments_note_fkey FOREIGN KEY (session_note_id, patient_id, practice_id) REFERENCES ta.session_notes(id, patient_id, practice_id)
constraint ta.appointments appointments_paid_when_due CHECK (((payment_id IS NULL) OR (status <> 'cancelled'::ta.appointment_status) OR late_cancellation))
constraint ta.appointments appointments_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.appointments appointments_payment_fkey FOREIGN KEY (payment_id, patient_id, practice_id) REFERENCES ta.payments(id, patient_id, practice_id)
constraint ta.appointments appointments_pkey PRIMARY KEY (id)
constraint ta.appointments appointments_price_check CHECK ((price > (0)::numeric))
constraint ta.appointments appointments_series_fkey FOREIGN KEY (series_id, practice_id) REFERENCES ta.appointment_series(id, practice_id)
constraint ta.audit_log audit_log_chain_check CHECK (((chain >= 0) AND (chain <= 63)))
constraint ta.audit_log audit_log_pkey PRIMARY KEY (id)
constraint ta.calendar_feeds calendar_feeds_pkey PRIMARY KEY (user_id)
constraint ta.calendar_feeds calendar_feeds_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
constraint ta.calendar_feeds calendar_feeds_token_sha256_key UNIQUE (token_sha256)
constraint ta.calendar_feeds calendar_feeds_user_id_fkey FOREIGN KEY (user_id) REFERENCES ta.users(id)
constraint ta.feed_failures feed_failures_pkey PRIMARY KEY (id)
constraint ta.login_addresses login_addresses_pkey PRIMARY KEY (email, client_addr)
constraint ta.login_failures login_failures_pkey PRIMARY KEY (id)
constraint ta.outbox outbox_appointment_id_fkey FOREIGN KEY (appointment_id, practice_id) REFERENCES ta.appointments(id, practice_id) DEFERRABLE INITIALLY DEFERRED
constraint ta.outbox outbox_before_start CHECK (((status <> 'pending'::ta.reminder_status) OR (starts_at IS NULL) OR (send_at < starts_at)))
constraint ta.outbox outbox_once_per_start UNIQUE (appointment_id, channel, starts_at)
constraint ta.outbox outbox_password_reset_id_fkey FOREIGN KEY (password_reset_id) REFERENCES ta.password_resets(id)
constraint ta.outbox outbox_patient_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.outbox outbox_pkey PRIMARY KEY (id)
constraint ta.outbox outbox_reminder_shape CHECK (((kind = 'reminder'::ta.message_kind) = ((appointment_id IS NOT NULL) AND (patient_id IS NOT NULL) AND (starts_at IS NOT NULL))))
constraint ta.outbox outbox_reset_shape CHECK (((kind = 'password_reset'::ta.message_kind) = (password_reset_id IS NOT NULL)))
constraint ta.outbox outbox_user_fkey FOREIGN KEY (user_id, practice_id) REFERENCES ta.users(id, practice_id)
constraint ta.outbox outbox_user_shape CHECK (((kind = 'reminder'::ta.message_kind) OR (user_id IS NOT NULL)))
constraint ta.password_reset_requests password_reset_requests_pkey PRIMARY KEY (id)
constraint ta.password_resets password_resets_pkey PRIMARY KEY (id)
constraint ta.password_resets password_resets_token_hash_key UNIQUE (token_hash)
constraint ta.password_resets password_resets_user_id_fkey FOREIGN KEY (user_id) REFERENCES ta.users(id)
constraint ta.patients patients_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.patients patients_email_check CHECK (ta.is_email(email))
constraint ta.patients patients_id_practice_id_key UNIQUE (id, practice_id)
constraint ta.patients patients_name_check CHECK (((btrim(name) <> ''::text) AND (length(name) <= 200)))
constraint ta.patients patients_notes_check CHECK ((length(notes) <= 200000))
constraint ta.patients patients_phone_check CHECK ((length(phone) <= 50))
constraint ta.patients patients_pkey PRIMARY KEY (id)
constraint ta.patients patients_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
constraint ta.patients patients_reminder_email_needs_email CHECK (((NOT reminder_email) OR (email IS NOT NULL)))
constraint ta.patients patients_reminder_sms_needs_phone CHECK (((NOT reminder_sms) OR (ta.sms_number(phone) IS NOT NULL)))
constraint ta.payments payments_amount_check CHECK ((amount >= (0)::numeric))
constraint ta.payments payments_archived_with_patient_check CHECK (((NOT archived_with_patient) OR (deleted_at IS NOT NULL)))
constraint ta.payments payments_deleted_by_fkey FOREIGN KEY (deleted_by) REFERENCES ta.users(id)
constraint ta.payments payments_description_check CHECK ((length(description) <= 2000))
constraint ta.payments payments_id_patient_id_practice_id_key UNIQUE (id, patient_id, practice_id)
constraint ta.payments payments_patient_id_practice_id_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.payments payments_pkey PRIMARY KEY (id)
constraint ta.practice_settings practice_settings_late_cancel_hours_check CHECK (((late_cancel_hours >= 0) AND (late_cancel_hours <= 168)))
constraint ta.practice_settings practice_settings_pkey PRIMARY KEY (practice_id)
constraint ta.practice_settings practice_settings_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
constraint ta.practice_settings practice_settings_timezone_check CHECK ((timezone = 'Europe/Warsaw'::text))
constraint ta.practices practices_pkey PRIMARY KEY (id)
constraint ta.registrations registrations_pkey PRIMARY KEY (id)
constraint ta.reminder_consents reminder_consents_by_user_fkey FOREIGN KEY (by_user) REFERENCES ta.users(id)
constraint ta.reminder_consents reminder_consents_patient_fkey FOREIGN KEY (patient_id, practice_id) REFERENCES ta.patients(id, practice_id)
constraint ta.reminder_consents reminder_consents_pkey PRIMARY KEY (id)
constraint ta.reminder_settings reminder_settings_email_body CHECK (((btrim(email_body) <> ''::text) AND (length(email_body) <= 5000) AND ta.template_is_valid(email_body)))
constraint ta.reminder_settings reminder_settings_email_subject CHECK (((btrim(email_subject) <> ''::text) AND (length(email_subject) <= 200) AND (email_subject !~ '[\r\n]'::text) AND ta.template_is_valid(email_subject)))
constraint ta.reminder_settings reminder_settings_hours_before CHECK (((hours_before >= 1) AND (hours_before <= 72)))
constraint ta.reminder_settings reminder_settings_pkey PRIMARY KEY (practice_id)
constraint ta.reminder_settings reminder_settings_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
constraint ta.reminder_settings reminder_settings_practice_name CHECK (((btrim(practice_name) <> ''::text) AND (length(practice_name) <= 100) AND (practice_name !~ '[\r\n]'::text)))
constraint ta.reminder_settings reminder_settings_sms_body CHECK (((btrim(sms_body) <> ''::text) AND ta.template_is_valid(sms_body)))
constraint ta.reminder_settings reminder_settings_sms_length CHECK ((length(ta.render_template(sms_body, '2027-01-01 00:59:00+01'::timestamp with time zone, 'UTC'::text, practice_name)) <= 160))
constraint ta.revoked_tokens revoked_tokens_pkey PRIMARY KEY (jti)
constraint ta.senders senders_pkey PRIMARY KEY (role_name)
constraint ta.session_notes session_notes_archived_with_patient_check CHECK (((NOT archived_with_patient) OR (deleted_at IS NOT NULL)))
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
constraint ta.users users_id_practice_key UNIQUE (id, practice_id)
constraint ta.users users_pkey PRIMARY KEY (id)
constraint ta.users users_practice_id_fkey FOREIGN KEY (practice_id) REFERENCES ta.practices(id)
enum ta.appointment_status scheduled,completed,cancelled,no_show
enum ta.audit_action read,create,update,delete,export
enum ta.cancel_reason patient,therapist
enum ta.message_kind reminder,test,password_reset
enum ta.payment_method CASH,TRANSFER
enum ta.reminder_channel email,sms
enum ta.reminder_status pending,sent,failed,cancelled
index CREATE INDEX appointment_series_practice_id_idx ON ta.appointment_series USING btree (practice_id, id)
index CREATE INDEX appointments_no_overlap ON ta.appointments USING gist (practice_id, tsrange((date + start_time), (date + end_time))) WHERE ((deleted_at IS NULL) AND (status <> 'cancelled'::ta.appointment_status))
index CREATE INDEX appointments_patient_id_idx ON ta.appointments USING btree (patient_id, date, start_time) WHERE (deleted_at IS NULL)
index CREATE INDEX appointments_payment_id_idx ON ta.appointments USING btree (payment_id) WHERE (payment_id IS NOT NULL)
index CREATE INDEX appointments_practice_date_idx ON ta.appointments USING btree (practice_id, date, start_time) WHERE (deleted_at IS NULL)
index CREATE INDEX appointments_reminder_due_idx ON ta.appointments USING btree (practice_id, reminder_send_at) WHERE (reminder_send_at IS NOT NULL)
index CREATE INDEX appointments_series_id_idx ON ta.appointments USING btree (series_id, date) WHERE (series_id IS NOT NULL)
index CREATE INDEX audit_log_chain_idx ON ta.audit_log USING btree (practice_id, chain, id)
index CREATE INDEX audit_log_practice_at_idx ON ta.audit_log USING btree (practice_id, at, id)
index CREATE INDEX calendar_feeds_practice_id_idx ON ta.calendar_feeds USING btree (practice_id)
index CREATE INDEX feed_failures_at_idx ON ta.feed_failures USING btree (at)
index CREATE INDEX feed_failures_client_addr_idx ON ta.feed_failures USING btree (client_addr, at)
index CREATE INDEX login_addresses_last_login_at_idx ON ta.login_addresses USING btree (last_login_at)
index CREATE INDEX login_failures_at_idx ON ta.login_failures USING btree (at)
index CREATE INDEX login_failures_client_addr_idx ON ta.login_failures USING btree (client_addr, at) WHERE (client_addr IS NOT NULL)
index CREATE INDEX login_failures_email_idx ON ta.login_failures USING btree (email, at)
index CREATE INDEX outbox_due_idx ON ta.outbox USING btree (send_at, id) WHERE (status = 'pending'::ta.reminder_status)
index CREATE INDEX outbox_practice_idx ON ta.outbox USING btree (practice_id, id)
index CREATE INDEX password_reset_requests_addr_idx ON ta.password_reset_requests USING btree (client_addr, at)
index CREATE INDEX password_reset_requests_at_idx ON ta.password_reset_requests USING btree (at)
index CREATE INDEX password_resets_user_idx ON ta.password_resets USING btree (user_id, created_at)
index CREATE INDEX patients_practice_id_idx ON ta.patients USING btree (practice_id, id) WHERE (deleted_at IS NULL)
index CREATE INDEX payments_patient_id_idx ON ta.payments USING btree (patient_id) WHERE (deleted_at IS NULL)
index CREATE INDEX payments_practice_id_idx ON ta.payments USING btree (practice_id, payment_date DESC, id DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX registrations_at_idx ON ta.registrations USING btree (at)
index CREATE INDEX registrations_client_addr_idx ON ta.registrations USING btree (client_addr, at)
index CREATE INDEX reminder_consents_patient_idx ON ta.reminder_consents USING btree (practice_id, patient_id, at)
index CREATE INDEX revoked_tokens_expires_at_idx ON ta.revoked_tokens USING btree (expires_at)
index CREATE INDEX session_notes_patient_id_idx ON ta.session_notes USING btree (patient_id, created_at DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX session_notes_practice_id_idx ON ta.session_notes USING btree (practice_id, created_at DESC) WHERE (deleted_at IS NULL)
index CREATE INDEX users_practice_id_idx ON ta.users USING btree (practice_id)
index CREATE UNIQUE INDEX appointment_series_id_practice_id_key ON ta.appointment_series USING btree (id, practice_id)
index CREATE UNIQUE INDEX appointment_series_pkey ON ta.appointment_series USING btree (id)
index CREATE UNIQUE INDEX appointments_id_practice_key ON ta.appointments USING btree (id, practice_id)
index CREATE UNIQUE INDEX appointments_pkey ON ta.appointments USING btree (id)
index CREATE UNIQUE INDEX audit_log_pkey ON ta.audit_log USING btree (id)
index CREATE UNIQUE INDEX calendar_feeds_pkey ON ta.calendar_feeds USING btree (user_id)
index CREATE UNIQUE INDEX calendar_feeds_token_sha256_key ON ta.calendar_feeds USING btree (token_sha256)
index CREATE UNIQUE INDEX feed_failures_pkey ON ta.feed_failures USING btree (id)
index CREATE UNIQUE INDEX login_addresses_pkey ON ta.login_addresses USING btree (email, client_addr)
index CREATE UNIQUE INDEX login_failures_pkey ON ta.login_failures USING btree (id)
index CREATE UNIQUE INDEX outbox_once_per_start ON ta.outbox USING btree (appointment_id, channel, starts_at)
index CREATE UNIQUE INDEX outbox_pkey ON ta.outbox USING btree (id)
index CREATE UNIQUE INDEX password_reset_requests_pkey ON ta.password_reset_requests USING btree (id)
index CREATE UNIQUE INDEX password_resets_pkey ON ta.password_resets USING btree (id)
index CREATE UNIQUE INDEX password_resets_token_hash_key ON ta.password_resets USING btree (token_hash)
index CREATE UNIQUE INDEX patients_id_practice_id_key ON ta.patients USING btree (id, practice_id)
index CREATE UNIQUE INDEX patients_pkey ON ta.patients USING btree (id)
index CREATE UNIQUE INDEX payments_id_patient_id_practice_id_key ON ta.payments USING btree (id, patient_id, practice_id)
index CREATE UNIQUE INDEX payments_pkey ON ta.payments USING btree (id)
index CREATE UNIQUE INDEX practice_settings_pkey ON ta.practice_settings USING btree (practice_id)
index CREATE UNIQUE INDEX practices_pkey ON ta.practices USING btree (id)
index CREATE UNIQUE INDEX registrations_pkey ON ta.registrations USING btree (id)
index CREATE UNIQUE INDEX reminder_consents_pkey ON ta.reminder_consents USING btree (id)
index CREATE UNIQUE INDEX reminder_settings_pkey ON ta.reminder_settings USING btree (practice_id)
index CREATE UNIQUE INDEX revoked_tokens_pkey ON ta.revoked_tokens USING btree (jti)
index CREATE UNIQUE INDEX senders_pkey ON ta.senders USING btree (role_name)
index CREATE UNIQUE INDEX session_notes_id_patient_id_practice_id_key ON ta.session_notes USING btree (id, patient_id, practice_id)
index CREATE UNIQUE INDEX session_notes_pkey ON ta.session_notes USING btree (id)
index CREATE UNIQUE INDEX settings_pkey ON ta.settings USING btree (singleton)
index CREATE UNIQUE INDEX users_email_key ON ta.users USING btree (lower(email))
index CREATE UNIQUE INDEX users_id_practice_key ON ta.users USING btree (id, practice_id)
index CREATE UNIQUE INDEX users_pkey ON ta.users USING btree (id)
policy ta.appointment_series appointment_series_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.appointment_series appointment_series_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.appointment_series appointment_series_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.appointments appointments_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.appointments appointments_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.appointments appointments_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.audit_log audit_log_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.audit_log audit_log_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.outbox outbox_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.outbox outbox_select r ((practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) OR ( SELECT ta.is_sender() AS is_sender)) 
policy ta.outbox outbox_update w ((practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) OR ( SELECT ta.is_sender() AS is_sender)) ((practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) OR ( SELECT ta.is_sender() AS is_sender))
policy ta.patients patients_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.patients patients_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.patients patients_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.payments payments_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.payments payments_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.payments payments_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.practice_settings practice_settings_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.practice_settings practice_settings_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.practice_settings practice_settings_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.reminder_consents reminder_consents_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.reminder_consents reminder_consents_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.reminder_settings reminder_settings_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.reminder_settings reminder_settings_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.reminder_settings reminder_settings_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.session_notes session_notes_insert a  (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
policy ta.session_notes session_notes_select r (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) 
policy ta.session_notes session_notes_update w (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id)) (practice_id = ( SELECT ta.current_practice_id() AS current_practice_id))
trigger CREATE TRIGGER appointments_reminders_insert BEFORE INSERT ON ta.appointments FOR EACH ROW EXECUTE FUNCTION ta.appointments_plan_reminders()
trigger CREATE TRIGGER appointments_reminders_update BEFORE UPDATE ON ta.appointments FOR EACH ROW WHEN ((ta.appointment_reminder_key(old.*) IS DISTINCT FROM ta.appointment_reminder_key(new.*))) EXECUTE FUNCTION ta.appointments_sync_reminders()
trigger CREATE TRIGGER appointments_stamp_cancellation BEFORE INSERT OR UPDATE OF status, cancel_reason, cancelled_at, late_cancellation ON ta.appointments FOR EACH ROW EXECUTE FUNCTION ta.appointments_stamp_cancellation()
trigger CREATE TRIGGER audit_log_append_only BEFORE DELETE OR UPDATE ON ta.audit_log FOR EACH ROW EXECUTE FUNCTION ta.audit_log_refuse_change()
trigger CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ta.audit_log FOR EACH STATEMENT EXECUTE FUNCTION ta.audit_log_refuse_change()
trigger CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF send_at, status ON ta.outbox FOR EACH ROW WHEN (((new.status = 'pending'::ta.reminder_status) AND (new.send_at <= (now() + '00:01:00'::interval)))) EXECUTE FUNCTION ta.outbox_notify()
trigger CREATE TRIGGER patients_consent_history AFTER INSERT OR UPDATE ON ta.patients FOR EACH ROW WHEN ((new.reminder_email OR new.reminder_sms OR (new.reminder_email_changed_at IS NOT NULL) OR (new.reminder_sms_changed_at IS NOT NULL))) EXECUTE FUNCTION ta.patients_consent_history()
trigger CREATE TRIGGER patients_consent_stamp BEFORE INSERT OR UPDATE OF reminder_email, reminder_sms ON ta.patients FOR EACH ROW EXECUTE FUNCTION ta.patients_consent_stamp()$fingerprint$, E'\n');
    found text[];
    missing text[];
    unexpected text[];
    path text := current_setting('search_path');
    zone text := current_setting('timezone');
    schema_owner name := (SELECT nspowner::regrole::name FROM pg_catalog.pg_namespace WHERE nspname = 'ta');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'therapyassistance')
       AND schema_owner IS DISTINCT FROM current_user THEN
        RAISE EXCEPTION 'therapyassistance 1.4 -> 1.5: run the upgrade as %, the owner of schema ta, not as %; nothing was changed',
            coalesce(schema_owner, '(no schema ta)'), current_user;
    END IF;
    -- read as the release was (sql/release.sh): a timestamptz in a constraint deparses in the session's zone
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);
    PERFORM pg_catalog.set_config('timezone', 'Europe/Warsaw', true);
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
    PERFORM pg_catalog.set_config('timezone', zone, true);
    SELECT array_agg(x ORDER BY x) INTO missing FROM unnest(expected) x WHERE x <> ALL (coalesce(found, '{}'));
    SELECT array_agg(x ORDER BY x) INTO unexpected FROM unnest(found) x WHERE x <> ALL (expected);
    IF missing IS NOT NULL OR unexpected IS NOT NULL THEN
        RAISE EXCEPTION 'therapyassistance 1.4 -> 1.5: the database does not hold the tables of version 1.4 as released; nothing was changed'
            USING DETAIL = concat_ws(E'\n',
                'missing: ' || array_to_string(missing[1:10], E'\n         '),
                'not in 1.4: ' || array_to_string(unexpected[1:10], E'\n         ')),
                  HINT = 'Was a table changed by hand? Undo that change (or restore a backup), then upgrade again.';
    END IF;
END $check$;
-- The schema version this script leaves (therapyassistance.control's default_version; each
-- upgrade step sets its target). The proxy refuses to serve an older schema than it needs.
CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '1.5'::text /* therapyassistance schema version */ $$;
COMMENT ON FUNCTION api.schema_version() IS 'The installed schema version, e.g. 1.1 (GET /health).';
-- 1.5 is the version in the making: what changes after 1.4's release ships here, one file per concern
-- (numbered by the issue that needs it), so a 1.4 database upgrades with every row kept.
-- Issue 17: the insert trigger that plans a new appointment's reminders is C in the extension
-- (extension/reminder_plan.c: the settings and the patient fetched by primary key instead of
-- PL/pgSQL's two queries, whose executor start-up was most of POST /appointments' +6 % with
-- reminders on); the plain-SQL install keeps the PL/pgSQL body, now with a comment on both.
CREATE OR REPLACE FUNCTION ta.appointments_plan_reminders() RETURNS trigger
    AS 'MODULE_PATHNAME', 'appointments_plan_reminders' LANGUAGE C;
COMMENT ON FUNCTION ta.appointments_plan_reminders() IS
    'BEFORE INSERT on ta.appointments: the new appointment''s reminders on its own row (ta.reminder_plan''s rule).';
-- Issue 18: ta.caller() in C for the extension (extension/caller.c), the same checks and 401
-- without PL/pgSQL, json_to_record and four regular expressions at every authenticated request;
-- the plain-SQL install keeps its PL/pgSQL body unchanged.
CREATE OR REPLACE FUNCTION ta.caller() RETURNS bigint
    AS 'MODULE_PATHNAME', 'ta_caller' LANGUAGE C;
COMMENT ON FUNCTION ta.caller() IS
    'Verifies request.jwt (signature, exp, live user, token version, not logged out) and returns the user id; 401 otherwise.';
COMMENT ON EXTENSION therapyassistance IS
    'TherapyAssistance schema 1.5: patients, appointments, session notes and payments with row-level security';
-- Extension only: hand the data and the SECURITY DEFINER functions to the role that
-- created the extension (the script itself runs as a superuser), so that row-level
-- security binds them; C functions stay the superuser's. Then tell pg_dump that the
-- tables hold user data (all but ta.settings, whose secret stays out of backups).
DO $$
DECLARE
    r record;
BEGIN
    ALTER SCHEMA ta OWNER TO @extowner@;
    ALTER SCHEMA api OWNER TO @extowner@;
    ALTER SCHEMA notifier OWNER TO @extowner@;
    FOR r IN SELECT c.oid::regclass AS rel, c.relname FROM pg_class c
              WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO @extowner@', r.rel);
        IF r.relname <> 'settings' THEN
            PERFORM pg_catalog.pg_extension_config_dump(r.rel, '');
        END IF;
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'S' LOOP
        PERFORM pg_catalog.pg_extension_config_dump(r.rel, '');
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace, 'notifier'::regnamespace)
                AND l.lanname <> 'c' LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO @extowner@', r.fn);
    END LOOP;
    -- A function an upgrade turned from SQL into C (CREATE OR REPLACE keeps its owner) goes
    -- back to the superuser running the script, as a fresh install has it.
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace, 'notifier'::regnamespace)
                AND l.lanname = 'c' AND p.proowner = '@extowner@'::regrole LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO CURRENT_USER', r.fn);
    END LOOP;
END $$;

-- Extension only: the trail's triggers are changed by a superuser only. The owner owns
-- ta.audit_log (row-level security needs it) and every api function runs as the owner, so
-- whoever holds the owner's password, or runs SQL through one of its functions, could
-- otherwise disable the append-only trigger (ALTER TABLE ... DISABLE TRIGGER), drop or
-- replace it, add a rule or a BEFORE INSERT trigger that swallows rows, drop a column or
-- change its default, make the table UNLOGGED (emptied by a crash) or give it a child table.
-- An event trigger (only a superuser creates or changes one; this script runs as one)
-- compares, at the end of every DDL command of a non-superuser, the trail's persistence,
-- columns, defaults, inheritance, triggers, rules and trigger function with what this
-- script installed, and rolls the command back when they differ. The trigger function belongs to the superuser (the owner
-- cannot replace it), and so does schema ta_guard (the owner of a schema may drop what is
-- in it). Row-level security switches stay the owner's: a restore lifts FORCE while it loads.
CREATE SCHEMA IF NOT EXISTS ta_guard;
REVOKE ALL ON SCHEMA ta_guard FROM PUBLIC;
COMMENT ON SCHEMA ta_guard IS 'The superuser''s guard of the audit trail (an event trigger).';
ALTER FUNCTION ta.audit_log_refuse_change() OWNER TO CURRENT_USER;
DO $guard$
DECLARE
    -- What the guard compares; only pg_catalog is read, by name, so that it needs no privilege.
    state constant text := $state$
    SELECT pg_catalog.concat_ws(E'\n',
        (SELECT pg_catalog.format('%s %s', c.relkind, c.relpersistence) FROM pg_catalog.pg_class c WHERE c.oid = trail),
        (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s %s', a.attname,
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_catalog.pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
           FROM pg_catalog.pg_attribute a
                LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = trail AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT pg_catalog.count(*) || ' inheritance links' FROM pg_catalog.pg_inherits i
          WHERE i.inhparent = trail OR i.inhrelid = trail),
        (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid)), ', '
                                      ORDER BY t.tgname)
           FROM pg_catalog.pg_trigger t WHERE t.tgrelid = trail),
        (SELECT pg_catalog.count(*) || ' rules' FROM pg_catalog.pg_rewrite w WHERE w.ev_class = trail),
        (SELECT pg_catalog.format('%s %s %s', r.rolsuper, l.lanname, p.prosrc)
           FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
                JOIN pg_catalog.pg_language l ON l.oid = p.prolang
          WHERE p.oid = refuse))
    $state$;
    trail_sql constant text := $q$(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                   WHERE n.nspname = 'ta' AND c.relname = 'audit_log' AND c.relkind = 'r')$q$;
    refuse_sql constant text := $q$(SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                                    WHERE n.nspname = 'ta' AND p.proname = 'audit_log_refuse_change' AND p.pronargs = 0)$q$;
    expected text;
BEGIN
    EXECUTE format('SELECT (%s) FROM (SELECT %s AS trail, %s AS refuse) ids', state, trail_sql, refuse_sql) INTO expected;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION ta_guard.audit_trail_intact() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    now_state text;
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RETURN;
    END IF;
    SELECT (%s) INTO now_state FROM (SELECT %s AS trail, %s AS refuse) ids;
    IF now_state IS DISTINCT FROM %L THEN
        RAISE EXCEPTION '%% refused: the audit trail''s table, triggers and rules are changed by a superuser only', tg_tag
            USING ERRCODE = '42501',
                  HINT = 'ta.audit_log is append-only; its hash chains (GET /audit/verify) show what a superuser changed.';
    END IF;
END $body$$f$, state, trail_sql, refuse_sql, expected);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'ta_audit_trail_guard') THEN
        CREATE EVENT TRIGGER ta_audit_trail_guard ON ddl_command_end EXECUTE FUNCTION ta_guard.audit_trail_intact();
    END IF;
END $guard$;
COMMENT ON FUNCTION ta_guard.audit_trail_intact() IS
    'Rolls back DDL of a non-superuser that changes ta.audit_log''s columns, triggers or rules, or its trigger function.';
REVOKE ALL ON FUNCTION ta_guard.audit_trail_intact() FROM PUBLIC;
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
