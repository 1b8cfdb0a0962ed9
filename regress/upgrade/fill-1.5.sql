-- A practice's data written through the api of version 1.5 (run as the application role by
-- regress/upgrade.sh): 1.5 takes the same calls as 1.4, so fill-1.4.sql fills it.
\ir fill-1.4.sql
