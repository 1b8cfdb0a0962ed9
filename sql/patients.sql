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
