#!/usr/bin/env bash
# regress/upgrade.sh [extension|fallback]: every released version upgrades to this code's, on
# that install, keeping every row. For each released version V (sql/releases/):
#  1. a fresh V holds exactly the tables sql/releases/schema-V.txt describes (what the step's
#     guard expects);
#  2. V filled through its api (regress/upgrade/fill-V.sql), upgraded the way make up does it
#     (stack/install-db.sh): every table and sequence of V reads back identical, column by column;
#  3. the upgraded schema equals a fresh install's (pg_dump --schema-only, normalised);
#  4. an upgrade that meets a table changed by hand, the wrong role or a newer schema stops
#     with a message and changes nothing.
# The regress suite on an upgraded database is regress/run.sh with UPGRADE_FROM=V.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
install=${1:-$TA_INSTALL}
owner=regress_ta_owner app=regress_ta_app other=regress_ta_other notifier=regress_ta_notifier
secret="regress-secret-do-not-use-0123456789abcdef"
out=$WORK/regress/upgrade-$install
current=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$ROOT/therapyassistance.control")
failures=0
mkdir -p "$out"

check() {  # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then say "ok: $1"; else say "FAILED: $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
q() { local db=$1; shift; psql_super -d "$db" -tA "$@"; }
as() { local role=$1 db=$2; shift 2; "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$role" -d "$db" "$@"; }
fresh_db() {
    psql_super -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" \
        -c "CREATE DATABASE $1 OWNER $owner"
}
# install_released DB VERSION: the frozen install script of VERSION, configured, the api granted.
install_released() {
    if [ "$install" = extension ]; then
        as "$owner" "$1" -c "SET client_min_messages = warning" -c "CREATE EXTENSION therapyassistance VERSION '$2' CASCADE"
    else
        as "$owner" "$1" -1 -f "$ROOT/sql/releases/fallback--$2.sql" >/dev/null
    fi
    as "$owner" "$1" -c "SELECT ta.configure('$secret')" -c "SELECT ta.grant_api('$app')" >/dev/null
}
# The upgrade runs in a session far east of Warsaw (PGTZ): a step that read a 1.0 date in the
# session's TimeZone instead of Europe/Warsaw's would move payments to the day before.
upgrade() { PGTZ=Asia/Tokyo TA_INSTALL=$install BACKUP=${BACKUP:-0} "$ROOT/stack/install-db.sh" "$1" "$owner" "$app" "$secret"; }
version() {  # 1.0 did not record its version
    if [ "$(q "$1" -c "SELECT to_regprocedure('api.schema_version()') IS NULL")" = t ]; then echo 1.0; else
        q "$1" -c 'SELECT api.schema_version()'; fi
}
fingerprint() { PGTZ=Europe/Warsaw q "$1" -f "$ROOT/sql/upgrade/fingerprint.sql"; }  # as sql/release.sh reads it
# The schema as pg_dump sees it; --binary-upgrade makes it list an extension's members too.
# Left out: comments, settings, OIDs and the dump's random \restrict key.
schema() {
    "$PGBIN/pg_dump" -U postgres --schema-only --binary-upgrade --no-tablespaces "$1" |
        grep -Ev '^(--|SET |SELECT pg_catalog\.(set_config|setval|binary_upgrade_)|WHERE oid = |\\(un)?restrict |$)'
    q "$1" -c "SELECT 'dumped with data: ' || string_agg(c::regclass::text, ', ' ORDER BY c::regclass::text)
                 FROM pg_extension e, unnest(e.extconfig) c WHERE e.extname = 'therapyassistance'"
}

psql_super -d postgres >/dev/null <<SQL
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['$owner', '$app', '$other', '$notifier']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SQL

fresh_db ta_upgrade_fresh
TA_INSTALL=$install "$ROOT/stack/install-db.sh" ta_upgrade_fresh "$owner" "$app" "$secret"
# The notifier granted as make up does after every install or upgrade (stack/db.sh), here and upgraded below.
grant_notifier() { as "$owner" "$1" -c "SELECT ta.grant_notifier('$notifier')" >/dev/null; }
grant_notifier ta_upgrade_fresh
schema ta_upgrade_fresh > "$out/fresh.schema"

for released in "$ROOT"/sql/releases/schema-*.txt; do
    from=$(basename "$released" .txt); from=${from#schema-}
    [ "$from" != "$current" ] || continue  # released and current: nothing to upgrade from yet
    db=ta_upgrade_from_$(echo "$from" | tr . _)
    fresh_db "$db"
    install_released "$db" "$from"
    check "a fresh $from ($install) holds the tables sql/releases/schema-$from.txt describes" \
        "$(cat "$released")" "$(fingerprint "$db")"

    as "$app" "$db" -f "$ROOT/regress/upgrade/fill-$from.sql"
    # The notifier's part (from 1.1: ta.senders, messages sent and failed), granted as make up does.
    if [ -f "$ROOT/regress/upgrade/fill-$from-notifier.sql" ]; then
        grant_notifier "$db"
        as "$notifier" "$db" -f "$ROOT/regress/upgrade/fill-$from-notifier.sql"
    fi
    q "$db" -f "$ROOT/regress/upgrade/row-queries.sql" > "$out/rows-$from.sql"
    q "$db" -f "$out/rows-$from.sql" > "$out/rows-before"
    check "$from was filled through its api (rows in every table)" "" \
        "$(awk -F'|' 'NF == 3 && $2 == 0 { print $1 }' "$out/rows-before")"

    # As make up does it: a backup first (make backup's file), then the upgrade.
    rm -rf "$out/backups"
    BACKUP=1 BACKUP_DIR=$out/backups upgrade "$db" > "$out/upgrade.log" 2>&1 ||
        { cat "$out/upgrade.log" >&2; failures=$((failures + 1)); }
    backup=$(sed -n "s/^backed up $db (schema $from) to //p" "$out/upgrade.log")
    check "the upgrade said it backed $from up first, into a file that is there" "1" "$([ -s "$backup" ] && echo 1)"
    check "$from upgraded to $current ($install)" "$current" "$(version "$db")"
    q "$db" -f "$out/rows-$from.sql" > "$out/rows-after" 2>&1
    check "every row of $from reads back unchanged after the upgrade" "$(cat "$out/rows-before")" "$(cat "$out/rows-after")"
    if [ "$from" = 1.0 ]; then
        # 1.0 archived a patient's appointments with the patient: 1.1 marks those for a restore, not
        # the ones archived on their own.
        check "appointments 1.0 archived with their patient are marked so, the others not" \
            "Anna Kowalska 2026-11-09 f|Do archiwum 2026-11-03 t" \
            "$(q "$db" -c "SELECT string_agg(concat_ws(' ', p.name, a.date, a.archived_with_patient), '|' ORDER BY a.id)
                             FROM ta.appointments a JOIN ta.patients p ON p.id = a.patient_id WHERE a.deleted_at IS NOT NULL")"
    fi
    grant_notifier "$db"
    schema "$db" > "$out/upgraded.schema"
    if diff -u "$out/fresh.schema" "$out/upgraded.schema" > "$out/schema.diff"; then
        say "ok: the schema upgraded from $from equals a fresh $current install ($install)"
    else
        say "FAILED: the schema upgraded from $from differs from a fresh $current install ($install):"
        head -60 "$out/schema.diff" >&2
        failures=$((failures + 1))
    fi
    if [ "$from" != 1.0 ]; then
        # Reminders $from left pending (outbox rows) are still sent by $current's notifier (issue 17: new
        # appointments' reminders wait on their rows now; the claim takes the outbox's first).
        pending=$(q "$db" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM ta.outbox
                               WHERE kind = 'reminder' AND status = 'pending'")
        q "$db" -c "UPDATE ta.outbox SET send_at = now() - interval '1 second' WHERE id IN ($pending)" >/dev/null
        for _ in ${pending//,/ }; do
            as "$notifier" "$db" -c "SELECT count(notifier.record_sent(m.id)) FROM notifier.claim('https://x.example', '{email,sms}') m" >/dev/null
        done
        check "the reminders $from left pending are sent by $current's notifier" "sent" \
            "$(q "$db" -c "SELECT string_agg(DISTINCT status::text, ',') FROM ta.outbox WHERE id IN ($pending)")"
    fi
    check "the audit rows of $from are chained by the upgrade (every practice's chain verifies)" "0" \
        "$(q "$db" -c "SELECT count(*) FROM (SELECT l.hash, ta.audit_row_hash(lag(l.hash) OVER (PARTITION BY l.practice_id,
                                                l.chain ORDER BY l.id), l) AS expected FROM ta.audit_log l) c
                        WHERE hash IS DISTINCT FROM expected")"

    # make restore of the backup taken on V: restored, then upgraded in the same transaction. On a shared
    # PostgreSQL (no superuser: TA_ADMIN empty) the plain-SQL install is restored into new schemas.
    for admin in postgres $([ "$install" = fallback ] && echo '""'); do
        admin=${admin//\"/}
        # A row the backup does not hold: gone once the restore has replaced the data.
        psql_super -d "$db" -c "INSERT INTO ta.practices (name) VALUES ('after the backup')"
        TA_DB=$db TA_OWNER=$owner TA_APP=$app TA_ADMIN=$admin BACKUP_DIR=$out/backups JWT_SECRET=$secret \
            "$ROOT/ops/stack-db.sh" restore "$backup" --yes > "$out/restore.log" 2>&1 || cat "$out/restore.log" >&2
        check "a backup of $from restores and is upgraded to $current (${admin:-owner only})" "$current" "$(version "$db")"
        q "$db" -f "$out/rows-$from.sql" > "$out/rows-after" 2>&1
        check "... with every row of $from unchanged" "$(cat "$out/rows-before")" "$(cat "$out/rows-after")"
    done

    # Bad input: each attempt must stop with its message and leave the database as it was.
    fresh_db "$db"
    install_released "$db" "$from"
    before=$(fingerprint "$db")
    as "$owner" "$db" -c "ALTER TABLE ta.patients ADD COLUMN pesel text"
    rc=0; msg=$(upgrade "$db" 2>&1) || rc=$?
    check "a table changed by hand stops the upgrade, naming the change" "1 1" \
        "$([ $rc != 0 ] && echo 1) $(grep -q 'column ta.patients.pesel' <<<"$msg" && echo 1)"
    check "... and leaves $from as it was" "$from|$before" "$(version "$db")|$(fingerprint "$db" | grep -v ' ta.patients.pesel ')"
    as "$owner" "$db" -c "ALTER TABLE ta.patients DROP COLUMN pesel"
    if [ "$install" = fallback ]; then
        rc=0; msg=$(as "$other" "$db" -f "$ROOT/sql/fallback/upgrade.sql" 2>&1) || rc=$?
        check "an upgrade by a role that does not own the schema stops" "1 1" \
            "$([ $rc != 0 ] && echo 1) $(grep -q "run the upgrade as $owner" <<<"$msg" && echo 1)"
        check "... and leaves $from as it was" "$from" "$(version "$db")"
    fi
done

# This version's own backups restore row for row (make restore): fill-V.sql's data (reminders, consents,
# cancellations) goes back as it was, on both installs; no trigger restamps or adds a row. A version in
# the making has no fill file of its own yet: the newest released one's calls fill it.
fill=$(find "$ROOT/regress/upgrade" -name 'fill-[0-9]*.sql' ! -name '*-notifier.sql' -printf '%f\n' |
           sed 's/^fill-\(.*\)\.sql$/\1/' | { cat; echo "$current"; } | sort -V | sed -n "/^$current\$/q;p" | tail -n 1)
[ ! -f "$ROOT/regress/upgrade/fill-$current.sql" ] || fill=$current
if [ -n "$fill" ]; then
    db=ta_upgrade_current
    fresh_db "$db"
    TA_INSTALL=$install "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" "$secret"
    as "$app" "$db" -f "$ROOT/regress/upgrade/fill-$fill.sql"
    if [ -f "$ROOT/regress/upgrade/fill-$fill-notifier.sql" ]; then
        grant_notifier "$db"
        as "$notifier" "$db" -f "$ROOT/regress/upgrade/fill-$fill-notifier.sql"
    fi
    q "$db" -f "$ROOT/regress/upgrade/row-queries.sql" > "$out/rows-$current.sql"
    q "$db" -f "$out/rows-$current.sql" > "$out/rows-before"
    check "$current was filled through its api (rows in every table)" "" \
        "$(awk -F'|' 'NF == 3 && $2 == 0 { print $1 }' "$out/rows-before")"
    rm -rf "$out/backups"
    backup=$(TA_DB=$db TA_OWNER=$owner TA_APP=$app BACKUP_DIR=$out/backups "$ROOT/ops/stack-db.sh" backup 2>/dev/null | tail -n 1)
    for admin in postgres $([ "$install" = fallback ] && echo '""'); do
        admin=${admin//\"/}
        # A row the backup does not hold: gone once the restore has replaced the data.
        psql_super -d "$db" -c "INSERT INTO ta.practices (name) VALUES ('after the backup')"
        TA_DB=$db TA_OWNER=$owner TA_APP=$app TA_ADMIN=$admin BACKUP_DIR=$out/backups JWT_SECRET=$secret \
            "$ROOT/ops/stack-db.sh" restore "$backup" --yes > "$out/restore.log" 2>&1 || cat "$out/restore.log" >&2
        q "$db" -f "$out/rows-$current.sql" > "$out/rows-after" 2>&1
        check "a backup of $current restores with every row unchanged (${admin:-owner only}, $install)" \
            "$(cat "$out/rows-before")" "$(cat "$out/rows-after")"
    done
fi

# A schema newer than this code: nothing is done to it, and the message says so.
db=ta_upgrade_newer
fresh_db "$db"
TA_INSTALL=$install "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" "$secret"
if [ "$install" = fallback ]; then
    as "$owner" "$db" -c "CREATE OR REPLACE FUNCTION api.schema_version() RETURNS text LANGUAGE sql IMMUTABLE AS \$\$ SELECT '9.0'::text \$\$"
else
    psql_super -d "$db" -c "UPDATE pg_extension SET extversion = '9.0' WHERE extname = 'therapyassistance'"
fi
rc=0; msg=$(upgrade "$db" 2>&1) || rc=$?
check "a database newer than this code is refused, naming both versions" "1 1" \
    "$([ $rc != 0 ] && echo 1) $(grep -q "9.0.*$current" <<<"$msg" && echo 1)"
if [ "$install" = fallback ]; then
    rc=0; msg=$(as "$owner" "$db" -f "$ROOT/sql/fallback/upgrade.sql" 2>&1) || rc=$?
    check "sql/fallback/upgrade.sql refuses it too" "1 1" "$([ $rc != 0 ] && echo 1) $(grep -q 'version 9.0' <<<"$msg" && echo 1)"
fi

# Released scripts are never edited: each is the file its release froze (sql/releases/SHA256SUMS).
check "the released scripts are as released" "" "$(cd "$ROOT/sql/releases" && sha256sum --quiet -c SHA256SUMS 2>&1)"
# ... and the sources cannot change a released version behind its back: built from sources changed
# after the release, a released version's install script is refused (in a copy of sql/).
for frozen in "$ROOT"/sql/releases/fallback--*.sql; do
    v=$(basename "$frozen" .sql); v=${v#fallback--}
    [[ $v != *--* ]] || continue
    rm -rf "$out/sql" && cp -r "$ROOT/sql" "$out/sql" && echo "-- changed after the release" >> "$out/sql/notes.sql"
    rc=0; msg=$("$out/sql/build.sh" install "$install" "$v" 2>&1 >/dev/null) || rc=$?
    check "a source changed after $v's release does not build into $v ($install)" "1 1" \
        "$([ $rc != 0 ] && echo 1) $(grep -q "no longer builds $v as it was released" <<<"$msg" && echo 1)"
done

if [ $failures = 0 ]; then say "upgrade ($install): all checks passed"; else say "upgrade ($install): $failures checks failed"; fi
[ $failures = 0 ]
