-- Scheduling: appointment status and cancellations (late ones computed from the
-- practice's settings), what is due and can be paid, Polish public holidays, recurring
-- series (all or nothing, every collision reported), and the statistics of statuses.
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "grafik@gabinet-c.example.com", "password": "haslo-testowe"}') ->> 'email'$$);
SELECT regress.login('grafik@gabinet-c.example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Anna Kowalska"}') ->> 'name'$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Łucja Żak-Nowak"}') ->> 'name'$$);
SELECT (api.list_patients('{}') -> 0 ->> 'id') AS anna, (api.list_patients('{}') -> 1 ->> 'id') AS lucja \gset
\set book 'SELECT regress.call(format(''SELECT api.create_appointment(%L) ->> ''''id'''''', '
\set put 'SELECT regress.call(format(''SELECT json_build_array(a ->> ''''status'''', a ->> ''''cancel_reason'''', a ->> ''''late_cancellation'''') FROM api.update_appointment(%s, %L) a'', '

-- Settings: defaults, a change, every refusal (nothing changes).
SELECT regress.call('SELECT api.get_settings()');
SELECT regress.call($$SELECT api.update_settings('{"late_cancel_hours": 48}')$$);
SELECT regress.call(format('SELECT api.update_settings(%L)', b)) FROM (VALUES
    ('{"late_cancel_hours": 169}'), ('{"late_cancel_hours": -1}'), ('{"late_cancel_hours": "dużo"}'),
    ('{"late_cancel_hours": 1.5}'), ('{"timezone": "UTC"}'), ('{"timezone": 5}'), ('[]')) t(b);
SELECT regress.call($$SELECT api.update_settings('{"late_cancel_hours": 24, "timezone": "Europe/Warsaw"}')$$);
SELECT regress.call('SELECT api.get_settings()');

-- Status: every appointment starts scheduled; each status and reason; refusals.
:book json_build_object('patient_id', :anna, 'date', '2030-03-04', 'start_time', '10:00', 'end_time', '10:50', 'price', 150)));
SELECT (api.list_appointments('{"date_from": "2030-03-04", "date_to": "2030-03-04"}') -> 0 ->> 'id') AS a1 \gset
SELECT regress.call(format('SELECT api.get_appointment(%s)', :a1));
:put :a1, '{"status": "completed"}'));
:put :a1, '{"status": "no_show"}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :a1, b)) FROM (VALUES
    ('{"status": "done"}'), ('{"status": 1}'), ('{"status": "cancelled"}'), ('{"status": "cancelled", "cancel_reason": "weather"}'),
    ('{"status": "completed", "cancel_reason": "patient"}'), ('{"cancel_reason": "patient"}'), ('{"status": "CANCELLED", "cancel_reason": "patient"}')) t(b);
SELECT regress.call(format('SELECT api.get_appointment(%s) ->> ''status''', :a1));
-- Cancelled by the patient well ahead (2030): on time, not due; the slot is free again.
:put :a1, '{"status": "cancelled", "cancel_reason": "patient"}'));
SELECT regress.call(format('SELECT api.unpaid_appointments(%s)', :anna));
:book json_build_object('patient_id', :lucja, 'date', '2030-03-04', 'start_time', '10:30', 'end_time', '11:20', 'price', 150)));
SELECT (api.list_appointments('{"date_from": "2030-03-04", "date_to": "2030-03-04", "status": "scheduled"}') -> 0 ->> 'id') AS a2 \gset
-- It cannot come back to its taken slot, not as scheduled nor as held or missed.
:put :a1, '{"status": "scheduled"}'));
:put :a1, '{"status": "completed"}'));
:put :a1, '{"cancel_reason": "therapist"}'));
-- Once the other is cancelled, it can.
:put :a2, '{"status": "cancelled", "cancel_reason": "therapist"}'));
:put :a1, '{"status": "scheduled"}'));
-- A cancellation after the start (or within late_cancel_hours) by the patient is late, and due.
SELECT to_char(current_date - 1, 'YYYY-MM-DD') AS yesterday \gset
:book json_build_object('patient_id', :anna, 'date', :'yesterday', 'start_time', '10:00', 'end_time', '10:50', 'price', 200)));
SELECT (api.list_appointments(json_build_object('date_from', :'yesterday', 'date_to', :'yesterday')) -> 0 ->> 'id') AS late \gset
:put :late, '{"status": "cancelled", "cancel_reason": "patient"}'));
:put :late, '{"status": "cancelled", "cancel_reason": "therapist"}'));
:put :late, '{"cancel_reason": "patient"}'));
SELECT regress.call(format('SELECT json_array_length(api.unpaid_appointments(%s))', :anna));
-- Paying: a late cancellation can be paid, an on-time one cannot; a paid one cannot be
-- cancelled as not due.
SELECT regress.call(format('SELECT api.create_payment(%L) -> ''appointments'' -> 0 ->> ''id'' = %L', json_build_object('patient_id', :anna, 'amount', 200,
       'payment_method', 'CASH', 'appointment_ids', json_build_array(:late)), :late));
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :lucja, 'amount', 500,
       'payment_method', 'CASH', 'appointment_ids', json_build_array(:a2))));
:put :late, '{"cancel_reason": "therapist"}'));
:put :late, '{"status": "scheduled"}'));
SELECT regress.call(format('SELECT api.create_payment(%L) ->> ''amount''', json_build_object('patient_id', :anna, 'amount', 150,
       'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a1))));
:put :a1, '{"status": "cancelled", "cancel_reason": "patient"}'));
:put :a1, '{"status": "cancelled", "cancel_reason": "therapist"}'));
:put :a1, '{"status": "completed"}'));
-- Listing by status (comma-separated) and patient; unknown statuses refused.
SELECT regress.call(format('SELECT json_agg(a ->> ''status'' ORDER BY a ->> ''status'') FROM json_array_elements(api.list_appointments(%L)) a', q))
  FROM (VALUES ('{}'), ('{"status": "cancelled"}'), ('{"status": "completed,cancelled"}'), ('{"status": " no_show , cancelled "}'),
               ('{"status": "scheduled"}'), ('{"status": "deleted"}'), ('{"status": "completed,"}'), ('{"status": ""}')) t(q);
SELECT regress.call(format('SELECT json_array_length(api.list_appointments(%L))', json_build_object('patient_id', :lucja::text, 'status', 'cancelled')));
-- Statistics of the statuses (and what is due from late cancellations and missed sessions).
:book json_build_object('patient_id', :lucja, 'date', '2030-03-05', 'start_time', '10:00', 'end_time', '10:50', 'price', 175.5)));
SELECT regress.call(format('SELECT api.update_appointment(%s, ''{"status": "no_show"}'') ->> ''status''',
       api.list_appointments('{"date_from": "2030-03-05", "date_to": "2030-03-05"}') -> 0 ->> 'id'));
SELECT regress.call($$SELECT api.appointment_statistics('{}')$$);
SELECT regress.call($$SELECT api.appointment_statistics('{"date_from": "2030-01-01", "date_to": "2030-12-31"}')$$);
SELECT regress.call($$SELECT api.appointment_statistics('{"date_from": "wczoraj"}')$$);

RESET ROLE;
-- Polish public holidays against the published calendars of 2024-2027 (dni ustawowo wolne od
-- pracy, e.g. gov.pl's list; 24 December is one from 2025 on).
SELECT y, count(*) AS holidays,
       array_agg(day ORDER BY day) FILTER (WHERE day NOT IN (make_date(y, 1, 1), make_date(y, 1, 6), make_date(y, 5, 1), make_date(y, 5, 3),
                                                             make_date(y, 8, 15), make_date(y, 11, 1), make_date(y, 11, 11), make_date(y, 12, 24),
                                                             make_date(y, 12, 25), make_date(y, 12, 26))) AS movable
  FROM generate_series(2024, 2027) y, ta.polish_holidays(y) GROUP BY y ORDER BY y;
WITH published(day) AS (VALUES
    ('2024-01-01'::date), ('2024-01-06'), ('2024-03-31'), ('2024-04-01'), ('2024-05-01'), ('2024-05-03'), ('2024-05-19'),
    ('2024-05-30'), ('2024-08-15'), ('2024-11-01'), ('2024-11-11'), ('2024-12-25'), ('2024-12-26'),
    ('2025-01-01'), ('2025-01-06'), ('2025-04-20'), ('2025-04-21'), ('2025-05-01'), ('2025-05-03'), ('2025-06-08'),
    ('2025-06-19'), ('2025-08-15'), ('2025-11-01'), ('2025-11-11'), ('2025-12-24'), ('2025-12-25'), ('2025-12-26'),
    ('2026-01-01'), ('2026-01-06'), ('2026-04-05'), ('2026-04-06'), ('2026-05-01'), ('2026-05-03'), ('2026-05-24'),
    ('2026-06-04'), ('2026-08-15'), ('2026-11-01'), ('2026-11-11'), ('2026-12-24'), ('2026-12-25'), ('2026-12-26'),
    ('2027-01-01'), ('2027-01-06'), ('2027-03-28'), ('2027-03-29'), ('2027-05-01'), ('2027-05-03'), ('2027-05-16'),
    ('2027-05-27'), ('2027-08-15'), ('2027-11-01'), ('2027-11-11'), ('2027-12-24'), ('2027-12-25'), ('2027-12-26')),
computed AS (SELECT h.day FROM generate_series(2024, 2027) y, ta.polish_holidays(y) h)
SELECT (SELECT count(*) FROM published) AS published,
       (SELECT array_agg(day) FROM (SELECT day FROM published EXCEPT SELECT day FROM computed) m) AS missing,
       (SELECT array_agg(day) FROM (SELECT day FROM computed EXCEPT SELECT day FROM published) e) AS extra;
-- Easter Sunday of further years, from the published tables (1818 and 2285 are the extremes).
SELECT y, to_char(ta.easter_sunday(y), 'YYYY-MM-DD') AS easter_sunday FROM unnest(ARRAY[1818, 1954, 2000, 2008, 2011, 2019, 2038, 2285]) y;
SELECT ta.polish_holiday('2030-04-22') AS easter_monday_2030, ta.polish_holiday('2030-04-23') AS none, ta.polish_holiday('2010-01-06') AS epiphany_2010;

SET ROLE regress_ta_app;
-- Series: weekly from Monday 2030-04-15 (Easter Monday 2030-04-22 skipped, not counted), preview first.
\set series 'SELECT regress.call(format(''SELECT api.create_appointment_series(%L)'', '
:series json_build_object('patient_id', :anna, 'start_date', '2030-04-15', 'start_time', '12:00', 'end_time', '12:50', 'price', 160,
                          'count', 4, 'skip_holidays', true, 'dry_run', true)));
RESET ROLE;
SELECT regress.row_counts() AS before_series \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT json_build_array(s ->> ''interval_weeks'', s ->> ''skip_holidays'', (SELECT json_agg(json_build_array(a ->> ''date'', a ->> ''start_time'', a ->> ''status'', a ->> ''price'', (a ->> ''series_id'')::bigint = (s ->> ''id'')::bigint)) FROM json_array_elements(s -> ''appointments'') a)) FROM api.create_appointment_series(%L) s',
       json_build_object('patient_id', :anna, 'start_date', '2030-04-15', 'start_time', '12:00', 'end_time', '12:50', 'price', 160,
                         'count', 4, 'skip_holidays', true)));
RESET ROLE;
SELECT max(id) AS s1 FROM ta.appointment_series \gset
SET ROLE regress_ta_app;
-- Every 2 weeks until a date, holidays kept; the 201 status.
SELECT regress.call(format('SELECT json_array_length(api.create_appointment_series(%L) -> ''appointments'')',
       json_build_object('patient_id', :lucja, 'start_date', '2030-04-16', 'start_time', '08:00', 'end_time', '08:50', 'price', 100,
                         'interval_weeks', 2, 'until', '2030-06-11')));
-- Collisions: every colliding date listed, nothing created (a preview lists them too).
:series json_build_object('patient_id', :lucja, 'start_date', '2030-04-08', 'start_time', '12:30', 'end_time', '13:20', 'price', 160, 'count', 5)));
:series json_build_object('patient_id', :lucja, 'start_date', '2030-04-08', 'start_time', '12:30', 'end_time', '13:20', 'price', 160, 'count', 5, 'dry_run', true)));
-- A cancelled appointment does not collide.
SELECT regress.call(format('SELECT api.update_appointment(%s, ''{"status": "cancelled", "cancel_reason": "patient"}'') ->> ''status''',
       api.list_appointments('{"date_from": "2030-04-29", "date_to": "2030-04-29"}') -> 0 ->> 'id'));
:series json_build_object('patient_id', :lucja, 'start_date', '2030-04-29', 'start_time', '12:30', 'end_time', '13:20', 'price', 160, 'count', 1, 'dry_run', true)));
-- Refused input, nothing created.
SELECT regress.call(format('SELECT api.create_appointment_series(%L)', b::jsonb || '{"start_time": "18:00", "end_time": "18:50", "price": 100}'))
  FROM (VALUES
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 53)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 0)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 'dwa')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'until', '2031-02-01')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'until', '2031-01-05')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'until', '2032-01-08')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'until', '2031-13-01')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'interval_weeks', 5)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'interval_weeks', 0)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'skip_holidays', 'tak')),
    (json_build_object('patient_id', :anna, 'count', 3)),
    (json_build_object('patient_id', 999999, 'start_date', '2031-01-06', 'count', 3)),
    (json_build_object('start_date', '2031-01-06', 'count', 3)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-12-25', 'until', '2031-12-25', 'skip_holidays', true))) t(b);
SELECT regress.call(format('SELECT api.create_appointment_series(%L)', b)) FROM (VALUES
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'start_time', '18:00', 'end_time', '17:00', 'price', 100)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'start_time', '18:00', 'end_time', '18:50')),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'start_time', '18:00', 'end_time', '18:50', 'price', -1)),
    (json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'count', 3, 'end_time', '18:50', 'price', 100))) t(b);
SELECT regress.call('SELECT api.create_appointment_series(''"seria"'')');
RESET ROLE;
SELECT regress.row_counts() AS after_series, :'before_series' AS before_series, (SELECT count(*) FROM ta.appointment_series) AS series;
SET ROLE regress_ta_app;

-- Reading one; "this and following"; cancelling from a day.
SELECT regress.call(format('SELECT json_array_length(api.get_appointment_series(%s) -> ''appointments'')', :s1));
SELECT regress.call('SELECT api.get_appointment_series(999999)');
\set patch 'SELECT regress.call(format(''SELECT (SELECT json_agg(format(''''%%s %%s %%s'''', a ->> ''''date'''', a ->> ''''start_time'''', a ->> ''''price'''')) FROM json_array_elements(s -> ''''appointments'''') a) FROM api.update_appointment_series(%s, %L) s'', '
:patch :s1, '{"from_date": "2030-05-06", "start_time": "13:00", "end_time": "13:50", "price": 170}'));
-- A collision anywhere changes nothing; a held appointment is not moved.
:book json_build_object('patient_id', :lucja, 'date', '2030-05-13', 'start_time', '14:30', 'end_time', '15:00', 'price', 100)));
SELECT regress.call(format('SELECT api.update_appointment(%s, ''{"status": "completed"}'') ->> ''status''',
       api.list_appointments('{"date_from": "2030-04-15", "date_to": "2030-04-15"}') -> 0 ->> 'id'));
SELECT regress.call(format('SELECT api.update_appointment_series(%s, %L)', :s1, '{"from_date": "2030-04-15", "start_time": "14:00", "end_time": "14:50"}'));
:patch :s1, '{"from_date": "2030-04-15", "price": 180}'));
SELECT regress.call(format('SELECT api.update_appointment_series(%s, %L)', :s1, b)) FROM (VALUES
    ('{"start_time": "14:00"}'), ('{"from_date": "2030-04-14", "price": 1}'), ('{"from_date": "2030-05-14", "price": 1}'),
    ('{"from_date": "2030-04-30", "end_time": "09:00"}'), ('{"from_date": "2030-04-30", "price": 0}'), ('{"from_date": "30.04.2030"}'), ('[1]')) t(b);
SELECT regress.call('SELECT api.update_appointment_series(999999, ''{"from_date": "2030-04-15"}'')');
SELECT regress.call(format('SELECT api.cancel_appointment_series(%s, %L)', :s1, q)) FROM (VALUES
    ('{"from": "2030-05-06"}'), ('{"from": "2030-05-06"}'), ('{"from": "2030-01-01"}'), ('{"from": "jutro"}')) t(q);
SELECT regress.call('SELECT api.cancel_appointment_series(999999, ''{}'')');
SELECT regress.call(format('SELECT json_agg(json_build_array(a ->> ''date'', a ->> ''status'', a ->> ''cancel_reason'')) FROM json_array_elements(api.get_appointment_series(%s) -> ''appointments'') a', :s1));
-- The freed slot can be booked by a single appointment again.
:book json_build_object('patient_id', :lucja, 'date', '2030-05-06', 'start_time', '13:00', 'end_time', '13:50', 'price', 100)));
-- Without from: from today, Polish time (the series lies ahead, so all its scheduled ones).
RESET ROLE;
SELECT max(id) AS s2 FROM ta.appointment_series \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.cancel_appointment_series(%s, ''{}'')', :s2));

-- Another practice sees neither the series nor the patients.
SELECT regress.login('bruno@gabinet-b.example.com');
SELECT regress.call(format('SELECT api.get_appointment_series(%s)', :s1));
SELECT regress.call(format('SELECT api.update_appointment_series(%s, ''{"from_date": "2030-04-15", "price": 1}'')', :s1));
SELECT regress.call(format('SELECT api.cancel_appointment_series(%s, ''{}'')', :s1));
:series json_build_object('patient_id', :anna, 'start_date', '2031-01-06', 'start_time', '12:00', 'end_time', '12:50', 'price', 160, 'count', 2)));
SELECT regress.call('SELECT api.get_settings()');
RESET ROLE;
