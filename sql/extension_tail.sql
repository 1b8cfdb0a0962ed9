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
END $$;
