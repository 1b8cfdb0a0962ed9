-- A practice's data written through the api of version 1.2 (run as the application role by
-- regress/upgrade.sh). 1.2 changed how the api works inside, not what it takes: every call of
-- fill-1.1.sql is a call 1.2's api accepts, so that file fills 1.2 too.
\ir fill-1.1.sql
