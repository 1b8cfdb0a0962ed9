-- The schema version this script leaves (therapyassistance.control's default_version; each
-- upgrade step sets its target). The proxy refuses to serve an older schema than it needs.
CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT '@VERSION@'::text /* therapyassistance schema version */ $$;
COMMENT ON FUNCTION api.schema_version() IS 'The installed schema version, e.g. 1.1 (GET /health).';
