-- Privileges and search paths: run last, by every install and every upgrade step, over
-- every api function there is then (so it must stay idempotent).

-- The application reaches only the api schema (ta.grant_api); nobody else reaches
-- anything by default. Every SECURITY DEFINER function runs with a pinned search_path:
-- pg_catalog, then pgcrypto's schema (bcrypt, and HMAC in the plain-SQL install), then
-- pg_temp last, so no object a caller could create is ever looked up first. Every object
-- the functions name themselves is schema-qualified anyway.
-- Roles that were already granted the api (ta.grant_api) are granted the functions an
-- upgrade adds.
DO $$
DECLARE
    crypto_schema name := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                            WHERE e.extname = 'pgcrypto');
    r record;
BEGIN
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
    FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace) AND p.prosecdef LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, %I, pg_temp', r.fn, crypto_schema);
    END LOOP;
    FOR r IN SELECT a.grantee::regrole AS role FROM pg_namespace n, aclexplode(n.nspacl) a
              WHERE n.nspname = 'api' AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner LOOP
        EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO %s', r.role);
    END LOOP;
END $$;
