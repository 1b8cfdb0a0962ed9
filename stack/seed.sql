-- The demo practice of `make up`: terapeuta@example.com / haslo123, a few patients,
-- this week's appointments, notes and one payment. Written through the api, so the
-- same rules apply as to any client.
SELECT api.register('{"email": "terapeuta@example.com", "password": "haslo123"}');
SELECT set_config('request.jwt',
                  api.login('{"username": "terapeuta@example.com", "password": "haslo123"}') ->> 'access_token', false);
-- The seed's own queries read the practice's rows too (as the owner, row-level security binds them):
-- the verified claims, as ta.caller() sets them inside each api call.
SELECT set_config('request.jwt.claims', ta.jwt_verify(current_setting('request.jwt'), s.jwt_secret)::text, false)
  FROM ta.settings s;

SELECT api.create_patient(json_build_object('name', name, 'phone', phone, 'email', email, 'notes', notes))
  FROM (VALUES
    ('Anna Kowalska', '+48 600 100 200', 'anna.kowalska@example.com', 'Terapia poznawczo-behawioralna, co tydzień.'),
    ('Jan Nowak', '+48 601 200 300', NULL, NULL),
    ('Maria Wiśniewska', '+48 602 300 400', 'maria.w@example.com', 'Konsultacja wstępna odbyta.'),
    ('Piotr Wójcik', NULL, 'piotr.wojcik@example.com', NULL),
    ('Katarzyna Kamińska', '+48 604 500 600', NULL, 'Preferuje wizyty popołudniowe.')
  ) AS p(name, phone, email, notes);

-- Monday to Friday of the current week, one or two sessions a day.
SELECT api.create_appointment(json_build_object(
           'patient_id', p.id, 'date', date_trunc('week', current_date)::date + s.day,
           'start_time', s.start_time, 'end_time', s.end_time, 'price', s.price))
  FROM (VALUES (0, 'Anna Kowalska', '09:00', '09:50', 180),
               (0, 'Jan Nowak', '10:00', '10:50', 160),
               (1, 'Maria Wiśniewska', '12:00', '12:50', 200),
               (2, 'Anna Kowalska', '09:00', '09:50', 180),
               (2, 'Piotr Wójcik', '16:00', '16:50', 160),
               (3, 'Katarzyna Kamińska', '17:00', '17:50', 170),
               (4, 'Jan Nowak', '10:00', '10:50', 160)) AS s(day, patient, start_time, end_time, price)
  JOIN ta.patients p ON p.name = s.patient AND p.practice_id = (SELECT u.practice_id FROM ta.users u WHERE u.email = 'terapeuta@example.com');

SELECT api.create_session_note(json_build_object('patient_id', p.id, 'content', n.content))
  FROM (VALUES ('Anna Kowalska', 'Pierwsza sesja: omówienie celów terapii, praca nad dziennikiem myśli.'),
               ('Jan Nowak', 'Pacjent zgłasza poprawę snu. Kontynuujemy techniki relaksacyjne.')) AS n(patient, content)
  JOIN ta.patients p ON p.name = n.patient AND p.practice_id = (SELECT u.practice_id FROM ta.users u WHERE u.email = 'terapeuta@example.com');

SELECT api.create_payment(json_build_object(
           'patient_id', p.id, 'amount', 360, 'payment_method', 'TRANSFER',
           'description', 'Dwie sesje', 'appointment_ids', (
               SELECT json_agg(a.id) FROM ta.appointments a WHERE a.patient_id = p.id)))
  FROM ta.patients p WHERE p.name = 'Anna Kowalska' AND p.practice_id = (SELECT u.practice_id FROM ta.users u WHERE u.email = 'terapeuta@example.com');
