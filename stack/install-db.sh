#!/usr/bin/env bash
# install-db.sh DB OWNER APP SECRET: installs therapyassistance into database DB as
# OWNER (extension or, with TA_INSTALL=fallback, the plain-SQL install), stores the
# JWT secret and lets APP call the api. Does nothing that is already done.
# A database of an older schema version is backed up (make backup's file; BACKUP=0: not)
# and upgraded in one transaction; on failure it is left as it was. A newer one is refused.
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
current=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$ROOT/therapyassistance.control")
if [ -n "$installed" ]; then
    # 1.0 did not record its version: a plain-SQL install without api.schema_version() is 1.0.
    have=$(as_owner -tA -c "SELECT coalesce((SELECT extversion FROM pg_extension WHERE extname = 'therapyassistance'),
                                            CASE WHEN to_regprocedure('api.schema_version()') IS NULL THEN '1.0' END)")
    [ -n "$have" ] || have=$(as_owner -tA -c 'SELECT api.schema_version()')
    if [ "$have" != "$current" ] && [ "$(printf '%s\n' "$have" "$current" | sort -V | tail -n 1)" = "$have" ]; then
        say "database $db has schema version $have, newer than this code's $current: nothing was changed."
        say "run the code of version $have or newer against it (git log, git pull), or restore a backup of $current."
        exit 1
    fi
    if [ "$have" != "$current" ]; then
        backup=
        if [ "${BACKUP:-1}" != 0 ]; then
            backup=$(TA_DB=$db TA_OWNER=$owner TA_APP=$app "$ROOT/ops/stack-db.sh" backup | tail -n 1) || {
                say "could not back up $db before upgrading it: nothing was changed"; exit 1; }
            say "backed up $db (schema $have) to $backup"
        fi
        say "upgrading $db from schema $have to $current ($TA_INSTALL install), in one transaction"
        if [ "$TA_INSTALL" = fallback ]; then
            upgraded() { as_owner -f "$ROOT/sql/fallback/upgrade.sql" >/dev/null; }
        else
            upgraded() { as_owner -c "ALTER EXTENSION therapyassistance UPDATE TO '$current'"; }
        fi
        if ! upgraded; then
            say "the upgrade of $db failed (the error above says why): it still holds schema $have, unchanged${backup:+; backup: $backup}"
            exit 1
        fi
        say "$db now has schema $current"
    fi
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
