-- The audit trail: every api call that reads or changes patient data appends one row in
-- its own transaction (practice, user, action, route, patients, address, time); a
-- failed call leaves none; nobody may change or remove a row; GET /audit and the
-- patient's export.
-- These read the table itself, so they first wait for the rows the audit writer has queued
-- (ta.audit_flush; the api's readers of the trail do the same).
CREATE FUNCTION regress.audit_mark() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER AS $$ SELECT ta.audit_flush(); SELECT coalesce(max(id), 0) FROM ta.audit_log $$;
-- The chains of the newest n rows (for the audit_chain isolation spec).
CREATE FUNCTION regress.audit_tail(n integer) RETURNS TABLE (chain smallint)
    LANGUAGE sql SECURITY DEFINER AS $$ SELECT ta.audit_flush(); SELECT l.chain FROM ta.audit_log l ORDER BY l.id DESC LIMIT n $$;
-- The rows appended after mark, patients by name so that ids do not matter.
CREATE FUNCTION regress.audit_since(mark bigint) RETURNS TABLE (action text, route text, patients text, client text, by_caller boolean)
    LANGUAGE sql SECURITY DEFINER AS $$
    SELECT ta.audit_flush();
    SELECT l.action, l.route,
           (SELECT coalesce(string_agg(p.name, ', ' ORDER BY p.name), '-') FROM ta.patients p WHERE p.id = ANY (l.patient_ids)),
           host(l.client_addr),
           l.user_id = (current_setting('request.jwt.claims')::json ->> 'sub')::bigint
           AND l.practice_id = (current_setting('request.jwt.claims')::json ->> 'pid')::bigint
      FROM ta.audit_log l WHERE l.id > mark ORDER BY l.id
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA regress TO regress_ta_app;

SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.register('{"email": "ewa@gabinet-e.example.com", "password": "haslo-testowe"}') ->> 'email'$$);
SELECT regress.login('ewa@gabinet-e.example.com');
SELECT set_config('request.client_addr', '2001:db8::7', false), set_config('request.route', 'test route', false);
SELECT regress.audit_mark() AS mark \gset
SELECT regress.call($$SELECT api.create_patient('{"name": "Audyt Pierwszy"}') ->> 'name'$$);
SELECT regress.call($$SELECT api.create_patient('{"name": "Audyt Drugi", "email": "drugi@example.com"}') ->> 'name'$$);
RESET ROLE;
SELECT id AS p1 FROM ta.patients WHERE name = 'Audyt Pierwszy' \gset
SELECT id AS p2 FROM ta.patients WHERE name = 'Audyt Drugi' \gset
SELECT id AS other FROM ta.patients WHERE name = 'Pacjent Bruna' \gset
SET ROLE regress_ta_app;
SELECT * FROM regress.audit_since(:mark);

-- Every route on patient data, once each: one row per call, naming the patients it
-- returned or changed.
SELECT regress.audit_mark() AS mark \gset
SELECT left(regress.call(q), 40) AS answer FROM (VALUES
    ('SELECT api.list_patients(''{}'')'),
    (format('SELECT api.get_patient(%s)', :p1)),
    (format('SELECT api.update_patient(%s, ''{"phone": "600 100 200"}'')', :p1)),
    (format('SELECT api.create_appointment(%L) ->> ''price''', json_build_object('patient_id', :p1, 'date', '2030-03-04', 'start_time', '09:00', 'end_time', '09:50', 'price', 180))),
    (format('SELECT api.create_appointment(%L) ->> ''price''', json_build_object('patient_id', :p2, 'date', '2030-03-04', 'start_time', '10:00', 'end_time', '10:50', 'price', 180))),
    ('SELECT json_array_length(api.list_appointments(''{"date_from": "2030-03-04", "date_to": "2030-03-04"}''))'),
    (format('SELECT api.create_session_note(%L) ->> ''content''', json_build_object('patient_id', :p1, 'content', 'Pierwsza sesja'))),
    ('SELECT json_array_length(api.list_session_notes(''{}''))'),
    (format('SELECT json_array_length(api.list_patient_session_notes(%s, ''{}''))', :p1)),
    (format('SELECT api.unpaid_appointments(%s) IS NOT NULL', :p1)),
    ('SELECT api.payment_statistics(''{}'') -> ''total_payments''')
) AS t(q);
SELECT * FROM regress.audit_since(:mark);
RESET ROLE;
SELECT id AS a1 FROM ta.appointments WHERE patient_id = :p1 \gset
SELECT id AS a2 FROM ta.appointments WHERE patient_id = :p2 \gset
SELECT id AS n1 FROM ta.session_notes WHERE patient_id = :p1 \gset
SET ROLE regress_ta_app;
SELECT regress.audit_mark() AS mark \gset
SELECT left(regress.call(q), 40) AS answer FROM (VALUES
    (format('SELECT api.get_appointment(%s) ->> ''price''', :a1)),
    (format('SELECT api.update_appointment(%s, %L) ->> ''patient_id'' = ''%s''', :a2, json_build_object('patient_id', :p1), :p1)),
    (format('SELECT api.update_appointment(%s, %L) ->> ''patient_id'' = ''%s''', :a2, json_build_object('patient_id', :p2), :p2)),
    (format('SELECT api.get_session_note(%s) ->> ''content''', :n1)),
    (format('SELECT api.update_session_note(%s, ''{"content": "Poprawiona"}'') ->> ''content''', :n1)),
    (format('SELECT api.create_payment(%L) ->> ''amount''', json_build_object('patient_id', :p1, 'amount', 180, 'payment_method', 'CASH', 'appointment_ids', json_build_array(:a1)))),
    ('SELECT api.list_payments(''{}'') -> ''total''')
) AS t(q);
RESET ROLE;
SELECT id AS pay FROM ta.payments WHERE patient_id = :p1 \gset
SET ROLE regress_ta_app;
SELECT left(regress.call(q), 40) AS answer FROM (VALUES
    (format('SELECT api.get_payment(%s) ->> ''amount''', :pay)),
    (format('SELECT api.update_payment(%s, ''{"description": "gotówka"}'') ->> ''description''', :pay)),
    (format('SELECT api.delete_payment(%s)', :pay)),
    (format('SELECT api.delete_session_note(%s)', :n1)),
    (format('SELECT api.delete_appointment(%s)', :a2)),
    (format('SELECT api.delete_patient(%s)', :p2))
) AS t(q);
SELECT * FROM regress.audit_since(:mark);

-- A refused call (missing, another practice's, invalid) leaves no row: it wrote nothing.
SELECT regress.audit_mark() AS mark \gset
SELECT regress.call(q) FROM (VALUES
    ('SELECT api.get_patient(999999999)'),
    (format('SELECT api.get_patient(%s)', :other)),
    (format('SELECT api.export_patient(%s)', :other)),
    (format('SELECT api.update_patient(%s, ''{"name": ""}'')', :p1)),
    ('SELECT api.list_patients(''{"limit": "x"}'')')
) AS t(q);
SELECT count(*) AS rows_added FROM regress.audit_since(:mark);

-- A read commits without waiting for the WAL flush (its audit row is its only write); a
-- write, or a read after a write in the same transaction, waits as always.
BEGIN;
SELECT api.get_patient(:p1) IS NOT NULL AS read, current_setting('synchronous_commit') AS synchronous_commit;
ROLLBACK;
BEGIN;
SELECT api.update_patient(:p1, '{"notes": "x"}') IS NOT NULL AS wrote, current_setting('synchronous_commit') AS synchronous_commit;
SELECT api.get_patient(:p1) IS NOT NULL AS read, current_setting('synchronous_commit') AS synchronous_commit;
ROLLBACK;

-- GET /audit: newest first, filtered by patient, user and dates (inclusive), paged.
SELECT regress.call($$SELECT json_array_length(api.list_audit('{}'))$$);
SELECT regress.call(format('SELECT json_agg(e ->> ''action'') FROM json_array_elements(api.list_audit(%L)) e',
                           json_build_object('patient_id', :p2::text)));
SELECT regress.call(format('SELECT json_array_length(api.list_audit(%L))',
                           json_build_object('user_id', (current_setting('request.jwt.claims')::json ->> 'sub'))));
SELECT regress.call($$SELECT json_array_length(api.list_audit('{"user_id": "999999"}'))$$);
-- ... and by action: one kind only, the five kinds add up to the whole trail; an unknown one is refused.
SELECT regress.call($$SELECT (SELECT json_agg(DISTINCT e ->> 'action') FROM json_array_elements(api.list_audit('{"action": "create"}')) e)$$);
SELECT regress.call($$SELECT (SELECT sum(json_array_length(api.list_audit(json_build_object('action', a, 'limit', '1000'))))
                              FROM unnest(ARRAY['read', 'create', 'update', 'delete', 'export']) a)
                            = json_array_length(api.list_audit('{"limit": "1000"}'))$$) AS actions_partition_the_trail;
SELECT regress.call(format('SELECT json_array_length(api.list_audit(%L))',
                           json_build_object('date_from', to_char(current_date, 'YYYY-MM-DD'), 'date_to', to_char(current_date, 'YYYY-MM-DD'))));
SELECT regress.call(format('SELECT json_array_length(api.list_audit(%L))', json_build_object('date_to', to_char(current_date - 1, 'YYYY-MM-DD'))));
SELECT regress.call($$SELECT json_array_length(api.list_audit('{"skip": "3", "limit": "2"}'))$$);
SELECT regress.call($$SELECT (SELECT array_agg(k ORDER BY k) FROM json_object_keys(api.list_audit('{"limit": "1"}') -> 0) k)$$);
SELECT regress.call($$SELECT api.list_audit('{"limit": "1"}') -> 0 ->> 'client_addr'$$);
SELECT regress.call(q) FROM (VALUES
    ($$SELECT api.list_audit('{"date_from": "wczoraj"}')$$),
    ($$SELECT api.list_audit('{"patient_id": "1; DROP TABLE ta.audit_log"}')$$),
    ($$SELECT api.list_audit('{"limit": "0"}')$$),
    ($$SELECT api.list_audit('{"action": "drop"}')$$)
) AS t(q);

-- GET /patients/{id}/export: every row about the patient, archived ones too (the patient
-- deleted above included), with who accessed them; audited as an export.
SELECT regress.audit_mark() AS mark \gset
SELECT regress.call(format('SELECT (SELECT array_agg(k ORDER BY k) FROM json_object_keys(api.export_patient(%s)) k)', :p1));
SELECT regress.call(format($$SELECT json_build_object('name', e -> 'patient' ->> 'name', 'phone', e -> 'patient' ->> 'phone',
    'appointments', json_array_length(e -> 'appointments'), 'paid', e -> 'appointments' -> 0 -> 'is_paid',
    'notes', json_array_length(e -> 'session_notes'), 'note_deleted', e -> 'session_notes' -> 0 ->> 'deleted_at' IS NOT NULL,
    'payments', json_array_length(e -> 'payments'), 'practice_id_shown', (e -> 'patient') -> 'practice_id' IS NOT NULL,
    'accesses', json_array_length(e -> 'access_log') > 10) FROM api.export_patient(%s) e$$, :p1));
SELECT regress.call(format('SELECT api.export_patient(%s) -> ''patient'' ->> ''deleted_at'' IS NOT NULL', :p2));
SELECT * FROM regress.audit_since(:mark);
RESET ROLE;

-- The audit row of a read the replica served, written here by the proxy: reads and exports
-- only, as the caller of the claims, ids as given; anything else is refused and writes none.
SELECT regress.audit_mark() AS mark \gset
SET ROLE regress_ta_app;
SELECT regress.call(format('SELECT api.record_read(%L)', json_build_object('action', 'read', 'patient_ids', json_build_array(:p1, :p2))));
SELECT regress.call(format('SELECT api.record_read(%L)', json_build_object('action', 'export', 'patient_ids', json_build_array(:p2))));
SELECT regress.call($$SELECT api.record_read('{"action": "read", "patient_ids": []}')$$);
SELECT regress.call(q) FROM (VALUES
    ($$SELECT api.record_read('{"action": "delete", "patient_ids": [1]}')$$),
    ($$SELECT api.record_read('{"action": "read", "patient_ids": ["1; DROP TABLE ta.audit_log"]}')$$),
    ($$SELECT api.record_read('{"action": "read"}')$$),
    ($$SELECT api.record_read('[]')$$),
    ($$SELECT api.record_read(NULL)$$)
) AS t(q);
RESET ROLE;
SELECT * FROM regress.audit_since(:mark);

-- Another practice sees none of these rows.
SET ROLE regress_ta_app;
SELECT regress.login('bruno@gabinet-b.example.com');
SELECT regress.call(format('SELECT json_array_length(api.list_audit(%L))', json_build_object('patient_id', :p1::text)));
RESET ROLE;

-- Append-only. The application role reaches no table.
SET ROLE regress_ta_app;
UPDATE ta.audit_log SET action = 'read';
DELETE FROM ta.audit_log;
TRUNCATE ta.audit_log;
INSERT INTO ta.audit_log (practice_id, user_id, action) VALUES (1, 1, 'read');
RESET ROLE;
-- The owner (whose functions write the trail): no policy lets it update or delete a row,
-- and the trigger refuses TRUNCATE, and any change once row security is switched off.
SET ROLE regress_ta_owner;
UPDATE ta.audit_log SET action = 'read';
DELETE FROM ta.audit_log;
TRUNCATE ta.audit_log;
BEGIN;
ALTER TABLE ta.audit_log DISABLE ROW LEVEL SECURITY;
UPDATE ta.audit_log SET action = 'read' WHERE id = (SELECT max(id) FROM ta.audit_log);
ROLLBACK;
BEGIN;
ALTER TABLE ta.audit_log NO FORCE ROW LEVEL SECURITY;
DELETE FROM ta.audit_log WHERE id = (SELECT max(id) FROM ta.audit_log);
ROLLBACK;
RESET ROLE;
-- Not even the superuser, while the trigger exists.
UPDATE ta.audit_log SET patient_ids = '{}';
DELETE FROM ta.audit_log;
-- Every row written above is still there.
SELECT count(*) > 30 AS kept, count(*) FILTER (WHERE action NOT IN ('read', 'create', 'update', 'delete', 'export')) AS bad_action
  FROM ta.audit_log;

-- The trail's triggers, table and trigger function cannot be disabled, dropped, replaced or
-- bypassed (a rule or BEFORE INSERT trigger that swallows rows, an UNLOGGED table that a crash
-- empties, a child table) by the application role, nor,
-- in the extension install, by the owner the api runs as (an event trigger that only a
-- superuser can change rolls the command back). The plain-SQL install has no superuser to
-- install that guard: there the owner can (SECURITY.md), and the hash chains below show what
-- it changed. Each attempt that succeeds is rolled back.
GRANT USAGE ON SCHEMA regress TO regress_ta_owner;
CREATE FUNCTION regress.try_ddl(cmd text) RETURNS text
    LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE cmd;
        RAISE EXCEPTION 'allowed' USING ERRCODE = 'P0099';
    EXCEPTION WHEN SQLSTATE 'P0099' THEN
        RETURN 'allowed';
    END;
EXCEPTION WHEN OTHERS THEN
    RETURN 'refused: ' || SQLERRM;
END $$;
CREATE TABLE regress.trail_attacks (n int, cmd text);
GRANT SELECT ON regress.trail_attacks TO regress_ta_app, regress_ta_owner;
INSERT INTO regress.trail_attacks VALUES
    (1, 'ALTER TABLE ta.audit_log DISABLE TRIGGER audit_log_append_only'),
    (2, 'ALTER TABLE ta.audit_log DISABLE TRIGGER USER'),
    (3, 'ALTER TABLE ta.audit_log ENABLE REPLICA TRIGGER audit_log_append_only'),
    (4, 'DROP TRIGGER audit_log_no_truncate ON ta.audit_log'),
    (5, 'CREATE OR REPLACE FUNCTION ta.audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS ''BEGIN RETURN OLD; END'''),
    (6, 'ALTER FUNCTION ta.audit_log_refuse_change() OWNER TO regress_ta_owner'),
    (7, 'CREATE RULE audit_log_quiet AS ON INSERT TO ta.audit_log DO INSTEAD NOTHING'),
    (8, 'CREATE TRIGGER audit_log_swallow BEFORE INSERT ON ta.audit_log FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
    (9, 'ALTER TABLE ta.audit_log DROP COLUMN client_addr'),
    (10, 'ALTER TABLE ta.audit_log RENAME TO audit_log_old'),
    (11, 'ALTER SCHEMA ta RENAME TO ta_old'),
    (12, 'ALTER TABLE ta.audit_log SET UNLOGGED'),
    (13, 'ALTER TABLE ta.audit_log ALTER COLUMN at SET DEFAULT ''2000-01-01'''),
    (14, 'CREATE TABLE ta.audit_log_extra () INHERITS (ta.audit_log)');
SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'therapyassistance') AS extension_install \gset
SET ROLE regress_ta_app;
SELECT n, regress.try_ddl(cmd) LIKE 'refused: %' AS app_refused FROM regress.trail_attacks ORDER BY n;
RESET ROLE;
SET ROLE regress_ta_owner;
SELECT n, (regress.try_ddl(cmd) LIKE 'refused: %') = :'extension_install'::boolean AS owner_as_documented
  FROM regress.trail_attacks ORDER BY n;
-- The extension's answer (the plain-SQL install prints the same line without asking).
SELECT CASE WHEN :'extension_install'::boolean THEN regress.try_ddl(cmd)
            ELSE 'refused: ALTER TABLE refused: the audit trail''s table, triggers and rules are changed by a superuser only' END
       AS owner_refused
  FROM regress.trail_attacks WHERE n = 1;
-- Row-level security's switches stay the owner's (a restore lifts FORCE while it loads the rows),
-- and DDL elsewhere is the owner's as before.
SELECT regress.try_ddl('ALTER TABLE ta.audit_log NO FORCE ROW LEVEL SECURITY') AS owner_no_force,
       regress.try_ddl('CREATE TABLE ta.scratch (x int)') AS owner_other_ddl;
RESET ROLE;
-- The trail is as it was: its triggers enabled and calling the refusing function, no rule.
SELECT t.tgname, t.tgenabled, t.tgfoid::regproc FROM pg_trigger t WHERE t.tgrelid = 'ta.audit_log'::regclass ORDER BY 1;
SELECT count(*) AS rules FROM pg_rewrite WHERE ev_class = 'ta.audit_log'::regclass;
SELECT prosrc ~ 'RAISE EXCEPTION' AS still_refuses FROM pg_proc WHERE oid = 'ta.audit_log_refuse_change()'::regprocedure;
UPDATE ta.audit_log SET patient_ids = '{}';
DROP TABLE regress.trail_attacks;
DROP FUNCTION regress.try_ddl(text);
REVOKE USAGE ON SCHEMA regress FROM regress_ta_owner;

-- Tamper-evident: each row's hash covers its fields and the previous row's hash (per
-- practice and chain, by id); GET /audit/verify recomputes the chains.
SET ROLE regress_ta_app;
SELECT regress.login('ewa@gabinet-e.example.com');
SELECT regress.call($$SELECT api.verify_audit()::jsonb - 'rows' - 'head'$$) AS intact;
SELECT regress.call($$SELECT (api.verify_audit() ->> 'rows')::int > 30 AND length(api.verify_audit() ->> 'head') = 64$$) AS counted;
RESET ROLE;
SELECT (SELECT practice_id FROM ta.users WHERE email LIKE 'ewa@%') AS ewa_practice \gset
SELECT id AS victim FROM ta.audit_log WHERE practice_id = :ewa_practice ORDER BY id OFFSET 5 LIMIT 1 \gset
SELECT l.id AS after_victim FROM ta.audit_log l, ta.audit_log v WHERE v.id = :victim AND l.practice_id = v.practice_id
   AND l.chain = v.chain AND l.id > v.id ORDER BY l.id LIMIT 1 \gset
-- The superuser changes a row behind the triggers' back: that row is named.
ALTER TABLE ta.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE ta.audit_log SET route = 'GET /nic' WHERE id = :victim;
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.verify_audit()::jsonb - 'rows' - 'head'$$)::jsonb ->> 'first_bad_id' = :'victim' AS changed_row_found,
       regress.call($$SELECT api.verify_audit() ->> 'ok'$$) AS ok;
RESET ROLE;
-- ... and recomputes that row's hash too: the next row no longer follows from it.
UPDATE ta.audit_log l SET hash = ta.audit_row_hash((SELECT p.hash FROM ta.audit_log p WHERE p.practice_id = l.practice_id
                                                     AND p.chain = l.chain AND p.id < l.id ORDER BY p.id DESC LIMIT 1), l)
 WHERE id = :victim;
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.verify_audit()::jsonb - 'rows' - 'head'$$)::jsonb ->> 'first_bad_id' = :'after_victim' AS next_row_found;
RESET ROLE;
-- ... or removes the row: the next row is named.
DELETE FROM ta.audit_log WHERE id = :victim;
ALTER TABLE ta.audit_log ENABLE TRIGGER audit_log_append_only;
SET ROLE regress_ta_app;
SELECT regress.call($$SELECT api.verify_audit()::jsonb - 'rows' - 'head'$$)::jsonb ->> 'first_bad_id' = :'after_victim' AS removal_found;
-- Another practice's chain is untouched.
SELECT regress.login('bruno@gabinet-b.example.com');
SELECT regress.call($$SELECT api.verify_audit()::jsonb - 'rows' - 'head'$$) AS other_practice;
RESET ROLE;
-- Rows are written by ta.audit_append only, in the practice's own context.
SET ROLE regress_ta_owner;
SELECT set_config('request.jwt.claims', '', false) IS NOT NULL;
SELECT ta.audit_append(:ewa_practice, 1, 'read', NULL, '{}', NULL, now());
RESET ROLE;
