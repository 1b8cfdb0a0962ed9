-- payment_date is an instant (issue 14): ISO 8601 with an offset, a naive time meaning
-- Europe/Warsaw, or a date meaning 00:00 Europe/Warsaw; answers carry an offset; date
-- filters and statistics count whole Europe/Warsaw days. The session runs in Tokyo's time
-- zone, so nothing below passes by reading times in the session's TimeZone.
SET TimeZone = 'Asia/Tokyo';
-- Creates a payment of one appointment with payment_date given as is (json), and answers the
-- instant as Warsaw's wall clock, and whether the answer was ISO 8601 with an offset.
CREATE FUNCTION regress.paid_at(patient bigint, appointment bigint, payment_date json) RETURNS text
    LANGUAGE sql AS $$
    SELECT regress.call(format($q$
        SELECT to_char((p ->> 'payment_date')::timestamptz AT TIME ZONE 'Europe/Warsaw', 'YYYY-MM-DD HH24:MI:SS.MS')
               || CASE WHEN p ->> 'payment_date' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$'
                       THEN ' ISO' ELSE ' ' || (p ->> 'payment_date') END
          FROM api.create_payment(%L) p$q$,
        json_build_object('patient_id', patient,
                          'amount', 100, 'payment_method', 'CASH', 'appointment_ids', json_build_array(appointment),
                          'payment_date', payment_date)))
$$;
-- The Warsaw wall clock of every payment a list answers, in its order.
CREATE FUNCTION regress.listed_at(q json) RETURNS text
    LANGUAGE sql AS $$
    SELECT regress.call(format($q$
        SELECT (l -> 'total')::text || ': ' || coalesce((
                   SELECT string_agg(to_char((p ->> 'payment_date')::timestamptz AT TIME ZONE 'Europe/Warsaw',
                                             'MM-DD HH24:MI'), ', ' ORDER BY n)
                     FROM json_array_elements(l -> 'payments') WITH ORDINALITY AS x(p, n)), '-')
          FROM api.list_payments(%L) l$q$, q))
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress TO regress_ta_app;
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "daty@gabinet-d.example.com", "password": "haslo-testowe"}') ->> 'email'$$);
SELECT regress.login('daty@gabinet-d.example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Pacjent Dat"}') ->> 'name'$$);
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''date''', json_build_object(
       'patient_id', (api.list_patients('{"search": "Pacjent Dat"}') -> 0 ->> 'id'), 'date', '2031-01-01'::date + d,
       'start_time', '09:00', 'end_time', '09:50', 'price', 100)))
  FROM generate_series(1, 12) d;
RESET ROLE;
SELECT id AS pd FROM ta.patients WHERE name = 'Pacjent Dat' \gset
SELECT array_agg(id ORDER BY date) AS apps FROM ta.appointments WHERE patient_id = :pd \gset
SET ROLE regress_ta_app;

-- Each form of input (what the original SPA sends: toISOString() with Z from its quick
-- payment, datetime-local without seconds from its payment form).
SELECT i, regress.paid_at(:pd, (:'apps'::bigint[])[i], v) FROM (VALUES
    (1, '"2031-01-10T07:08:51.958Z"'::json),  -- UTC, winter: Warsaw is UTC+1
    (2, '"2031-07-10T07:08:51Z"'),            -- summer: UTC+2
    (3, '"2031-01-10T09:30"'),                -- naive: Warsaw's wall clock
    (4, '"2031-07-10 09:30:15"'),
    (5, '"2031-01-10"'),                      -- a day: its midnight in Warsaw
    (6, '"2031-01-10T12:00:00+05:30"'),
    (7, '"2031-01-10T05:00:00-0300"'),
    (8, '"2031-01-10T23:30:00+01"'),
    (9, '"2031-01-10T23:30:00Z"'),            -- already the 11th in Warsaw
    (10, '"2031-01-09T23:00:00.000Z"')        -- the 10th's first instant in Warsaw
) AS t(i, v) ORDER BY i;
-- Without payment_date: now.
SELECT regress.call(format($q$SELECT abs(extract(epoch FROM (p ->> 'payment_date')::timestamptz - now())) < 1
                               FROM api.create_payment(%L) p$q$,
       json_build_object('patient_id', :pd, 'amount', 100,
                         'payment_method', 'CASH', 'appointment_ids', json_build_array((:'apps'::bigint[])[11]))));
-- Refused, nothing written: impossible dates and times, offsets beyond ±14:59, other formats.
SELECT regress.paid_at(:pd, (:'apps'::bigint[])[12], v) FROM (VALUES
    ('"2031-01-10T25:00"'::json), ('"2031-02-30T10:00Z"'), ('"2031-01-10T09:60"'), ('"2031-01-10T09:30+15:00"'),
    ('"2031-01-10T09:30:00+01:60"'), ('"10.01.2031"'), ('"2031-01-10T09:30Zx"'), ('"2031-01-10T"'), ('""'),
    ('"2031-01-10T09:30:00.1234567Z"'), ('20310110'), ('"1899-12-31"')
) AS t(v);
SELECT regress.call(format('SELECT api.unpaid_appointments(%s)', :pd)) = format('[%s]', (:'apps'::bigint[])[12]) AS only_the_last_unpaid;

-- Lists: newest first; date_from/date_to are inclusive Warsaw days.
SELECT regress.listed_at('{"date_from": "2031-01-10", "date_to": "2031-01-10"}');
SELECT regress.listed_at('{"date_from": "2031-01-11", "date_to": "2031-01-11"}');
SELECT regress.listed_at('{"date_from": "2031-07-10"}');
SELECT regress.listed_at('{"date_from": "2031-01-09", "date_to": "2031-01-09"}');
SELECT regress.call($$SELECT api.payment_statistics('{"date_from": "2031-01-10", "date_to": "2031-01-10"}')$$);
SELECT regress.call($$SELECT api.payment_statistics('{"date_from": "2031-01-11", "date_to": "2031-07-10"}') -> 'total_payments'$$);

-- PATCH: the same forms; null is refused (a payment has a date).
RESET ROLE;
SELECT id AS pay FROM ta.payments WHERE (:'apps'::bigint[])[5] = ANY (SELECT a.id FROM ta.appointments a WHERE a.payment_id = payments.id) \gset
SET ROLE regress_ta_app;
SELECT regress.call(format($q$SELECT to_char((api.update_payment(%s, %L) ->> 'payment_date')::timestamptz AT TIME ZONE 'Europe/Warsaw', 'YYYY-MM-DD HH24:MI')$q$,
                           :pay, json_build_object('payment_date', v))) FROM (VALUES ('2031-03-30T02:30'), ('2031-03-30T12:00:00.5+02:00'), ('2031-10-26')) AS t(v);
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, b)) FROM (VALUES
    ('{"payment_date": null}'), ('{"payment_date": "jutro"}'), ('{"payment_date": 5}')
) AS t(b);
RESET ROLE;
SELECT to_char(payment_date AT TIME ZONE 'Europe/Warsaw', 'YYYY-MM-DD HH24:MI') AS stored FROM ta.payments WHERE id = :pay;
RESET TimeZone;
