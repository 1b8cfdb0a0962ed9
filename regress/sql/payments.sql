-- Payments: paying appointments marks them paid, the amount must cover their prices,
-- an appointment is paid by at most one payment, relinking and deleting keep is_paid
-- exactly "linked to a payment".
SELECT id AS jan FROM ta.patients WHERE name = 'Jan Kowalski' \gset
SELECT id AS ewa FROM ta.patients WHERE name = 'Ewa Lis' \gset
SET ROLE regress_ta_app;
SELECT regress.login('anna@gabinet-a.example.com');
SELECT regress.call(format('SELECT api.create_appointment(%L)', json_build_object('patient_id', :jan, 'date', '2030-04-0' || d,
       'start_time', '09:00', 'end_time', '09:50', 'price', 100 + d * 10)))
  FROM generate_series(1, 4) d;
RESET ROLE;
SELECT array_agg(id ORDER BY date) AS apps FROM ta.appointments WHERE patient_id = :jan AND date BETWEEN '2030-04-01' AND '2030-04-04' \gset
SELECT id AS ewa_app FROM ta.appointments WHERE patient_id = :ewa AND deleted_at IS NULL ORDER BY id LIMIT 1 \gset
SET ROLE regress_ta_app;
-- Which of this file's four appointments of Jan are unpaid, in date order.
\set unpaid 'SELECT regress.call(format(''SELECT json_agg(x) FROM json_array_elements_text(api.unpaid_appointments(%s)) x WHERE x::bigint = ANY (%L)'', ' :jan ', ' :'apps' '));'
\set a1 (:'apps'::bigint[])[1]
\set a2 (:'apps'::bigint[])[2]
\set a3 (:'apps'::bigint[])[3]
\set a4 (:'apps'::bigint[])[4]
:unpaid

-- 110 + 120 = 230: 229.99 is too little (message as the original prints floats).
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 229.99,
       'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1, :a2))));
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 100,
       'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1, :a2))));
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 230,
       'payment_method', 'CASH', 'description', 'Dwie sesje', 'payment_date', '2030-04-02',
       'appointment_ids', json_build_array(:a1, :a2))));
:unpaid
-- Already paid: listed like the original.
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 500,
       'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a1, :a2, :a3))));
-- Another patient's appointment, an unknown one, an unknown patient.
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 500,
       'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a3, :ewa_app))));
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 500,
       'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(999999))));
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', 999999, 'amount', 500,
       'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a3))));
-- Refused input.
SELECT regress.call(format('SELECT api.create_payment(%L)', b)) FROM (VALUES
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CARD', 'appointment_ids', json_build_array(:a3))),
    (json_build_object('patient_id', :jan, 'amount', -1, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a3))),
    (json_build_object('patient_id', :jan, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a3))),
    (json_build_object('patient_id', :jan, 'amount', 130, 'appointment_ids', json_build_array(:a3))),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH')),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH', 'appointment_ids', json_build_array())),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH', 'appointment_ids', json_build_array('x'))),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH', 'appointment_ids', 5)),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a3), 'payment_date', '2030-02-31')),
    (json_build_object('patient_id', :jan, 'amount', 130, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a3), 'payment_date', '2030-04-03xyz'))
) AS t(b);
-- A JavaScript timestamp is that instant (20:30 in Warsaw, the same day); a duplicate id counts once.
SELECT regress.call(format('SELECT api.create_payment(%L)', json_build_object('patient_id', :jan, 'amount', 130,
       'payment_method', 'TRANSFER', 'payment_date', '2030-04-03T18:30:00.000Z', 'appointment_ids', json_build_array(:a3, :a3))));
:unpaid

-- List: newest payment_date first, total before paging, filters.
SELECT regress.call($$SELECT json_build_object('total', p -> 'total', 'dates', (SELECT json_agg(x ->> 'payment_date') FROM json_array_elements(p -> 'payments') x)) FROM api.list_payments('{}') p$$);
SELECT regress.call($$SELECT json_build_object('total', p -> 'total', 'n', json_array_length(p -> 'payments')) FROM api.list_payments('{"limit": "1"}') p$$);
SELECT regress.call($$SELECT p -> 'total' FROM api.list_payments('{"payment_method": "CASH"}') p$$);
SELECT regress.call($$SELECT p -> 'total' FROM api.list_payments('{"date_from": "2030-04-03", "date_to": "2030-04-03"}') p$$);
SELECT regress.call(format('SELECT p -> %L FROM api.list_payments(%L) p', 'total', json_build_object('patient_id', :ewa::text)));
SELECT regress.call(format('SELECT api.list_payments(%L)', q)) FROM (VALUES
    ('{"limit": "0"}'), ('{"limit": "501"}'), ('{"payment_method": "CARD"}'), ('{"date_from": "x"}'), ('{"patient_id": "-1"}')
) AS t(q);
SELECT regress.call($$SELECT api.payment_statistics('{}')$$);
SELECT regress.call($$SELECT api.payment_statistics('{"date_from": "2030-04-03"}')$$);
SELECT regress.call($$SELECT api.payment_statistics('{"date_to": "2000-01-01"}')$$);

RESET ROLE;
SELECT id AS pay FROM ta.payments WHERE description = 'Dwie sesje' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.get_payment(%s)', :pay));
SELECT regress.call($$SELECT api.get_payment(999999)$$);
-- Relink: drop a2, add a4 (paid by nobody) -> a2 unpaid, a4 paid; a3 belongs to another payment.
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, json_build_object('appointment_ids', json_build_array(:a1, :a3))));
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, json_build_object('appointment_ids', json_build_array(:a1, :a4), 'amount', 250)));
SELECT regress.call(format('SELECT json_agg(a ->> ''id'') FROM json_array_elements(api.get_payment(%s) -> ''appointments'') a', :pay));
:unpaid
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, '{"amount": 100}'));
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, '{"payment_method": "CARD"}'));
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, '{"appointment_ids": []}'));
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay, '{"description": "Poprawiony opis", "payment_method": "TRANSFER"}'));
SELECT regress.call($$SELECT api.update_payment(999999, '{"amount": 1}')$$);
-- A paid appointment cannot be moved to another patient; is_paid: false (what the original
-- SPA's edit form sends) leaves it paid (deleting one: archiving.sql).
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :a1, json_build_object('patient_id', :ewa)));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :a1, '{"is_paid": false}'));
SELECT regress.call(format('SELECT api.update_appointment(%s, %L)', :a1, '{"is_paid": true, "price": 111}'));
-- Delete: archived, its appointments unpaid again.
SELECT regress.call(format('SELECT api.delete_payment(%s)', :pay));
SELECT regress.call(format('SELECT api.delete_payment(%s)', :pay));
SELECT regress.call(format('SELECT api.get_payment(%s)', :pay));
:unpaid
SELECT regress.call($$SELECT api.unpaid_appointments(999999)$$);
RESET ROLE;
SELECT deleted_at IS NOT NULL AS archived, archived_appointment_ids = ARRAY[:a1, :a4]::bigint[] AS covered_kept
  FROM ta.payments WHERE id = :pay;
-- The invariant, over every appointment: paid exactly when a live payment links it.
SELECT count(*) AS broken FROM ta.appointments a LEFT JOIN ta.payments p ON p.id = a.payment_id
 WHERE a.payment_id IS NOT NULL AND (p.id IS NULL OR p.deleted_at IS NOT NULL);
