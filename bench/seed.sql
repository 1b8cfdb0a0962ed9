-- The benchmark's data, written as the superuser with generate_series (through the api it
-- would take hours): practice 1 is the busy one (100 patients, a year of weekday sessions,
-- a note per past session, most of them paid); practices 2 .. 1 + :others have 10 patients
-- and :per_practice appointments each. Run by bench/run.sh into a fresh database with the
-- extension installed; psql variables: others, per_practice, password_hash, version.
--
-- What the rules need, and how the rows keep them:
-- - no two live appointments of a practice overlap: one practice's slots are distinct
--   (day, hour) pairs of 50 minutes starting on the hour;
-- - is_paid is true exactly when a payment links the appointment: a payment is made for
--   each paid appointment (same id, same patient and practice, amount = price);
-- - foreign keys: every row names a patient of its own practice.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
BEGIN;
CREATE SCHEMA bench;
CREATE TABLE bench.seed (version integer NOT NULL, seeded_on date NOT NULL, others integer NOT NULL,
                         max_payment_id bigint NOT NULL, max_appointment_id bigint NOT NULL);
CREATE SEQUENCE bench.pool_slot;  -- slots of the appointments POST /payments pays, from 2500-01-01 on

INSERT INTO ta.practices (id, name)
SELECT p, CASE WHEN p = 1 THEN 'Gabinet (busy)' ELSE 'Gabinet ' || p END FROM generate_series(1, 1 + :others) p;
-- One bcrypt hash for every account: computing 1,001 of them would take a minute.
INSERT INTO ta.users (id, practice_id, email, password_hash)
SELECT p, p, 'bench-' || p || '@example.com', :'password_hash' FROM generate_series(1, 1 + :others) p;

-- Patients 1..100 belong to practice 1; practice p > 1 has 100 + (p - 2) * 10 + 1 .. + 10.
INSERT INTO ta.patients (id, practice_id, name, phone, email, notes)
SELECT i, 1, 'Pacjent ' || i, '+48 600 ' || lpad(i::text, 3, '0') || ' 000', 'pacjent' || i || '@example.com',
       CASE WHEN i % 3 = 0 THEN 'Terapia poznawczo-behawioralna, co tydzień. Pacjent ' || i END
  FROM generate_series(1, 100) i;
INSERT INTO ta.patients (id, practice_id, name, phone, email)
SELECT 100 + (p - 2) * 10 + k, p, 'Pacjent ' || k || ' gabinetu ' || p, '+48 700 ' || lpad(k::text, 3, '0') || ' 000',
       'p' || k || '.g' || p || '@example.com'
  FROM generate_series(2, 1 + :others) p, generate_series(1, 10) k;

-- Every appointment first, numbered: practice 1's in id order, then the others'.
CREATE TEMP TABLE slot ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY d, h) AS id, 1::bigint AS practice_id,
       1 + (row_number() OVER (ORDER BY d, h) * 7) % 100 AS patient_id, d::date AS date, h
  FROM generate_series(current_date - 300, current_date + 64, interval '1 day') d, generate_series(8, 15) h
 WHERE extract(isodow FROM d) < 6;
INSERT INTO slot
SELECT (SELECT max(id) FROM slot) + (p - 2)::bigint * :per_practice + k + 1, p,
       100 + (p - 2) * 10 + 1 + k % 10, current_date - 100 + k / 8, 8 + k % 8
  FROM generate_series(2, 1 + :others) p, generate_series(0, :per_practice - 1) k;

INSERT INTO ta.payments (id, practice_id, patient_id, amount, payment_method, description, payment_date, created_at,
                         updated_at)
SELECT id, practice_id, patient_id, 150 + patient_id % 5 * 10, (CASE WHEN id % 3 = 0 THEN 'CASH' ELSE 'TRANSFER' END)::ta.payment_method,
       'Wizyta ' || date, date, date + make_time(h, 50, 0), date + make_time(h, 50, 0)
  FROM slot WHERE date < current_date AND id % 7 <> 0;
INSERT INTO ta.appointments (id, practice_id, patient_id, date, start_time, end_time, price, payment_id, created_at)
SELECT s.id, s.practice_id, s.patient_id, s.date, make_time(s.h, 0, 0), make_time(s.h, 50, 0),
       150 + s.patient_id % 5 * 10, pay.id, s.date - 7
  FROM slot s LEFT JOIN ta.payments pay ON pay.id = s.id;

INSERT INTO ta.session_notes (practice_id, patient_id, content, created_at)
SELECT practice_id, patient_id, 'Sesja ' || date || ': omówiono postępy, zadanie domowe na kolejny tydzień. '
       || repeat('Notatka terapeutyczna. ', 10), date + make_time(h, 55, 0)
  FROM slot WHERE practice_id = 1 AND date < current_date;
INSERT INTO ta.session_notes (practice_id, patient_id, content)
SELECT practice_id, id, 'Konsultacja wstępna.' FROM ta.patients WHERE practice_id > 1;

-- The identities continue after the explicit ids.
SELECT format('SELECT setval(pg_get_serial_sequence(%L, ''id''), (SELECT max(id) FROM %s))', 'ta.' || t, 'ta.' || t)
  FROM unnest(ARRAY['practices', 'users', 'patients', 'payments', 'appointments', 'session_notes']) t \gexec
INSERT INTO bench.seed
SELECT :version, current_date, :others, (SELECT max(id) FROM ta.payments), (SELECT max(id) FROM ta.appointments);
COMMIT;
VACUUM (ANALYZE) ta.practices, ta.users, ta.patients, ta.payments, ta.appointments, ta.session_notes;
