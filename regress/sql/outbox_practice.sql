-- The practice of an outbox row is its appointment's (issue 17): a reminder naming one practice,
-- that practice's patient and another practice's appointment is refused (a foreign key, so also
-- for a superuser). Before 1.2 only the patient's practice was checked, and such a row went in.
SELECT a.id AS appt, a.practice_id AS appt_practice FROM ta.appointments a ORDER BY a.id LIMIT 1 \gset
SELECT p.id AS other_patient, p.practice_id AS other_practice FROM ta.patients p
 WHERE p.practice_id <> :appt_practice ORDER BY p.id LIMIT 1 \gset
\set VERBOSITY terse
INSERT INTO ta.outbox (practice_id, channel, appointment_id, patient_id, starts_at, send_at)
VALUES (:other_practice, 'sms', :appt, :other_patient, '2030-01-01 10:00+01', '2030-01-01 09:00+01');
\set VERBOSITY default
SELECT count(*) AS rows_of_another_practice FROM ta.outbox o JOIN ta.appointments a ON a.id = o.appointment_id
 WHERE a.practice_id <> o.practice_id;
