-- therapyassistance extension, version 1.0 (built by `make` from the files in sql/).
\echo Use "CREATE EXTENSION therapyassistance CASCADE" to load this file. \quit

-- Row-level security never applies to superusers, and the api functions run as the
-- role that creates the extension: that role must be an ordinary one (the database
-- owner; the extension is trusted, so it may create it).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE quote_ident(rolname) = '@extowner@') THEN
        RAISE EXCEPTION 'therapyassistance must be created by the database owner, not by a superuser'
            USING HINT = 'Run CREATE EXTENSION therapyassistance CASCADE as the owner role: '
                         'row-level security does not bind superusers.';
    END IF;
END $$;
