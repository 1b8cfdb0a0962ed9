-- Before step @FROM@ -> @TO@ changes anything: the database holds version @FROM@'s tables exactly
-- as released (sql/releases/schema-@FROM@.txt), and the plain-SQL install is upgraded by the
-- role that owns it. Anything else stops the step here, with nothing changed.
DO $check$
DECLARE
    expected text[] := string_to_array($fingerprint$@EXPECTED@$fingerprint$, E'\n');
    found text[];
    missing text[];
    unexpected text[];
    path text := current_setting('search_path');
    zone text := current_setting('timezone');
    schema_owner name := (SELECT nspowner::regrole::name FROM pg_catalog.pg_namespace WHERE nspname = 'ta');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'therapyassistance')
       AND schema_owner IS DISTINCT FROM current_user THEN
        RAISE EXCEPTION 'therapyassistance @FROM@ -> @TO@: run the upgrade as %, the owner of schema ta, not as %; nothing was changed',
            coalesce(schema_owner, '(no schema ta)'), current_user;
    END IF;
    -- read as the release was (sql/release.sh): a timestamptz in a constraint deparses in the session's zone
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);
    PERFORM pg_catalog.set_config('timezone', 'Europe/Warsaw', true);
    SELECT array_agg(line) INTO found FROM (
@FINGERPRINT@
    ) f;
    PERFORM pg_catalog.set_config('search_path', path, true);
    PERFORM pg_catalog.set_config('timezone', zone, true);
    SELECT array_agg(x ORDER BY x) INTO missing FROM unnest(expected) x WHERE x <> ALL (coalesce(found, '{}'));
    SELECT array_agg(x ORDER BY x) INTO unexpected FROM unnest(found) x WHERE x <> ALL (expected);
    IF missing IS NOT NULL OR unexpected IS NOT NULL THEN
        RAISE EXCEPTION 'therapyassistance @FROM@ -> @TO@: the database does not hold the tables of version @FROM@ as released; nothing was changed'
            USING DETAIL = concat_ws(E'\n',
                'missing: ' || array_to_string(missing[1:10], E'\n         '),
                'not in @FROM@: ' || array_to_string(unexpected[1:10], E'\n         ')),
                  HINT = 'Was a table changed by hand? Undo that change (or restore a backup), then upgrade again.';
    END IF;
END $check$;
