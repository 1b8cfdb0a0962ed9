-- A practice's data written through the api of version 1.3 (run as the application role by
-- regress/upgrade.sh). 1.3 keeps a new appointment's reminders on its own row until they are
-- attempted, but takes the same calls as 1.2: fill-1.2.sql fills 1.3 too.
\ir fill-1.2.sql
