-- Issue 14, parity with the original SPA: payment_date is an instant, a paid appointment can be
-- deleted (its payment keeps the amount and records it), and archiving a patient takes their
-- appointments, notes and payments along, which POST /patients/{id}/restore brings back.

-- payment_date becomes a timestamp: these read its input and draw the Europe/Warsaw days of
-- the date filters; field_day (the date part only) has no caller left.
DROP FUNCTION ta.field_day(json, text);

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
-- 1.0 left live, and they stay so (no one's accounts change by upgrading). Row-level security
-- binds the owner, who runs the plain-SQL upgrade, so it is lifted for these statements only.
ALTER TABLE ta.patients NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ta.appointments NO FORCE ROW LEVEL SECURITY;
ALTER TABLE ta.session_notes NO FORCE ROW LEVEL SECURITY;
UPDATE ta.appointments a SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = a.patient_id AND p.deleted_at IS NOT NULL
   AND a.deleted_at = p.deleted_at AND a.deleted_by IS NOT DISTINCT FROM p.deleted_by;
UPDATE ta.session_notes n SET archived_with_patient = true
  FROM ta.patients p
 WHERE p.id = n.patient_id AND p.deleted_at IS NOT NULL
   AND n.deleted_at = p.deleted_at AND n.deleted_by IS NOT DISTINCT FROM p.deleted_by;
ALTER TABLE ta.patients FORCE ROW LEVEL SECURITY;
ALTER TABLE ta.appointments FORCE ROW LEVEL SECURITY;
ALTER TABLE ta.session_notes FORCE ROW LEVEL SECURITY;

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
            ta.field_text(body, 'payment_method'), ta.field_text(body, 'description'),
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
                              ELSE ta.field_text(body, 'payment_method') END,
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
-- is_paid is not set by hand: it follows from payments. A client may send what its form
-- holds: the original SPA sends is_paid: false with every create and every edit, a paid
-- visit's too, so false changes nothing; true on an unpaid one is refused (add a payment).
CREATE OR REPLACE FUNCTION ta.check_is_paid(body json, paid boolean) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF ta.field_bool(body, 'is_paid') AND NOT paid THEN
        PERFORM ta.raise('P0001', 'Wizytę oznacza się jako opłaconą, dodając płatność', 'is_paid');
    END IF;
END $$;

-- A paid appointment is deleted out of its payment instead of refusing (400 in 1.0).

-- A paid appointment leaves its payment, which keeps its amount (the money was received) and
-- records the appointment in deleted_appointment_ids. Locks go payment first, then the
-- appointment, as in update_payment and delete_payment, so the two never wait on each other.
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

-- Archives the patient with their live appointments, notes and payments, marked as archived
-- with the patient so that restore_patient brings back exactly these (rows archived on
-- their own before stay archived). Payments keep their appointments linked.
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
            ON other.practice_id = a.practice_id AND other.deleted_at IS NULL
           AND tsrange(other.date + other.start_time, other.date + other.end_time)
               && tsrange(a.date + a.start_time, a.date + a.end_time)
         WHERE a.patient_id = restore_patient.id AND a.archived_with_patient;
        PERFORM ta.raise('P0001', 'Nie można przywrócić pacjenta: jego wizyty kolidują z innymi wizytami'
                                  || coalesce(' w dniach: ' || taken, ''));
    END;
    PERFORM ta.audit(uid, 'update', ARRAY[p.id]);
    RETURN row_to_json(ta.patient_out(p));
END $$;
COMMENT ON FUNCTION api.restore_patient(bigint) IS
    'POST /patients/{id}/restore: the archived patient with exactly the rows archived with them.';
