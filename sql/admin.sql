-- Administration (run by the owner, not granted to the application) and the service
-- routes that need no caller.

CREATE FUNCTION ta.configure(jwt_secret text, jwt_expiration_hours integer DEFAULT 24) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO ta.settings (jwt_secret, jwt_expiration_hours) VALUES (jwt_secret, jwt_expiration_hours)
    ON CONFLICT (singleton) DO UPDATE
        SET jwt_secret = excluded.jwt_secret, jwt_expiration_hours = excluded.jwt_expiration_hours
$$;
COMMENT ON FUNCTION ta.configure(text, integer) IS
    'Sets the JWT secret (the proxy''s JWT_SECRET) and token lifetime in hours.';

CREATE FUNCTION ta.grant_api(app_role name) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    -- Temporary schemas do not count: every role with TEMP may create in its own, and
    -- no function or operator is ever looked up there.
    writable name := (SELECT n.nspname FROM pg_namespace n
                       WHERE has_schema_privilege(app_role, n.oid, 'CREATE')
                         AND n.nspname !~ '^pg_(toast_)?temp_' LIMIT 1);
BEGIN
    IF writable IS NOT NULL THEN
        RAISE EXCEPTION 'role % may create objects in schema %; the application role must not', app_role, writable
            USING HINT = format('REVOKE CREATE ON SCHEMA %I FROM %I (and from PUBLIC)', writable, app_role);
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA api TO %I', app_role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO %I', app_role);
END $$;
COMMENT ON FUNCTION ta.grant_api(name) IS
    'Lets app_role call the api functions, and nothing else.';


-- Service

CREATE FUNCTION api.health() RETURNS json
    LANGUAGE sql STABLE AS $$ SELECT json_build_object('status', 'healthy', 'schema_version', api.schema_version()) $$;
COMMENT ON FUNCTION api.health() IS 'GET /health';

