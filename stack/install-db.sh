#!/usr/bin/env bash
# install-db.sh DB OWNER APP SECRET: installs therapyassistance into database DB as
# OWNER (extension or, with TA_INSTALL=fallback, the plain-SQL install), stores the
# JWT secret and lets APP call the api. Does nothing that is already done.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"
db=$1 owner=$2 app=$3 secret=$4

as_owner() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$owner" -d "$db" "$@"; }

installed=$(as_owner -tA -c "SELECT CASE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = 'therapyassistance')
                                       THEN 'extension'
                                       WHEN EXISTS (SELECT FROM pg_namespace WHERE nspname = 'api') THEN 'fallback'
                                  END")
if [ -n "$installed" ] && [ "$installed" != "$TA_INSTALL" ]; then
    say "database $db already has the $installed install, not $TA_INSTALL; nothing was changed."
    say "to switch, back up its data and drop it first: $PGBIN/psql -h $PGSOCK -p $DB_PORT -U postgres -c 'DROP DATABASE $db'"
    exit 1
fi
if [ -z "$installed" ]; then
    if [ "$TA_INSTALL" = fallback ]; then
        as_owner -1 -f "$ROOT/sql/fallback/therapyassistance.sql" >/dev/null
    else
        as_owner -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION therapyassistance CASCADE' >/dev/null
    fi
fi
as_owner -v secret="$secret" -v app="$app" -v hours="${JWT_EXPIRATION_HOURS:-24}" <<'SQL' >/dev/null
SELECT ta.configure(:'secret', :'hours')
 WHERE NOT EXISTS (SELECT FROM ta.settings WHERE jwt_secret = :'secret' AND jwt_expiration_hours = :'hours');
SELECT ta.grant_api(:'app');
SQL
