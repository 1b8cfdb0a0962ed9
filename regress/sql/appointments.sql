-- Appointments: booking, the overlap rule (per practice, touching ends allowed), prices,
-- times as HH:MM or HH:MM:SS, date filters, updates and archiving.
SELECT id AS jan FROM ta.patients WHERE name = 'Jan Kowalski' \gset
SELECT id AS ewa FROM ta.patients WHERE name = 'Ewa Lis' \gset
\set book 'SELECT regress.call(format(''SELECT api.create_appointment(%L)'', '
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
:book json_build_object('patient_id', :jan, 'date', '2030-01-07', 'start_time', '10:00', 'end_time', '10:50', 'price', 150)));
:book json_build_object('patient_id', :jan, 'date', '2030-01-07', 'start_time', '10:50:00', 'end_time', '11:40:00', 'price', '160.50')));
-- Overlaps: inside, around, same start, across the end; another patient of the same practice too.
:book json_build_object('patient_id', :jan, 'date', '2030-01-07', 'start_time', '10:10', 'end_time', '10:20', 'price', 150)));
:book json_build_object('patient_id', :ewa, 'date', '2030-01-07', 'start_time', '09:30', 'end_time', '12:00', 'price', 150)));
:book json_build_object('patient_id', :ewa, 'date', '2030-01-07', 'start_time', '10:00', 'end_time', '10:30', 'price', 150)));
:book json_build_object('patient_id', :ewa, 'date', '2030-01-07', 'start_time', '11:39', 'end_time', '12:30', 'price', 150)));
-- Touching ends and other days are fine.
:book json_build_object('patient_id', :ewa, 'date', '2030-01-07', 'start_time', '09:10', 'end_time', '10:00', 'price', 99.99)));
:book json_build_object('patient_id', :ewa, 'date', '2030-01-08', 'start_time', '10:00', 'end_time', '10:50', 'price', 150)));

-- Refused input: price missing, zero, negative, 3 decimals, text; end not after start;
-- bad dates and times; unknown patient; is_paid set by hand.
SELECT regress.call(format('SELECT api.create_appointment(%L)', b)) FROM (VALUES
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00')),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 0)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', -10)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 10.005)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 'sto')),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', true)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 1e12)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '11:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '11:00', 'end_time', '10:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-30', 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '01.02.2030', 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '25:00', 'end_time', '26:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', 999999, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', 'abc', 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100, 'is_paid', true)),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100, 'is_paid', 'tak')),
    (json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100, 'session_note_id', 999999))
) AS t(b);
-- is_paid: false is what it already is: accepted.
:book json_build_object('patient_id', :jan, 'date', '2030-02-01', 'start_time', '10:00', 'end_time', '11:00', 'price', 100, 'is_paid', false)));

-- Listing: by date and time, inclusive date filters, paging, patient filter.
SELECT regress.call($$SELECT json_agg(format('%s %s-%s', a ->> 'date', a ->> 'start_time', a ->> 'end_time')) FROM json_array_elements(api.list_appointments('{}')) a$$);
SELECT regress.call($$SELECT json_agg(format('%s %s', a ->> 'date', a ->> 'start_time')) FROM json_array_elements(api.list_appointments('{"date_from": "2030-01-08", "date_to": "2030-01-08"}')) a$$);
SELECT regress.call($$SELECT json_agg(format('%s %s', a ->> 'date', a ->> 'start_time')) FROM json_array_elements(api.list_appointments('{"date_to": "2030-01-07", "skip": "1", "limit": "2"}')) a$$);
SELECT regress.call(format('SELECT json_array_length(api.list_appointments(%L))', json_build_object('patient_id', :ewa::text)));
-- The patient filter with dates and paging (a statement of its own in list_appointments), then without a patient.
SELECT regress.call(format($q$SELECT json_agg(format('%%s %%s %%s', a ->> 'date', a ->> 'start_time', a ->> 'patient_id' = %L)) FROM json_array_elements(api.list_appointments(%L)) a$q$,
                           :ewa, json_build_object('patient_id', :ewa::text, 'date_from', '2030-01-07', 'date_to', '2030-02-01', 'skip', '1', 'limit', '2')));
SELECT regress.call($$SELECT json_agg(format('%s %s', a ->> 'date', a ->> 'start_time')) FROM json_array_elements(api.list_appointments('{"date_from": "2030-01-07", "skip": "3", "limit": "5"}')) a$$);
SELECT regress.call($$SELECT api.list_appointments('{"date_from": "2030-13-01"}')$$);
SELECT regress.call($$SELECT api.list_appointments('{"date_to": "jutro"}')$$);

-- Update: move, reprice, overlap refused, unknown id.
RESET ROLE;
SELECT id AS first FROM ta.appointments WHERE date = '2030-01-07' AND start_time = '10:00' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, '{"price": 175, "start_time": "10:05"}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, '{"start_time": "11:00", "end_time": "11:30"}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, '{"end_time": "09:00"}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, '{"price": null}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, json_build_object('patient_id', 999999)));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :first, '{"date": "2030-01-09", "start_time": "08:00", "end_time": "08:50"}'));
SELECT regress.call($$SELECT api.update_appointment(999999, '{"price": 10}')$$);
SELECT regress.call(format('SELECT api.get_appointment(%s)', :first));
SELECT regress.call($$SELECT api.get_appointment(999999)$$);

-- Archive: gone, and the slot is free again.
SELECT regress.call(format('SELECT api.delete_appointment(%s)', :first));
SELECT regress.call(format('SELECT api.delete_appointment(%s)', :first));
SELECT regress.call(format('SELECT api.get_appointment(%s)', :first));
:book json_build_object('patient_id', :ewa, 'date', '2030-01-09', 'start_time', '08:00', 'end_time', '08:50', 'price', 150)));
RESET ROLE;
SELECT date, start_time, deleted_at IS NOT NULL AS archived FROM ta.appointments WHERE id = :first;
