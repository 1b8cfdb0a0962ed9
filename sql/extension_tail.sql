-- Extension only: hand the data and the SECURITY DEFINER functions to the role that
-- created the extension (the script itself runs as a superuser), so that row-level
-- security binds them; C functions stay the superuser's. Then tell pg_dump that the
-- tables hold user data (all but ta.settings, whose secret stays out of backups).
DO $$
DECLARE
    r record;
BEGIN
    ALTER SCHEMA ta OWNER TO @extowner@;
    ALTER SCHEMA api OWNER TO @extowner@;
    ALTER SCHEMA notifier OWNER TO @extowner@;
    FOR r IN SELECT c.oid::regclass AS rel, c.relname FROM pg_class c
              WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO @extowner@', r.rel);
        IF r.relname <> 'settings' THEN
            PERFORM pg_catalog.pg_extension_config_dump(r.rel, '');
        END IF;
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
              WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'S' LOOP
        PERFORM pg_catalog.pg_extension_config_dump(r.rel, '');
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace, 'notifier'::regnamespace)
                AND l.lanname <> 'c' LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO @extowner@', r.fn);
    END LOOP;
    -- A function an upgrade turned from SQL into C (CREATE OR REPLACE keeps its owner) goes
    -- back to the superuser running the script, as a fresh install has it.
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace, 'notifier'::regnamespace)
                AND l.lanname = 'c' AND p.proowner = '@extowner@'::regrole LOOP
        EXECUTE format('ALTER FUNCTION %s OWNER TO CURRENT_USER', r.fn);
    END LOOP;
END $$;

-- Extension only: the trail's triggers are changed by a superuser only. The owner owns
-- ta.audit_log (row-level security needs it) and every api function runs as the owner, so
-- whoever holds the owner's password, or runs SQL through one of its functions, could
-- otherwise disable the append-only trigger (ALTER TABLE ... DISABLE TRIGGER), drop or
-- replace it, add a rule or a BEFORE INSERT trigger that swallows rows, drop a column or
-- change its default, make the table UNLOGGED (emptied by a crash) or give it a child table.
-- An event trigger (only a superuser creates or changes one; this script runs as one)
-- compares, at the end of every DDL command of a non-superuser, the trail's persistence,
-- columns, defaults, inheritance, triggers, rules and trigger function with what this
-- script installed, and rolls the command back when they differ. The trigger function belongs to the superuser (the owner
-- cannot replace it), and so does schema ta_guard (the owner of a schema may drop what is
-- in it). Row-level security switches stay the owner's: a restore lifts FORCE while it loads.
CREATE SCHEMA IF NOT EXISTS ta_guard;
REVOKE ALL ON SCHEMA ta_guard FROM PUBLIC;
COMMENT ON SCHEMA ta_guard IS 'The superuser''s guard of the audit trail (an event trigger).';
ALTER FUNCTION ta.audit_log_refuse_change() OWNER TO CURRENT_USER;
DO $guard$
DECLARE
    -- What the guard compares; only pg_catalog is read, by name, so that it needs no privilege.
    state constant text := $state$
    SELECT pg_catalog.concat_ws(E'\n',
        (SELECT pg_catalog.format('%s %s', c.relkind, c.relpersistence) FROM pg_catalog.pg_class c WHERE c.oid = trail),
        (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s %s %s', a.attname,
                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
                    pg_catalog.pg_get_expr(d.adbin, d.adrelid)), ', ' ORDER BY a.attnum)
           FROM pg_catalog.pg_attribute a
                LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = trail AND a.attnum > 0 AND NOT a.attisdropped),
        (SELECT pg_catalog.count(*) || ' inheritance links' FROM pg_catalog.pg_inherits i
          WHERE i.inhparent = trail OR i.inhrelid = trail),
        (SELECT pg_catalog.string_agg(pg_catalog.format('%s %s', t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid)), ', '
                                      ORDER BY t.tgname)
           FROM pg_catalog.pg_trigger t WHERE t.tgrelid = trail),
        (SELECT pg_catalog.count(*) || ' rules' FROM pg_catalog.pg_rewrite w WHERE w.ev_class = trail),
        (SELECT pg_catalog.format('%s %s %s', r.rolsuper, l.lanname, p.prosrc)
           FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
                JOIN pg_catalog.pg_language l ON l.oid = p.prolang
          WHERE p.oid = refuse))
    $state$;
    trail_sql constant text := $q$(SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                                   WHERE n.nspname = 'ta' AND c.relname = 'audit_log' AND c.relkind = 'r')$q$;
    refuse_sql constant text := $q$(SELECT p.oid FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                                    WHERE n.nspname = 'ta' AND p.proname = 'audit_log_refuse_change' AND p.pronargs = 0)$q$;
    expected text;
BEGIN
    EXECUTE format('SELECT (%s) FROM (SELECT %s AS trail, %s AS refuse) ids', state, trail_sql, refuse_sql) INTO expected;
    EXECUTE format($f$
CREATE OR REPLACE FUNCTION ta_guard.audit_trail_intact() RETURNS event_trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    now_state text;
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RETURN;
    END IF;
    SELECT (%s) INTO now_state FROM (SELECT %s AS trail, %s AS refuse) ids;
    IF now_state IS DISTINCT FROM %L THEN
        RAISE EXCEPTION '%% refused: the audit trail''s table, triggers and rules are changed by a superuser only', tg_tag
            USING ERRCODE = '42501',
                  HINT = 'ta.audit_log is append-only; its hash chains (GET /audit/verify) show what a superuser changed.';
    END IF;
END $body$$f$, state, trail_sql, refuse_sql, expected);
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_event_trigger WHERE evtname = 'ta_audit_trail_guard') THEN
        CREATE EVENT TRIGGER ta_audit_trail_guard ON ddl_command_end EXECUTE FUNCTION ta_guard.audit_trail_intact();
    END IF;
END $guard$;
COMMENT ON FUNCTION ta_guard.audit_trail_intact() IS
    'Rolls back DDL of a non-superuser that changes ta.audit_log''s columns, triggers or rules, or its trigger function.';
REVOKE ALL ON FUNCTION ta_guard.audit_trail_intact() FROM PUBLIC;
