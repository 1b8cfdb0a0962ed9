-- Deleting (issue 14): a paid appointment leaves its payment, which keeps its amount and
-- records it; archiving a patient takes their appointments, notes and payments along, out of
-- every list and statistic, in one transaction; restoring brings back exactly those rows.
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "archiwum@gabinet-r.example.com", "password": "haslo-testowe"}') ->> 'email'$$);
SELECT regress.login('archiwum@gabinet-r.example.com');
SELECT regress.call($$SELECT api.create_patient('{"name": "Piotr Archiwalny"}') ->> 'name'$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Kinga Zostaje"}') ->> 'name'$$);
RESET ROLE;
SELECT id AS p FROM ta.patients WHERE name = 'Piotr Archiwalny' \gset
SELECT id AS k FROM ta.patients WHERE name = 'Kinga Zostaje' \gset
SELECT id AS zofia FROM ta.patients WHERE name = 'Zofia Nowak' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''date''', json_build_object('patient_id', who,
       'date', '2032-05-0' || d, 'start_time', '10:00', 'end_time', '10:50', 'price', 150)))
  FROM (VALUES (:p, 1), (:p, 2), (:p, 3), (:p, 4), (:p, 5), (:k, 6)) AS t(who, d);
RESET ROLE;
SELECT id AS a1 FROM ta.appointments WHERE patient_id = :p AND date = '2032-05-01' \gset
SELECT id AS a2 FROM ta.appointments WHERE patient_id = :p AND date = '2032-05-02' \gset
SELECT id AS a3 FROM ta.appointments WHERE patient_id = :p AND date = '2032-05-03' \gset
SELECT id AS a4 FROM ta.appointments WHERE patient_id = :p AND date = '2032-05-04' \gset
SELECT id AS a5 FROM ta.appointments WHERE patient_id = :p AND date = '2032-05-05' \gset
SELECT id AS k1 FROM ta.appointments WHERE patient_id = :k \gset
SET ROLE regress_ta_app;
-- Piotr: a1 and a2 paid together (300), a5 paid and that payment deleted on its own, a4
-- deleted on its own, a3 unpaid; one live note (on a1) and one deleted on its own.
-- Kinga: k1 paid.
SELECT regress.call(format('SELECT api.create_payment(%L) ->> ''amount''', b)) FROM (VALUES
    (json_build_object('patient_id', :p, 'amount', 300, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1, :a2), 'payment_date', '2032-05-02T12:00:00Z')),
    (json_build_object('patient_id', :p, 'amount', 150, 'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:a5))),
    (json_build_object('patient_id', :k, 'amount', 150, 'payment_method', 'TRANSFER', 'appointment_ids', json_build_array(:k1), 'payment_date', '2032-05-06'))
) AS t(b);
SELECT regress.call(format('SELECT api.create_session_note(%L) ->> ''content''', json_build_object('patient_id', :p, 'content', c)))
  FROM (VALUES ('Notatka zostaje'), ('Notatka usunięta wcześniej')) AS t(c);
RESET ROLE;
SELECT id AS pay1 FROM ta.payments WHERE patient_id = :p AND amount = 300 \gset
SELECT id AS pay2 FROM ta.payments WHERE patient_id = :p AND amount = 150 \gset
SELECT id AS payk FROM ta.payments WHERE patient_id = :k \gset
SELECT id AS n1 FROM ta.session_notes WHERE content = 'Notatka zostaje' \gset
SELECT id AS n2 FROM ta.session_notes WHERE content = 'Notatka usunięta wcześniej' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.update_appointment(%s, %L) ->> ''session_note_id'' = ''%s''', :a1, json_build_object('session_note_id', :n1), :n1));
SELECT regress.call(format('SELECT api.delete_payment(%s) ->> ''detail''', :pay2));
SELECT regress.call(format('SELECT api.delete_appointment(%s) ->> ''detail''', :a4));
SELECT regress.call(format('SELECT api.delete_session_note(%s) ->> ''detail''', :n2));

-- A paid appointment is deleted: 200, archived, out of its payment, which keeps its amount.
SELECT regress.call(format('SELECT api.delete_appointment(%s)', :a2));
SELECT regress.call(format('SELECT api.get_appointment(%s)', :a2));
SELECT regress.call(format('SELECT api.delete_appointment(%s)', :a2));
SELECT regress.call(format($q$SELECT json_build_object('amount', p -> 'amount', 'appointments', (SELECT json_agg(a -> 'id') FROM json_array_elements(p -> 'appointments') a)::text = '[%s]')
                              FROM api.get_payment(%s) p$q$, :a1, :pay1));
SELECT regress.call(format('SELECT api.unpaid_appointments(%s)', :p)) = format('[%s, %s]', :a3, :a5) AS a3_a5_unpaid;
-- The payment goes on as a payment of a1: edits work, the deleted one cannot be linked again.
SELECT regress.call(format('SELECT api.update_payment(%s, %L) ->> ''description''', :pay1, '{"description": "Za dwie sesje, jedna odwołana"}'));
SELECT regress.call(format('SELECT api.update_payment(%s, %L)', :pay1, json_build_object('appointment_ids', json_build_array(:a1, :a2))));
RESET ROLE;
SELECT deleted_appointment_ids = ARRAY[:a2]::bigint[] AS recorded, amount FROM ta.payments WHERE id = :pay1;
SELECT deleted_at IS NOT NULL AS archived, payment_id IS NULL AS unlinked, archived_with_patient FROM ta.appointments WHERE id = :a2;
-- A payment whose last appointment is deleted still lists none and keeps its amount.
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.delete_appointment(%s) ->> ''detail''', :k1));
SELECT regress.call(format($q$SELECT json_build_object('amount', p -> 'amount', 'appointments', p -> 'appointments') FROM api.get_payment(%s) p$q$, :payk));
SELECT regress.call(format('SELECT api.update_payment(%s, %L) ->> ''amount''', :payk, '{"amount": 140}'));

-- Every row of Piotr's, as the superuser sees it: archived, archived with him, paid.
\set piotr_rows 'SELECT ''appointment'' AS row, to_char(date, ''YYYY-MM-DD'') AS which, deleted_at IS NOT NULL AS archived, archived_with_patient, payment_id IS NOT NULL AS paid FROM ta.appointments WHERE patient_id = ' :p ' UNION ALL SELECT ''note'', content, deleted_at IS NOT NULL, archived_with_patient, NULL FROM ta.session_notes WHERE patient_id = ' :p ' UNION ALL SELECT ''payment'', amount::text, deleted_at IS NOT NULL, archived_with_patient, NULL FROM ta.payments WHERE patient_id = ' :p ' ORDER BY 1, 2;'
-- Archiving Piotr: everything of his leaves the lists, the statistics and the unpaid list.
\set totals 'SELECT regress.call($$SELECT json_build_object(''patients'', json_array_length(api.list_patients(''{}'')), ''appointments'', json_array_length(api.list_appointments(''{}'')), ''notes'', json_array_length(api.list_session_notes(''{}'')), ''payments'', api.list_payments(''{}'') -> ''total'', ''statistics'', api.payment_statistics(''{}'') -> ''total_amount'')$$);'
:totals
SELECT regress.call(format('SELECT api.delete_patient(%s)', :p));
:totals
SELECT regress.call(format('SELECT api.get_payment(%s)', :pay1));
SELECT regress.call(format('SELECT api.get_appointment(%s)', :a1));
SELECT regress.call(format('SELECT api.get_session_note(%s)', :n1));
SELECT regress.call(format('SELECT api.unpaid_appointments(%s)', :p));
SELECT regress.call(format('SELECT api.list_payments(%L) -> ''total''', json_build_object('patient_id', :p::text)));
-- The export still holds every stored row of his (the right of access), archived ones too.
SELECT regress.call(format($q$SELECT json_build_object('appointments', json_array_length(e -> 'appointments'), 'notes', json_array_length(e -> 'session_notes'), 'payments', json_array_length(e -> 'payments'))
                              FROM api.export_patient(%s) e$q$, :p));
RESET ROLE;
:piotr_rows
-- Rows archived with a patient are archived: the table refuses the mark on a live row.
\set VERBOSITY terse
UPDATE ta.payments SET deleted_at = NULL WHERE id = :pay1;
\set VERBOSITY default

-- Restore: only an archived patient of this practice.
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.restore_patient(%s)', :k));
SELECT regress.call('SELECT api.restore_patient(999999)');
SELECT regress.call(format('SELECT api.restore_patient(%s)', :zofia));
-- Kinga was booked into a3's slot meanwhile: the restore is refused whole, naming the day.
SELECT regress.call(format('SELECT api.create_appointment(%L) ->> ''date''', json_build_object('patient_id', :k, 'date', '2032-05-03', 'start_time', '10:30', 'end_time', '11:00', 'price', 100)));
SELECT regress.call(format('SELECT api.restore_patient(%s)', :p));
:totals
RESET ROLE;
SELECT id AS k2 FROM ta.appointments WHERE patient_id = :k AND date = '2032-05-03' \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.delete_appointment(%s) ->> ''detail''', :k2));
-- Now it comes back: the patient, a1 (still paid by pay1), a3, the note on a1, pay1 in the
-- statistics again; what was deleted on its own (a2, a4, a5's payment, the other note) stays so.
SELECT regress.audit_mark() AS mark \gset
SELECT regress.call(format('SELECT api.restore_patient(%s)::jsonb - ''id''', :p));
SELECT action, patients FROM regress.audit_since(:mark);
:totals
SELECT regress.call(format('SELECT api.get_appointment(%s) -> ''is_paid''', :a1));
SELECT regress.call(format('SELECT api.get_appointment(%s) ->> ''session_note_id'' = ''%s''', :a1, :n1));
SELECT regress.call(format('SELECT json_array_length(api.get_payment(%s) -> ''appointments'')', :pay1));
SELECT regress.call(format('SELECT api.unpaid_appointments(%s)', :p)) = format('[%s, %s]', :a3, :a5) AS a3_a5_unpaid;
SELECT regress.call(format('SELECT api.restore_patient(%s)', :p));
RESET ROLE;
:piotr_rows
