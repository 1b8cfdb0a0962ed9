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

