-- The shape of the install: row-level security forced on every practice table, the
-- tenant column indexed, money and time types, who owns what and what the app may do.
SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       pg_get_userbyid(c.relowner) AS owner
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' ORDER BY 1;

-- Every table with practice_id has an index that starts with it.
SELECT c.relname,
       EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = c.oid AND a.attname = 'practice_id') AS practice_id_indexed
  FROM pg_class c
 WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r'
   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'practice_id')
 ORDER BY 1;

SELECT table_name, column_name, data_type, numeric_precision, numeric_scale
  FROM information_schema.columns
 WHERE table_schema = 'ta' AND (data_type IN ('numeric', 'timestamp with time zone', 'timestamp without time zone'))
 ORDER BY 1, 2;

SELECT conrelid::regclass, conname, contype FROM pg_constraint
 WHERE connamespace = 'ta'::regnamespace AND contype IN ('c', 'x', 'f') ORDER BY 1::text, 2;

SELECT polrelid::regclass, polname, polcmd FROM pg_policy ORDER BY 1::text, 2;

-- The application role: no superuser, no BYPASSRLS, owns nothing, may call only the api.
SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = 'regress_ta_app';
SELECT count(*) AS owned_by_app FROM pg_class WHERE relowner = 'regress_ta_app'::regrole;
SELECT c.relname, has_table_privilege('regress_ta_app', c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS any_privilege
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' ORDER BY 1;
SELECT has_schema_privilege('regress_ta_app', 'ta', 'USAGE') AS ta_usage,
       has_schema_privilege('regress_ta_app', 'api', 'USAGE') AS api_usage;
SELECT p.oid::regprocedure AS api_function, has_function_privilege('regress_ta_app', p.oid, 'EXECUTE') AS can_execute,
       p.prosecdef AS security_definer, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
  FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace ORDER BY p.proname;
-- PUBLIC may not call the api.
SELECT count(*) AS public_executable FROM pg_proc p
 WHERE p.pronamespace = 'api'::regnamespace AND has_function_privilege('public', p.oid, 'EXECUTE');

-- Every SECURITY DEFINER function pins its search_path, pg_catalog first and pg_temp last.
SELECT p.oid::regprocedure AS unpinned FROM pg_proc p
 WHERE p.pronamespace IN ('ta'::regnamespace, 'api'::regnamespace) AND p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c ~ '^search_path=pg_catalog, .*pg_temp$');

-- The installed schema version is the one therapyassistance.control states.
SELECT api.schema_version() ~ '^[0-9]+\.[0-9]+$' AS versioned;
