-- Payments: money received for one or more appointments of one patient.

-- A payment with its appointments and patient (the contract's PaymentWithPatient;
-- create and update answer it too: a superset of Payment). PL/pgSQL, whose plan the session
-- keeps: as SQL (a query, never inlined) it was planned again in every request's transaction
-- (~200 µs of each POST and PUT /payments).
CREATE FUNCTION ta.payment_json(p ta.payments) RETURNS json
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    result json;
BEGIN
    SELECT json_build_object(
        'id', p.id, 'patient_id', p.patient_id, 'amount', p.amount,
        'payment_method', p.payment_method, 'description', p.description,
        'payment_date', p.payment_date, 'created_at', p.created_at, 'updated_at', p.updated_at,
        'appointments', coalesce((
            SELECT json_agg(json_build_object('id', a.id, 'patient_id', a.patient_id, 'date', a.date,
                                              'start_time', a.start_time, 'end_time', a.end_time,
                                              'is_paid', true, 'price', a.price)
                            ORDER BY a.date, a.start_time)
              FROM ta.appointments a WHERE a.payment_id = p.id), '[]'),
        'patient_name', pt.name, 'patient_email', pt.email, 'patient_phone', pt.phone)
      INTO result
      FROM ta.patients pt WHERE pt.id = p.patient_id;
    RETURN result;
END $$;



-- Links appointment_ids to the payment (locking them), after checking that they are
-- live appointments of the patient, unpaid (or already this payment's), and that the
-- amount covers their prices. Unlinks the payment's other appointments.
-- Messages follow the original: a new payment lists every taken id, a change names the first.
CREATE FUNCTION ta.link_appointments(pay ta.payments, appointment_ids bigint[], changing boolean) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    found_count integer;
    taken bigint[];
    not_due bigint[];
    total numeric;
BEGIN
    SELECT count(*), array_agg(a.id ORDER BY a.id) FILTER (WHERE a.payment_id <> pay.id),
           array_agg(a.id ORDER BY a.id) FILTER (WHERE NOT ta.is_due(a)), coalesce(sum(a.price), 0)
      INTO found_count, taken, not_due, total
      FROM (SELECT * FROM ta.appointments a
             WHERE a.id = ANY (appointment_ids) AND a.patient_id = pay.patient_id AND a.deleted_at IS NULL
             ORDER BY a.id FOR UPDATE) a;
    IF found_count <> cardinality(appointment_ids) THEN
        PERFORM ta.raise('P0001', 'Niektóre wizyty nie istnieją lub nie należą do tego pacjenta', 'appointment_ids');
    ELSIF cardinality(not_due) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyty o ID [%s] zostały odwołane bez opłaty i nie są należne',
                                         array_to_string(not_due, ', ')), 'appointment_ids');
    ELSIF changing AND cardinality(taken) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyta o ID %s jest już opłacona', taken[1]), 'appointment_ids');
    ELSIF cardinality(taken) > 0 THEN
        PERFORM ta.raise('P0001', format('Wizyty o ID [%s] są już opłacone', array_to_string(taken, ', ')),
                         'appointment_ids');
    ELSIF pay.amount < total THEN
        PERFORM ta.raise('P0001', format('Kwota płatności (%s PLN) jest mniejsza niż suma cen wybranych wizyt (%s PLN)',
                                         ta.money_text(pay.amount), ta.money_text(total)), 'amount');
    END IF;
    UPDATE ta.appointments SET payment_id = NULL
     WHERE payment_id = pay.id AND NOT (id = ANY (appointment_ids));
    UPDATE ta.appointments SET payment_id = pay.id
     WHERE id = ANY (appointment_ids) AND payment_id IS NULL;
END $$;

CREATE FUNCTION api.create_payment(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    pay ta.payments;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    PERFORM ta.require_patient(ta.field_id(body, 'patient_id'));
    ids := ta.field_ids(body, 'appointment_ids');
    IF ids IS NULL THEN
        PERFORM ta.raise('22023', 'Wybierz co najmniej jedną wizytę', 'appointment_ids');
    END IF;
    INSERT INTO ta.payments (practice_id, patient_id, amount, payment_method, description, payment_date)
    VALUES (ta.current_practice_id(), ta.field_id(body, 'patient_id'), ta.field_money(body, 'amount'),
            ta.to_payment_method(ta.field_text(body, 'payment_method'), 'payment_method'), ta.field_text(body, 'description'),
            coalesce(ta.field_timestamp(body, 'payment_date'), now()))
    RETURNING * INTO pay;
    PERFORM ta.link_appointments(pay, ids, false);
    PERFORM ta.audit(uid, 'create', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_payment(json) IS
    'POST /payments: records a payment and marks its appointments paid.';

CREATE FUNCTION api.list_payments(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    skip integer := ta.query_int(params, 'skip', 0, 0, 1000000000);
    lim integer := ta.query_int(params, 'limit', 100, 1, 500);
    patient bigint := ta.query_id(params, 'patient_id');
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    method ta.payment_method := ta.to_payment_method(ta.field_scalar(params, 'payment_method'), 'payment_method');
    result json;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    WITH matching AS (
        SELECT * FROM ta.payments p
         WHERE p.deleted_at IS NULL
           AND (patient IS NULL OR p.patient_id = patient)
           AND (date_from IS NULL OR p.payment_date >= ta.warsaw_instant(date_from))
           AND (date_to IS NULL OR p.payment_date < ta.warsaw_instant(date_to + 1))
           AND (method IS NULL OR p.payment_method = method))
    SELECT json_build_object(
        'total', (SELECT count(*) FROM matching),
        'payments', coalesce(json_agg(ta.payment_json(p) ORDER BY p.payment_date DESC, p.id DESC), '[]')),
           array_agg(DISTINCT p.patient_id)
      INTO result, ids
      FROM (SELECT * FROM matching m ORDER BY m.payment_date DESC, m.id DESC OFFSET skip LIMIT lim) p;
    PERFORM ta.audit(uid, 'read', ids);
    RETURN result;
END $$;
COMMENT ON FUNCTION api.list_payments(json) IS
    'GET /payments?skip&limit&patient_id&date_from&date_to&payment_method: {total, payments}';

CREATE FUNCTION api.get_payment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    pay ta.payments;
BEGIN
    SELECT * INTO pay FROM ta.payments
     WHERE payments.id = get_payment.id AND deleted_at IS NULL;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    PERFORM ta.audit(uid, 'read', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
END $$;
COMMENT ON FUNCTION api.get_payment(bigint) IS 'GET /payments/{id}';

CREATE FUNCTION api.update_payment(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    pay ta.payments;
    ids bigint[];
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_object(body);
    UPDATE ta.payments SET
        amount = CASE WHEN body -> 'amount' IS NULL THEN amount ELSE ta.field_money(body, 'amount') END,
        payment_method = CASE WHEN body -> 'payment_method' IS NULL THEN payment_method
                              ELSE ta.to_payment_method(ta.field_text(body, 'payment_method'), 'payment_method') END,
        description = CASE WHEN body -> 'description' IS NULL THEN description
                           ELSE ta.field_text(body, 'description') END,
        payment_date = CASE WHEN body -> 'payment_date' IS NULL THEN payment_date
                            ELSE ta.field_timestamp(body, 'payment_date') END,
        updated_at = now()
     WHERE payments.id = update_payment.id AND deleted_at IS NULL
    RETURNING * INTO pay;
    IF pay.id IS NULL THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    IF body -> 'appointment_ids' IS NOT NULL THEN
        ids := ta.field_ids(body, 'appointment_ids');
        IF ids IS NULL THEN
            PERFORM ta.raise('22023', 'Wybierz co najmniej jedną wizytę', 'appointment_ids');
        END IF;
    ELSE
        SELECT array_agg(a.id) INTO ids FROM ta.appointments a WHERE a.payment_id = pay.id;
    END IF;
    PERFORM ta.link_appointments(pay, coalesce(ids, '{}'), true);
    PERFORM ta.audit(uid, 'update', ARRAY[pay.patient_id]);
    RETURN ta.payment_json(pay);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_payment(bigint, json) IS
    'PATCH /payments/{id}: dropped appointments become unpaid, added ones paid.';

CREATE FUNCTION api.delete_payment(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    patient bigint;
BEGIN
    UPDATE ta.payments p SET deleted_at = now(), deleted_by = uid,
           archived_appointment_ids = (SELECT array_agg(a.id ORDER BY a.id) FROM ta.appointments a
                                        WHERE a.payment_id = p.id)
     WHERE p.id = delete_payment.id AND p.deleted_at IS NULL
    RETURNING p.patient_id INTO patient;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Płatność nie została znaleziona');
    END IF;
    UPDATE ta.appointments SET payment_id = NULL WHERE payment_id = delete_payment.id;
    PERFORM ta.audit(uid, 'delete', ARRAY[patient]);
    RETURN json_build_object('detail', 'Płatność została usunięta, wizyty oznaczone jako nieopłacone');
END $$;
COMMENT ON FUNCTION api.delete_payment(bigint) IS
    'DELETE /payments/{id}: archives it; its appointments become unpaid.';

CREATE FUNCTION api.unpaid_appointments(patient_id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
BEGIN
    PERFORM ta.require_patient(patient_id);
    PERFORM ta.audit(uid, 'read', ARRAY[patient_id]);
    RETURN coalesce((SELECT json_agg(a.id ORDER BY a.date, a.start_time, a.id) FROM ta.appointments a
                      WHERE a.patient_id = unpaid_appointments.patient_id
                        AND a.deleted_at IS NULL AND a.payment_id IS NULL AND ta.is_due(a)), '[]');
END $$;
COMMENT ON FUNCTION api.unpaid_appointments(bigint) IS
    'GET /payments/patient/{patient_id}/unpaid-appointments: ids of what is due and unpaid, by date and time.';

CREATE FUNCTION api.payment_statistics(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    uid bigint := ta.caller();
BEGIN
    -- Sums over the practice's payments: audited as a read of no one patient.
    PERFORM ta.audit(uid, 'read', '{}');
    RETURN (SELECT json_build_object(
                'total_payments', count(*),
                'total_amount', coalesce(sum(p.amount), 0),
                'cash_amount', coalesce(sum(p.amount) FILTER (WHERE p.payment_method = 'CASH'), 0),
                'transfer_amount', coalesce(sum(p.amount) FILTER (WHERE p.payment_method = 'TRANSFER'), 0),
                'cash_count', count(*) FILTER (WHERE p.payment_method = 'CASH'),
                'transfer_count', count(*) FILTER (WHERE p.payment_method = 'TRANSFER'))
              FROM ta.payments p
             WHERE p.deleted_at IS NULL
               AND (date_from IS NULL OR p.payment_date >= ta.warsaw_instant(date_from))
               AND (date_to IS NULL OR p.payment_date < ta.warsaw_instant(date_to + 1)));
END $$;
COMMENT ON FUNCTION api.payment_statistics(json) IS 'GET /payments/statistics/summary?date_from&date_to';

