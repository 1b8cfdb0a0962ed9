-- Scheduling as a practice lives it: the practice's settings (the late-cancellation
-- window), Polish public holidays, recurring series of appointments, and what the
-- statuses add to the statistics. The status rules themselves are constraints of
-- ta.appointments and its trigger (appointments.sql).

---------------------------------------------------------------------------------------
-- Settings

CREATE FUNCTION ta.settings_json(practice bigint) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object('late_cancel_hours', coalesce(s.late_cancel_hours, 24),
                             'timezone', coalesce(s.timezone, 'Europe/Warsaw'))
      FROM (SELECT practice) p LEFT JOIN ta.practice_settings s ON s.practice_id = p.practice
$$;

CREATE FUNCTION api.get_settings() RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.caller();
    RETURN ta.settings_json(ta.current_practice_id());
END $$;
COMMENT ON FUNCTION api.get_settings() IS 'GET /settings: {late_cancel_hours, timezone}';

-- Changes what is given; a late cancellation already recorded keeps its mark (it was
-- late by the rule of its day).
CREATE FUNCTION api.update_settings(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    practice bigint;
    hours integer;
    zone text;
BEGIN
    PERFORM ta.caller();
    -- The practice of the verified token: ta.caller() sets the claims (issue 16).
    practice := ta.current_practice_id();
    PERFORM ta.require_object(body);
    hours := ta.query_int(body, 'late_cancel_hours', NULL, 0, 168);
    zone := ta.field_text(body, 'timezone');
    INSERT INTO ta.practice_settings AS s (practice_id, late_cancel_hours, timezone)
    VALUES (practice, coalesce(hours, 24), coalesce(zone, 'Europe/Warsaw'))
    ON CONFLICT (practice_id) DO UPDATE
       SET late_cancel_hours = coalesce(hours, s.late_cancel_hours), timezone = coalesce(zone, s.timezone);
    RETURN ta.settings_json(practice);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_settings(json) IS 'PUT /settings: late_cancel_hours (0..168), timezone (Europe/Warsaw)';

---------------------------------------------------------------------------------------
-- Polish public holidays

-- Easter Sunday of the Gregorian calendar (the anonymous algorithm of Meeus, Jones and Butcher).
CREATE FUNCTION ta.easter_sunday(year integer) RETURNS date
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    a integer := year % 19;
    b integer := year / 100;
    c integer := year % 100;
    h integer;
    l integer;
    m integer;
BEGIN
    h := (19 * a + b - b / 4 - (b - (b + 8) / 25 + 1) / 3 + 15) % 30;
    l := (32 + 2 * (b % 4) + 2 * (c / 4) - h - c % 4) % 7;
    m := (a + 11 * h + 22 * l) / 451;
    RETURN make_date(year, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1);
END $$;
COMMENT ON FUNCTION ta.easter_sunday(integer) IS 'Easter Sunday of a year (Gregorian calendar).';

-- The days off of the statutory list (ustawa z dnia 18 stycznia 1951 r. o dniach wolnych od
-- pracy, as amended: Epiphany since 2011, Christmas Eve since 2025); Easter, Pentecost and
-- Corpus Christi follow Easter.
CREATE FUNCTION ta.polish_holidays(year integer) RETURNS TABLE (day date, name text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT d, n FROM (VALUES
        (make_date(year, 1, 1), 'Nowy Rok', true),
        (make_date(year, 1, 6), 'Święto Trzech Króli', year >= 2011),
        (ta.easter_sunday(year), 'Wielkanoc', true),
        (ta.easter_sunday(year) + 1, 'Poniedziałek Wielkanocny', true),
        (make_date(year, 5, 1), 'Święto Pracy', true),
        (make_date(year, 5, 3), 'Święto Konstytucji 3 Maja', true),
        (ta.easter_sunday(year) + 49, 'Zielone Świątki', true),
        (ta.easter_sunday(year) + 60, 'Boże Ciało', true),
        (make_date(year, 8, 15), 'Wniebowzięcie Najświętszej Maryi Panny', true),
        (make_date(year, 11, 1), 'Wszystkich Świętych', true),
        (make_date(year, 11, 11), 'Narodowe Święto Niepodległości', true),
        (make_date(year, 12, 24), 'Wigilia Bożego Narodzenia', year >= 2025),
        (make_date(year, 12, 25), 'Boże Narodzenie (pierwszy dzień)', true),
        (make_date(year, 12, 26), 'Boże Narodzenie (drugi dzień)', true)) h(d, n, observed)
     WHERE observed
     ORDER BY d
$$;
COMMENT ON FUNCTION ta.polish_holidays(integer) IS 'Polish statutory public holidays of a year, with their names.';

-- The name of the holiday on day, or NULL.
CREATE FUNCTION ta.polish_holiday(day date) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT h.name FROM ta.polish_holidays(extract(year FROM day)::integer) h WHERE h.day = polish_holiday.day
$$;

---------------------------------------------------------------------------------------
-- Recurring series

-- The dates a series books: every interval_weeks from first, until how_many dates are
-- booked or past until; with skip_holidays, holidays are passed over (not counted) and
-- listed in skipped as [{date, name}].
CREATE FUNCTION ta.series_plan(first date, interval_weeks integer, how_many integer, until date,
                               skip_holidays boolean, OUT dates date[], OUT skipped json)
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    day date := first;
    holiday text;
    skipped_days json[] := '{}';
    off date[];    -- the holidays of the years a series can reach (52 dates every 4 weeks: 4 years), once
    off_names text[];
BEGIN
    IF skip_holidays THEN
        SELECT array_agg(h.day ORDER BY h.day), array_agg(h.name ORDER BY h.day) INTO off, off_names
          FROM generate_series(extract(year FROM first)::integer, extract(year FROM first)::integer + 4) y,
               ta.polish_holidays(y) h;
    END IF;
    dates := '{}';
    WHILE (how_many IS NULL OR cardinality(dates) < how_many) AND (until IS NULL OR day <= until) LOOP
        holiday := off_names[array_position(off, day)];
        IF holiday IS NULL THEN
            dates := dates || day;
        ELSE
            skipped_days := skipped_days || json_build_object('date', day, 'name', holiday);
        END IF;
        day := day + 7 * interval_weeks;
    END LOOP;
    skipped := array_to_json(skipped_days);
END $$;

-- The dates among slots (date, start, end) that overlap a live, not cancelled appointment
-- other than those in except_ids: what the exclusion constraint would refuse.
CREATE FUNCTION ta.slot_conflicts(days date[], starts time[], ends time[], except_ids bigint[]) RETURNS date[]
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT s.day ORDER BY s.day), '{}')
      FROM unnest(days, starts, ends) s(day, start_time, end_time)
     WHERE EXISTS (SELECT FROM ta.appointments a
                    WHERE a.deleted_at IS NULL AND a.status <> 'cancelled' AND a.date = s.day
                      AND a.start_time < s.end_time AND a.end_time > s.start_time
                      AND a.id <> ALL (except_ids))
$$;

-- The 400 answer for colliding dates, given without raising (response.status) so that it
-- can carry the list; the caller has changed nothing.
CREATE FUNCTION ta.conflicts_answer(conflicts date[]) RETURNS json
    LANGUAGE sql AS $$
    SELECT json_build_object('detail', 'Wizyty kolidują z innymi wizytami w dniach: '
                                       || (SELECT string_agg(to_char(d, 'YYYY-MM-DD'), ', ' ORDER BY d) FROM unnest(conflicts) d),
                             'conflicts', to_json(conflicts))
      FROM (SELECT set_config('response.status', '400', true)) answered
$$;

CREATE FUNCTION ta.series_json(s ta.appointment_series) RETURNS json
    LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', s.id, 'patient_id', s.patient_id, 'interval_weeks', s.interval_weeks,
        'skip_holidays', s.skip_holidays, 'created_at', s.created_at,
        'appointments', coalesce((SELECT json_agg(ta.appointment_out(a) ORDER BY a.date, a.start_time, a.id)
                                    FROM ta.appointments a WHERE a.series_id = s.id AND a.deleted_at IS NULL), '[]'))
$$;

-- A series of the caller's practice, locked for a change when lock, or 404.
CREATE FUNCTION ta.require_series(id bigint, lock boolean) RETURNS ta.appointment_series
    LANGUAGE plpgsql AS $$
DECLARE
    s ta.appointment_series;
BEGIN
    IF lock THEN
        SELECT * INTO s FROM ta.appointment_series WHERE appointment_series.id = require_series.id FOR UPDATE;
    ELSE
        SELECT * INTO s FROM ta.appointment_series WHERE appointment_series.id = require_series.id;
    END IF;
    IF NOT FOUND THEN
        PERFORM ta.raise('P0002', 'Seria wizyt nie została znaleziona');
    END IF;
    RETURN s;
END $$;

-- A date of a series' change must lie within the series (its first to its last live appointment).
CREATE FUNCTION ta.require_series_date(s ta.appointment_series, day date, key text) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    first_day date;
    last_day date;
BEGIN
    SELECT min(a.date), max(a.date) INTO first_day, last_day
      FROM ta.appointments a WHERE a.series_id = s.id AND a.deleted_at IS NULL;
    IF day IS NULL THEN
        PERFORM ta.raise('22023', format('Pole %s jest wymagane', key), key);
    ELSIF first_day IS NULL OR day NOT BETWEEN first_day AND last_day THEN
        PERFORM ta.raise('22023', format('Data %s jest poza serią (seria trwa od %s do %s)', to_char(day, 'YYYY-MM-DD'),
                                         coalesce(to_char(first_day, 'YYYY-MM-DD'), '-'),
                                         coalesce(to_char(last_day, 'YYYY-MM-DD'), '-')), key);
    END IF;
END $$;

-- POST /appointment_series. All or nothing: every date is booked, or (on any collision)
-- none, and the answer lists every colliding date. The rows are inserted even when a
-- collision is known or only a preview is asked ("dry_run": true), and then rolled back,
-- so that the constraints judge the input exactly as they would for the real booking.
-- A booking committed meanwhile by someone else makes the insert fail on the exclusion
-- constraint (it waits for that transaction first); the collisions are then read again.
CREATE FUNCTION api.create_appointment_series(body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    uid bigint := ta.caller();
    patient bigint;
    first date;
    how_many integer;
    until date;
    every integer;
    skip boolean;
    dry_run boolean;
    start_t time;
    end_t time;
    session_price numeric;
    plan record;
    conflicts date[];
    s ta.appointment_series;
    result json;
BEGIN
    PERFORM ta.require_object(body);
    patient := ta.field_id(body, 'patient_id');
    PERFORM ta.require_patient(patient);
    first := ta.field_date(body, 'start_date');
    IF first IS NULL THEN
        PERFORM ta.raise('22023', 'Data pierwszej wizyty (start_date) jest wymagana', 'start_date');
    END IF;
    start_t := ta.field_time(body, 'start_time');
    end_t := ta.field_time(body, 'end_time');
    every := ta.query_int(body, 'interval_weeks', 1, 1, 4);
    skip := coalesce(ta.field_bool(body, 'skip_holidays'), false);
    dry_run := coalesce(ta.field_bool(body, 'dry_run'), false);
    how_many := ta.query_int(body, 'count', NULL, 1, 52);
    until := ta.field_date(body, 'until');
    IF (how_many IS NULL) = (until IS NULL) THEN
        PERFORM ta.raise('22023', 'Podaj albo liczbę wizyt (count), albo datę ostatniej wizyty (until)',
                         CASE WHEN how_many IS NULL THEN 'count' ELSE 'until' END);
    ELSIF until < first THEN
        PERFORM ta.raise('22023', 'Data until nie może być wcześniejsza niż start_date', 'until');
    ELSIF until > first + 366 THEN
        PERFORM ta.raise('22023', 'Seria może trwać najwyżej 366 dni od start_date', 'until');
    END IF;
    plan := ta.series_plan(first, every, how_many, until, skip);
    IF cardinality(plan.dates) = 0 THEN
        PERFORM ta.raise('22023', 'W podanym okresie nie ma żadnego terminu poza świętami', 'until');
    END IF;
    conflicts := ta.slot_conflicts(plan.dates, array_fill(start_t, ARRAY[cardinality(plan.dates)]),
                                   array_fill(end_t, ARRAY[cardinality(plan.dates)]), '{}');
    BEGIN
        INSERT INTO ta.appointment_series (practice_id, patient_id, interval_weeks, skip_holidays, created_by)
        VALUES (ta.current_practice_id(), patient, every, skip, uid)
        RETURNING * INTO s;
        -- The price is read once, not once per row, and (as before) only when a row is to be
        -- inserted: when every date collides, a bad price does not hide the collisions.
        IF cardinality(conflicts) < cardinality(plan.dates) THEN
            session_price := ta.field_money(body, 'price');
        END IF;
        INSERT INTO ta.appointments (practice_id, patient_id, date, start_time, end_time, price, series_id)
        SELECT s.practice_id, patient, d, start_t, end_t, session_price, s.id
          FROM unnest(plan.dates) d WHERE d <> ALL (conflicts) ORDER BY d;
        IF dry_run OR cardinality(conflicts) > 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'TA001';  -- undo the trial
        END IF;
        result := ta.series_json(s);
    EXCEPTION
        WHEN SQLSTATE 'TA001' THEN
            NULL;
        WHEN exclusion_violation THEN
            conflicts := ta.slot_conflicts(plan.dates, array_fill(start_t, ARRAY[cardinality(plan.dates)]),
                                           array_fill(end_t, ARRAY[cardinality(plan.dates)]), '{}');
            IF cardinality(conflicts) = 0 THEN
                RAISE;
            END IF;
    END;
    IF dry_run THEN
        RETURN json_build_object('dry_run', true, 'dates', to_json(plan.dates), 'skipped_holidays', plan.skipped,
                                 'conflicts', to_json(conflicts));
    ELSIF cardinality(conflicts) > 0 THEN
        RETURN ta.conflicts_answer(conflicts);
    END IF;
    PERFORM ta.audit(uid, 'create', ARRAY[patient]);
    PERFORM set_config('response.status', '201', true);
    RETURN result;
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.create_appointment_series(json) IS
    'POST /appointment_series: books every date of a weekly (1-4 weeks) series, or none; dry_run previews.';

CREATE FUNCTION api.get_appointment_series(id bigint) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    uid bigint := ta.caller();
    s ta.appointment_series := ta.require_series(id, false);
BEGIN
    PERFORM ta.audit(uid, 'read', ARRAY[s.patient_id]);
    RETURN ta.series_json(s);
END $$;
COMMENT ON FUNCTION api.get_appointment_series(bigint) IS 'GET /appointment_series/{id}: with its appointments.';

-- PATCH: "this and following". Every scheduled appointment of the series on or after
-- from_date gets the times and price given; all or nothing, collisions as for creating.
CREATE FUNCTION api.update_appointment_series(id bigint, body json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    uid bigint := ta.caller();
    s ta.appointment_series;
    from_day date;
    start_t time;
    end_t time;
    new_price numeric;
    ids bigint[];
    days date[];
    starts time[];
    ends time[];
    conflicts date[];
BEGIN
    PERFORM ta.require_object(body);
    s := ta.require_series(id, true);
    from_day := ta.field_date(body, 'from_date');
    PERFORM ta.require_series_date(s, from_day, 'from_date');
    start_t := ta.field_time(body, 'start_time');
    end_t := ta.field_time(body, 'end_time');
    new_price := ta.field_money(body, 'price');
    SELECT coalesce(array_agg(a.id ORDER BY a.date), '{}'), array_agg(a.date ORDER BY a.date),
           array_agg(coalesce(start_t, a.start_time) ORDER BY a.date), array_agg(coalesce(end_t, a.end_time) ORDER BY a.date)
      INTO ids, days, starts, ends
      FROM (SELECT * FROM ta.appointments a
             WHERE a.series_id = s.id AND a.deleted_at IS NULL AND a.status = 'scheduled' AND a.date >= from_day
             ORDER BY a.date FOR UPDATE) a;
    conflicts := ta.slot_conflicts(days, starts, ends, ids);
    IF cardinality(conflicts) > 0 THEN
        RETURN ta.conflicts_answer(conflicts);
    END IF;
    BEGIN
        UPDATE ta.appointments a
           SET start_time = coalesce(start_t, a.start_time), end_time = coalesce(end_t, a.end_time),
               price = coalesce(new_price, a.price)
         WHERE a.id = ANY (ids);
    EXCEPTION WHEN exclusion_violation THEN
        conflicts := ta.slot_conflicts(days, starts, ends, ids);
        IF cardinality(conflicts) = 0 THEN
            RAISE;
        END IF;
        RETURN ta.conflicts_answer(conflicts);
    END;
    PERFORM ta.audit(uid, 'update', ARRAY[s.patient_id]);
    RETURN ta.series_json(s);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.update_appointment_series(bigint, json) IS
    'PATCH /appointment_series/{id}: from_date, start_time, end_time, price of the scheduled ones from that day.';

-- DELETE: the therapist cancels the series from a day (default today, Polish time).
CREATE FUNCTION api.cancel_appointment_series(id bigint, q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    c text;
    col text;
    params json := ta.query_params(q);
    uid bigint := ta.caller();
    s ta.appointment_series := ta.require_series(id, true);
    from_day date := ta.query_date(params, 'from');
    n integer;
BEGIN
    IF from_day IS NOT NULL THEN
        PERFORM ta.require_series_date(s, from_day, 'from');
    END IF;
    UPDATE ta.appointments a SET status = 'cancelled', cancel_reason = 'therapist'
     WHERE a.series_id = s.id AND a.deleted_at IS NULL AND a.status = 'scheduled'
       AND a.date >= coalesce(from_day, (now() AT TIME ZONE 'Europe/Warsaw')::date);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM ta.audit(uid, 'update', ARRAY[s.patient_id]);
    RETURN json_build_object('detail', format('Odwołano wizyty serii: %s', n), 'cancelled', n);
EXCEPTION WHEN integrity_constraint_violation THEN
    GET STACKED DIAGNOSTICS c = CONSTRAINT_NAME, col = COLUMN_NAME;
    PERFORM ta.explain_violation(SQLSTATE, c, col);
END $$;
COMMENT ON FUNCTION api.cancel_appointment_series(bigint, json) IS
    'DELETE /appointment_series/{id}?from: the scheduled ones from that day become cancelled by the therapist.';

---------------------------------------------------------------------------------------
-- Statistics of what became of the appointments

CREATE FUNCTION api.appointment_statistics(q json) RETURNS json
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    params json := ta.query_params(q);
    date_from date := ta.query_date(params, 'date_from');
    date_to date := ta.query_date(params, 'date_to');
    uid bigint := ta.caller();
BEGIN
    -- Counts over the practice's appointments: audited as a read of no one patient.
    PERFORM ta.audit(uid, 'read', '{}');
    RETURN (SELECT json_build_object(
                'scheduled_count', count(*) FILTER (WHERE a.status = 'scheduled'),
                'completed_count', count(*) FILTER (WHERE a.status = 'completed'),
                'no_show_count', count(*) FILTER (WHERE a.status = 'no_show'),
                'cancelled_late_count', count(*) FILTER (WHERE a.late_cancellation),
                'cancelled_on_time_count',
                    count(*) FILTER (WHERE a.status = 'cancelled' AND a.cancel_reason = 'patient' AND NOT a.late_cancellation),
                'cancelled_by_therapist_count', count(*) FILTER (WHERE a.cancel_reason = 'therapist'),
                'late_cancellation_due', coalesce(sum(a.price) FILTER (WHERE a.late_cancellation), 0),
                'no_show_due', coalesce(sum(a.price) FILTER (WHERE a.status = 'no_show'), 0),
                'unpaid_due', coalesce(sum(a.price) FILTER (WHERE ta.is_due(a) AND a.payment_id IS NULL
                                                             AND a.status <> 'scheduled'), 0))
              FROM ta.appointments a
             WHERE a.deleted_at IS NULL
               AND (date_from IS NULL OR a.date >= date_from)
               AND (date_to IS NULL OR a.date <= date_to));
END $$;
COMMENT ON FUNCTION api.appointment_statistics(json) IS
    'GET /statistics/appointments?date_from&date_to: attended, cancelled (late, on time, by the therapist), missed, due.';
