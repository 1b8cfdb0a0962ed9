#!/usr/bin/env bash
# sql/build.sh: writes the install and upgrade scripts of both installs to standard output,
# from the files in sql/ (the current version) and sql/upgrade/FROM--TO/ (a step). Released
# scripts are not built: they are the frozen files in sql/releases/.
#   sql/build.sh install extension|fallback VERSION
#   sql/build.sh step extension|fallback FROM TO
#   sql/build.sh fallback-upgrade          every step, for psql: sql/fallback/upgrade.sql
set -euo pipefail
cd "$(dirname "$0")"

# The current version's files, in the order they depend on each other; native.sql (C) or
# fallback/native.sql (its SQL twin) goes after namespaces.sql.
parts=(tables throttle input caller admin auth patients appointments notes payments password_reset reminders notifier audit)

version_sql() { sed "s/@VERSION@/$1/" schema_version.sql; }
shared() { for p in "${parts[@]}"; do cat "$p.sql"; done; }

install() {  # install KIND VERSION
    if [ "$1" = extension ]; then
        cat extension_head.sql namespaces.sql native.sql; shared; version_sql "$2"; cat privileges.sql extension_tail.sql
    else
        cat fallback/head.sql namespaces.sql fallback/native.sql; shared; version_sql "$2"; cat privileges.sql
    fi
}

# The step's files, numbered by the issue that needs them (sql/upgrade/README.md).
step_sources() { cat "upgrade/$1--$2"/*.sql; }

check() {  # check FROM TO: the guard that the database holds FROM as released
    local expected fingerprint
    expected=$(cat "releases/schema-$1.txt")
    fingerprint=$(sed '/^--/d' upgrade/fingerprint.sql)
    awk -v from="$1" -v to="$2" -v expected="$expected" -v fingerprint="$fingerprint" '
        { gsub(/@FROM@/, from); gsub(/@TO@/, to) }
        /^@FINGERPRINT@$/ { print fingerprint; next }
        { i = index($0, "@EXPECTED@"); if (i) $0 = substr($0, 1, i - 1) expected substr($0, i + 10); print }
    ' upgrade/check.sql
}

step() {  # step KIND FROM TO
    local frozen=releases/$([ "$1" = extension ] && echo therapyassistance || echo fallback)--$2--$3.sql
    if [ -f "$frozen" ]; then cat "$frozen"; return; fi
    if [ "$1" = extension ]; then
        printf -- '-- therapyassistance %s -> %s (built by make from sql/upgrade/%s--%s/).\n' "$2" "$3" "$2" "$3"
        printf '\\echo Use "ALTER EXTENSION therapyassistance UPDATE TO '"'"'%s'"'"'" to load this file. \\quit\n' "$3"
        check "$2" "$3"; step_sources "$2" "$3"; version_sql "$3"; cat privileges.sql extension_tail.sql
    else
        printf -- '-- therapyassistance %s -> %s, plain-SQL install (from sql/upgrade/%s--%s/).\n' "$2" "$3" "$2" "$3"
        check "$2" "$3"; step_sources "$2" "$3"; version_sql "$3"; cat privileges.sql
    fi
}

# Every step there is, "FROM TO" a line, oldest first: the released and the one in the making.
steps() {
    { for f in releases/therapyassistance--*--*.sql; do [ -e "$f" ] && basename "$f" .sql | cut -d- -f3,5; done
      for d in upgrade/*--*/; do [ -d "$d" ] && basename "$d" | sed 's/--/-/'; done; } |
        sort -u -t- -k1,1V | tr - ' '
}

fallback_upgrade() {
    local from to known
    known=$(steps | while read -r from to; do printf "'%s', '%s', " "$from" "$to"; done)
    cat fallback/upgrade_head.sql
    printf "SELECT NOT (:'ta_from' = ANY (ARRAY[%s])) AS ta_unknown \\\\gset\n" "${known%, }"
    cat <<'SQL'
\if :ta_unknown
SELECT set_config('ta.upgrade_from', :'ta_from', false) IS NULL AS ta_unused \gset
DO $$
BEGIN
    RAISE EXCEPTION 'this database has therapyassistance schema version %, which this code does not know; nothing was changed',
        current_setting('ta.upgrade_from')
        USING HINT = 'Is the database newer than this code? Upgrade the code (git pull), then run this script again.';
END $$;
\endif
SQL
    while read -r from to; do
        printf "SELECT :'ta_from' = '%s' AS ta_step \\\\gset\n\\\\if :ta_step\n\\\\echo therapyassistance: upgrading %s to %s\n" \
            "$from" "$from" "$to"
        step fallback "$from" "$to"
        printf '\\set ta_from %s\n\\endif\n' "$to"
    done < <(steps)
    printf 'COMMIT;\n\\echo therapyassistance: schema version :ta_from\n'
}

case ${1:-} in
    install) install "$2" "$3" ;;
    step) step "$2" "$3" "$4" ;;
    fallback-upgrade) fallback_upgrade ;;
    steps) steps ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
