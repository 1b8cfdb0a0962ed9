-- The notifier's functions (schema notifier): what the sender in notifier/ (C) may call, and
-- all it may call. The rules are here: which row is due, what a message says, when to retry.
-- The sender's loop, per message, in ONE transaction:
--   BEGIN; SELECT * FROM notifier.claim(app_url);   -- locks one due row (FOR UPDATE SKIP LOCKED)
--   ... hands the message to the SMTP server or the SMS gateway ...
--   SELECT notifier.record_sent(id) (or record_failure); COMMIT;
-- The row stays locked while it is sent, so several senders never take the same one; a sender
-- that dies leaves it pending (its lock goes with its connection), so it is sent again: the
-- only duplicate possible is a message handed over but not yet recorded, one per sender.

-- A message's texts, as the claimed row makes them.
CREATE TYPE notifier.message AS (id bigint, kind text, channel text, recipient text, subject text, body text,
                                 message_key text);

-- Lets role log in as the notifier: the notifier schema, and every practice's outbox rows
-- through it (ta.is_sender). Refuses a role that may create objects, as ta.grant_api does.
CREATE FUNCTION ta.grant_notifier(role_name name) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    writable name := (SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege(role_name, n.oid, 'CREATE')
                         AND n.nspname !~ '^pg_(toast_)?temp_' LIMIT 1);
BEGIN
    IF writable IS NOT NULL THEN
        RAISE EXCEPTION 'role % may create objects in schema %; the notifier role must not', role_name, writable
            USING HINT = format('REVOKE CREATE ON SCHEMA %I FROM %I (and from PUBLIC)', writable, role_name);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA notifier TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA notifier TO %I', role_name);
    INSERT INTO ta.senders (role_name) VALUES (grant_notifier.role_name) ON CONFLICT DO NOTHING;
END $$;
COMMENT ON FUNCTION ta.grant_notifier(name) IS 'Lets role_name run the notifier (call the notifier functions), and nothing else.';

CREATE FUNCTION ta.require_sender() RETURNS void
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT ta.is_sender() THEN
        PERFORM ta.raise('42501', 'only a notifier role (ta.grant_notifier) may send');
    END IF;
END $$;

-- The sender says what it can send (SMTP_URL, SMSAPI_TOKEN set), on start and every tick;
-- GET /settings/reminders reports it as email_available and sms_available.
CREATE FUNCTION notifier.hello(email boolean, sms boolean) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    UPDATE ta.senders SET email_available = email, sms_available = sms, seen_at = now()
     WHERE role_name = session_user;
END $$;

-- The reminders waiting on appointments' rows (ta.appointments_plan_reminders) are behind the
-- appointments' row-level security, which a sender arm (OR ta.is_sender()) would make unusable as
-- an index condition for every api query: so the sender looks practice by practice, acting as each
-- (one probe of appointments_reminder_due_idx per practice, and only when the outbox has nothing due).
-- Whether a waiting reminder has a channel of the sender's:
CREATE FUNCTION ta.waits_for(a ta.appointments, channels text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE AS $$
    SELECT (a.email_reminder_id IS NOT NULL AND 'email' = ANY (channels))
        OR (a.sms_reminder_id IS NOT NULL AND 'sms' = ANY (channels))
$$;

-- When the next reminder waiting on an appointment for one of these channels is due; NULL: none.
CREATE FUNCTION ta.next_waiting_reminder(channels text[]) RETURNS timestamptz
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    due timestamptz;
    earliest timestamptz;
BEGIN
    FOR pid IN SELECT id FROM ta.practices LOOP
        PERFORM ta.set_claims(json_build_object('pid', pid)::text);
        SELECT a.reminder_send_at INTO due FROM ta.appointments a
         WHERE a.practice_id = pid AND a.reminder_send_at IS NOT NULL AND ta.waits_for(a, channels)
         ORDER BY a.reminder_send_at LIMIT 1;
        earliest := least(earliest, due);
    END LOOP;
    RETURN earliest;
END $$;

-- Turns the due reminders waiting on appointments (at most per_practice of each practice, for the
-- sender's channels) into pending outbox rows, in the caller's transaction; the rows stay locked
-- (SKIP LOCKED: another sender takes others). Returns how many appointments it took them from.
CREATE FUNCTION ta.take_due_reminders(channels text[], per_practice integer) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    pid bigint;
    a ta.appointments;
    n integer := 0;
BEGIN
    FOR pid IN SELECT id FROM ta.practices LOOP
        PERFORM ta.set_claims(json_build_object('pid', pid)::text);
        FOR a IN SELECT * FROM ta.appointments
                  WHERE practice_id = pid AND reminder_send_at <= now() AND ta.waits_for(appointments, channels)
                  ORDER BY reminder_send_at, id LIMIT per_practice FOR UPDATE SKIP LOCKED LOOP
            PERFORM ta.take_reminders(a);
            n := n + 1;
        END LOOP;
    END LOOP;
    RETURN n;
END $$;

-- Seconds until the next pending row of the sender's channels is due: 0 when one is, 60 (the
-- sender's longest sleep) when none is pending. A row of a channel the sender cannot send is not
-- its business (it waits for a sender that can): counting it kept a sender without SMSAPI_TOKEN
-- awake, and an empty outbox (min() of no rows is NULL, and greatest(0, NULL) is 0) made every
-- idle sender ask again at once, forever.
CREATE FUNCTION notifier.next_due(channels text[]) RETURNS double precision
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    RETURN least(60, greatest(0, coalesce(extract(epoch FROM
               least((SELECT min(o.send_at) FROM ta.outbox o
                       WHERE o.status = 'pending' AND o.channel::text = ANY (channels)),
                     ta.next_waiting_reminder(channels)) - now()), 60)));
END $$;
COMMENT ON FUNCTION notifier.next_due(text[]) IS
    'Seconds until the next pending row of the given channels is due: 0 when one is, at most 60.';

-- The next due message, its row locked until the caller's transaction ends; no row when none is
-- due. A reminder whose appointment started or is no longer wanted is settled here instead
-- (failed or cancelled, committed with the caller's transaction) and the next row is taken.
-- channels: the channels this sender can send ('email', 'sms'); rows of others wait.
-- enable_sort off: the next row must come from walking outbox_due_idx in order, whatever the
-- statistics say. Right after 10,000 rows were written at once (before autovacuum analysed
-- them) the planner believed in a dozen pending rows and chose to collect and sort them all:
-- 43 ms per claim and growing with the outbox, instead of well under 1 ms.
CREATE FUNCTION notifier.claim(app_url text, channels text[]) RETURNS SETOF notifier.message
    LANGUAGE plpgsql SECURITY DEFINER SET enable_sort = off AS $$
DECLARE
    o ta.outbox;
    a ta.appointments;
    p ta.patients;
    u ta.users;
    r ta.password_resets;
    s ta.reminder_settings;
    tz text;
    m notifier.message;
    sample timestamptz;
BEGIN
    PERFORM ta.require_sender();
    LOOP
        SELECT * INTO o FROM ta.outbox
         WHERE status = 'pending' AND send_at <= now() AND channel::text = ANY (channels)
         ORDER BY send_at, id LIMIT 1 FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            -- nothing due in the outbox: the due reminders waiting on appointments come next
            IF ta.take_due_reminders(channels, 50) = 0 THEN
                RETURN;
            END IF;
            CONTINUE;
        END IF;
        -- act as the row's practice: row-level security shows its patient, appointment, settings
        PERFORM ta.set_claims(json_build_object('pid', o.practice_id)::text);
        s := ta.reminder_settings_of(o.practice_id);
        tz := ta.practice_timezone(o.practice_id);
        m := ROW(o.id, o.kind::text, o.channel::text, NULL, NULL, NULL, format('ta-%s-%s', o.kind, o.id));
        IF o.kind = 'reminder' THEN
            SELECT * INTO a FROM ta.appointments WHERE appointments.id = o.appointment_id;
            SELECT * INTO p FROM ta.patients WHERE patients.id = o.patient_id;
            IF o.starts_at <= now() THEN
                UPDATE ta.outbox SET status = 'failed', updated_at = now(),
                                     last_error = 'Nie wysłano przed rozpoczęciem wizyty'
                 WHERE id = o.id;
                CONTINUE;
            END IF;
            -- The triggers cancel what is no longer wanted; this guards the send itself.
            IF NOT (ta.appointment_is_live(a) AND a.patient_id = o.patient_id AND p.deleted_at IS NULL
                    AND (a.date + a.start_time) AT TIME ZONE tz = o.starts_at
                    AND CASE o.channel WHEN 'email' THEN s.email_enabled AND p.reminder_email
                                       ELSE s.sms_enabled AND p.reminder_sms END) THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now() WHERE id = o.id;
                CONTINUE;
            END IF;
            m.recipient := CASE o.channel WHEN 'email' THEN p.email ELSE ta.sms_number(p.phone) END;
            IF o.channel = 'email' THEN
                m.subject := ta.render_template(s.email_subject, o.starts_at, tz, s.practice_name);
                m.body := ta.render_template(s.email_body, o.starts_at, tz, s.practice_name);
            ELSE
                m.body := ta.render_template(s.sms_body, o.starts_at, tz, s.practice_name);
            END IF;
        ELSIF o.kind = 'test' THEN
            SELECT * INTO u FROM ta.users WHERE users.id = o.user_id AND deleted_at IS NULL;
            IF u.id IS NULL THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now() WHERE id = o.id;
                CONTINUE;
            END IF;
            -- a sample appointment tomorrow at 10:00
            sample := (((now() AT TIME ZONE tz)::date + 1) + time '10:00') AT TIME ZONE tz;
            m.recipient := u.email;
            m.subject := '[Test] ' || ta.render_template(s.email_subject, sample, tz, s.practice_name);
            m.body := ta.render_template(s.email_body, sample, tz, s.practice_name);
        ELSE
            SELECT * INTO r FROM ta.password_resets WHERE password_resets.id = o.password_reset_id;
            SELECT * INTO u FROM ta.users WHERE users.id = o.user_id AND deleted_at IS NULL;
            IF u.id IS NULL OR r.used_at IS NOT NULL OR r.expires_at <= now() THEN
                UPDATE ta.outbox SET status = 'cancelled', updated_at = now(),
                                     last_error = CASE WHEN r.expires_at <= now() THEN 'Link wygasł przed wysłaniem' END
                 WHERE id = o.id;
                CONTINUE;
            END IF;
            m.recipient := u.email;
            m.subject := 'Zmiana hasła w TherapyAssistance';
            m.body := E'Dzień dobry,\n\notrzymaliśmy prośbę o zmianę hasła do konta ' || u.email
                      || E' w TherapyAssistance.\nAby ustawić nowe hasło, otwórz link:\n\n'
                      || rtrim(app_url, '/') || '/reset-hasla?token=' || ta.password_reset_token(r.nonce)
                      || E'\n\nLink jest ważny 60 minut i działa tylko raz. Jeśli to nie Ty prosiłeś o zmianę, '
                      || E'zignoruj tę wiadomość: hasło pozostanie bez zmian.\n';
        END IF;
        RETURN NEXT m;
        RETURN;
    END LOOP;
END $$;
COMMENT ON FUNCTION notifier.claim(text, text[]) IS
    'Locks and returns the next due message (none when none is due); call in a transaction, record, commit.';

CREATE FUNCTION notifier.record_sent(id bigint) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    PERFORM ta.require_sender();
    UPDATE ta.outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL,
                         updated_at = now()
     WHERE outbox.id = record_sent.id AND status = 'pending';
END $$;

-- A failed attempt: retried after retry_seconds * 4^(attempts before) (60 s, 4, 16, 64 min by
-- default), at most 5 attempts and never at or after the appointment's start or a link's expiry;
-- then (or at once when permanent) failed, with the reason. Returns the row's status.
CREATE FUNCTION notifier.record_failure(id bigint, error text, permanent boolean, retry_seconds integer)
    RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    o ta.outbox;
    next_try timestamptz;
    deadline timestamptz;
    reason text := left(regexp_replace(coalesce(nullif(btrim(error), ''), 'nieznany błąd'), '[[:cntrl:]]+', ' ', 'g'),
                        500);
BEGIN
    PERFORM ta.require_sender();
    SELECT * INTO o FROM ta.outbox WHERE outbox.id = record_failure.id AND status = 'pending' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    next_try := now() + make_interval(secs => least(greatest(retry_seconds, 1), 3600)::double precision
                                              * power(4, least(o.attempts, 6)));
    deadline := coalesce(o.starts_at, (SELECT r.expires_at FROM ta.password_resets r WHERE r.id = o.password_reset_id),
                         'infinity');
    UPDATE ta.outbox SET attempts = attempts + 1, last_error = reason, updated_at = now(),
                         status = CASE WHEN permanent OR o.attempts + 1 >= 5 OR next_try >= deadline
                                       THEN 'failed' ELSE 'pending' END::ta.reminder_status,
                         send_at = CASE WHEN permanent OR o.attempts + 1 >= 5 OR next_try >= deadline
                                        THEN send_at ELSE next_try END
     WHERE outbox.id = o.id
    RETURNING * INTO o;
    RETURN o.status::text;
END $$;
COMMENT ON FUNCTION notifier.record_failure(bigint, text, boolean, integer) IS
    'Records a failed attempt: retried with backoff, or failed with the reason after the last try.';
