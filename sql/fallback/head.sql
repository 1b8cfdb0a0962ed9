-- therapyassistance, plain-SQL install (built by `make fallback-sql` from the files in sql/),
-- for a PostgreSQL where no C extension can be installed, such as a shared one.
-- Run it as the database owner, in one transaction:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -f sql/fallback/therapyassistance.sql
SET client_min_messages = warning;

-- Row-level security never applies to superusers, and the api functions run as the
-- role that installs them: it must be an ordinary one (the database owner).
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'therapyassistance must be installed by the database owner, not by a superuser'
            USING HINT = 'row-level security does not bind superusers.';
    END IF;
END $$;

-- Trusted extensions: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS btree_gist;
