-- therapyassistance, plain-SQL install: upgrades the schema to this code's version, step by
-- step, in one transaction (built by `make fallback-sql` from sql/upgrade/ and sql/releases/).
-- Run it as the database owner:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f sql/fallback/upgrade.sql
-- Any error rolls every step back: the database is then exactly as it was.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
BEGIN; -- the whole upgrade
DO $$
BEGIN
    IF to_regnamespace('api') IS NULL OR to_regnamespace('ta') IS NULL THEN
        RAISE EXCEPTION 'therapyassistance is not installed in this database; nothing was changed'
            USING HINT = 'Install it with sql/fallback/therapyassistance.sql.';
    ELSIF EXISTS (SELECT FROM pg_extension WHERE extname = 'therapyassistance') THEN
        RAISE EXCEPTION 'this database has the extension install; nothing was changed'
            USING HINT = 'Upgrade it with ALTER EXTENSION therapyassistance UPDATE.';
    ELSIF (SELECT nspowner::regrole::name FROM pg_namespace WHERE nspname = 'ta') <> current_user THEN
        RAISE EXCEPTION 'run the upgrade as %, the owner of schema ta, not as %; nothing was changed',
            (SELECT nspowner::regrole::name FROM pg_namespace WHERE nspname = 'ta'), current_user;
    END IF;
END $$;
-- 1.0 did not record its version: a schema without api.schema_version() is 1.0.
SELECT to_regprocedure('api.schema_version()') IS NOT NULL AS ta_versioned \gset
\if :ta_versioned
SELECT api.schema_version() AS ta_from \gset
\else
\set ta_from 1.0
\endif
