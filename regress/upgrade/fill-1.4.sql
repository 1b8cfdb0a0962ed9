-- A practice's data written through the api of version 1.4 (run as the application role by
-- regress/upgrade.sh): 1.4 takes the same calls as 1.3, so fill-1.3.sql fills it.
\ir fill-1.3.sql
