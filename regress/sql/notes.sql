-- Session notes: per patient, newest first, edit, archive.
SELECT id AS jan FROM ta.patients WHERE name = 'Jan Kowalski' \gset
SELECT id AS ewa FROM ta.patients WHERE name = 'Ewa Lis' \gset
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
SELECT regress.call(format('SELECT api.create_session_note(%L)', json_build_object('patient_id', :jan, 'content', c)))
  FROM (VALUES ('Sesja 1: wywiad'), ('Sesja 2: cele terapii'), ('Sesja 3: ćwiczenia oddechowe')) AS t(c);
SELECT regress.call(format('SELECT api.create_session_note(%L)', json_build_object('patient_id', :ewa, 'content', 'Konsultacja')));
-- Newest first (same transaction timestamps fall back to id).
SELECT regress.call($$SELECT json_agg(n ->> 'content') FROM json_array_elements(api.list_session_notes('{}')) n$$);
SELECT regress.call(format('SELECT json_agg(n ->> ''content'') FROM json_array_elements(api.list_patient_session_notes(%s, %L)) n', :jan, '{"limit": "2"}'));
SELECT regress.call(format('SELECT json_agg(n ->> ''content'') FROM json_array_elements(api.list_patient_session_notes(%s, %L)) n', :jan, '{"skip": "2"}'));
SELECT regress.call($$SELECT api.list_patient_session_notes(999999, '{}')$$);

-- Refused input.
SELECT regress.call(format('SELECT api.create_session_note(%L)', b)) FROM (VALUES
    (json_build_object('patient_id', :jan, 'content', '')),
    (json_build_object('patient_id', :jan, 'content', '   ')),
    (json_build_object('patient_id', :jan)),
    (json_build_object('patient_id', :jan, 'content', 7)),
    (json_build_object('patient_id', 999999, 'content', 'x')),
    (json_build_object('content', 'x'))
) AS t(b);

RESET ROLE;
SELECT id AS note FROM ta.session_notes WHERE content = 'Sesja 1: wywiad' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.get_session_note(%s)', :note));
SELECT regress.call(format('SELECT api.update_session_note(%s, %L)', :note, '{"content": "Sesja 1: wywiad (uzupełniony)"}'));
SELECT regress.call(format('SELECT api.update_session_note(%s, %L)', :note, '{"content": ""}'));
SELECT regress.call($$SELECT api.update_session_note(999999, '{"content": "x"}')$$);
SELECT regress.call($$SELECT api.get_session_note(999999)$$);
-- A note linked to an appointment of its patient; unlinked when the note is archived.
SELECT regress.call(format('SELECT api.create_appointment(%L)', json_build_object('patient_id', :jan, 'date', '2030-03-04',
       'start_time', '12:00', 'end_time', '12:50', 'price', 150, 'session_note_id', :note)));
SELECT regress.call(format('SELECT api.create_appointment(%L)', json_build_object('patient_id', :ewa, 'date', '2030-03-05',
       'start_time', '12:00', 'end_time', '12:50', 'price', 150, 'session_note_id', :note)));
SELECT regress.call(format('SELECT api.delete_session_note(%s)', :note));
SELECT regress.call(format('SELECT api.delete_session_note(%s)', :note));
SELECT regress.call(format('SELECT api.get_session_note(%s)', :note));
SELECT regress.call($$SELECT json_agg(a ->> 'session_note_id') FROM json_array_elements(api.list_appointments('{"date_from": "2030-03-04", "date_to": "2030-03-04"}')) a$$);
RESET ROLE;
SELECT content, deleted_at IS NOT NULL AS archived FROM ta.session_notes WHERE id = :note;
