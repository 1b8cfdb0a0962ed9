#!/usr/bin/env bash
# regress/run.sh [extension|fallback]: the pg_regress suite and the isolation specs,
# against a fresh database of that install in the local cluster (started if needed).
# The same files and expected output serve both installs. With UPGRADE_FROM=V the
# database gets the released version V first, which install-db.sh then upgrades.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
install=${1:-$TA_INSTALL}
db=ta_regress_$install
owner=regress_ta_owner
app=regress_ta_app
out=$WORK/regress/$install
pgxs_test=$(dirname "$(pg_config --pgxs)")/../test
tests=(setup schema validation json_rows jwt passwords throttle sessions patients appointments notes payments rls claims bad_input audit
       scheduling calendar_feed reminders outbox_practice payment_dates archiving)
specs=(overlap double_payment login_race audit_chain series_race)

pg_running || { say "PostgreSQL is not running: make up (or make test) first"; exit 1; }
psql_super -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['$owner', '$app']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
CREATE DATABASE $db OWNER $owner;
SQL
if [ -n "${UPGRADE_FROM:-}" ]; then
    if [ "$install" = extension ]; then
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$owner" -d "$db" -c "SET client_min_messages = warning" \
            -c "CREATE EXTENSION therapyassistance VERSION '$UPGRADE_FROM' CASCADE"
    else
        "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$owner" -d "$db" -1 -f "$ROOT/sql/releases/fallback--$UPGRADE_FROM.sql" >/dev/null
    fi
fi
TA_INSTALL=$install BACKUP=0 "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" \
    "regress-secret-do-not-use-0123456789abcdef"

mkdir -p "$out/regress" "$out/isolation"
common=(--use-existing --dbname="$db" --user=postgres --host="$PGSOCK" --port="$DB_PORT"
        --inputdir="$ROOT/regress" --bindir="$PGBIN")
status=0
"$pgxs_test/regress/pg_regress" "${common[@]}" --outputdir="$out/regress" "${tests[@]}" || status=1
"$pgxs_test/isolation/pg_isolation_regress" "${common[@]}" --outputdir="$out/isolation" "${specs[@]}" || status=1
if [ $status != 0 ]; then
    say "regress ($install) failed:"
    cat "$out"/*/regression.diffs >&2 2>/dev/null || true
fi
exit $status
