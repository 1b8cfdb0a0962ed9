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
-- The page comes sorted from the subquery, which json_agg reads in that order (no second sort).
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
        SELECT coalesce(json_agg(ta.appointment_out(a)), '[]'), array_agg(DISTINCT a.patient_id) INTO result, ids
          FROM (SELECT * FROM ta.appointments a
                 WHERE a.deleted_at IS NULL AND a.date BETWEEN date_from AND date_to
                   AND (statuses IS NULL OR a.status = ANY (statuses))
                 ORDER BY a.date, a.start_time, a.id OFFSET skip LIMIT lim) a;
    ELSE
        SELECT coalesce(json_agg(ta.appointment_out(a)), '[]'), array_agg(DISTINCT a.patient_id) INTO result, ids
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
