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
parts=(tables throttle input caller admin auth patients appointments notes payments audit scheduling calendar_feed
       password_reset reminders notifier)

version_sql() { sed "s/@VERSION@/$1/" schema_version.sql; }
# The extension's comment names the version too: a backup holds it (pg_dump leaves out the
# extension's functions), so a restore knows which version to create before upgrading.
extension_version_sql() {
    printf "COMMENT ON EXTENSION therapyassistance IS\n    'TherapyAssistance schema %s: patients, appointments, session notes and payments with row-level security';\n" "$1"
}
shared() { for p in "${parts[@]}"; do cat "$p.sql"; done; }

build_install() {  # build_install KIND VERSION: the install script from the current sources
    if [ "$1" = extension ]; then
        cat extension_head.sql namespaces.sql native.sql; version_sql "$2"; shared; extension_version_sql "$2"; cat extension_tail.sql privileges.sql
    else
        cat fallback/head.sql namespaces.sql fallback/native.sql; version_sql "$2"; shared; cat privileges.sql
    fi
}

frozen_install() { if [ "$1" = extension ]; then echo "releases/therapyassistance--$2.sql"; else echo "releases/fallback--$2.sql"; fi; }

# A released version's scripts are frozen: once VERSION is released, the sources must still build exactly
# its scripts, for both installs. A schema change after a release belongs to the next version.
released_unchanged() {  # released_unchanged VERSION
    local kind frozen
    for kind in extension fallback; do
        frozen=$(frozen_install "$kind" "$1")
        [ -f "$frozen" ] || continue
        build_install "$kind" "$1" | cmp -s - "$frozen" && continue
        echo "sql/build.sh: sql/ no longer builds $1 as it was released (sql/$frozen). A schema change after a" \
             "release is the next version's: set default_version to it in therapyassistance.control and put the" \
             "change's step into sql/upgrade/$1--NEXT/ (see sql/README.md)." >&2
        return 1
    done
}

install() {  # install KIND VERSION
    released_unchanged "$2"
    build_install "$1" "$2"
}

# The step's files, in name order. A line "-- @function NAME" stands for the definition of
# function NAME in the current sources (with its comment), as CREATE OR REPLACE: a step names
# the functions it changes instead of copying them (their bodies are frozen with the release).
step_sources() {  # step_sources KIND FROM TO
    local line
    for f in "upgrade/$2--$3"/*.sql; do
        while IFS= read -r line; do
            if [[ $line =~ ^--\ @function\ ([a-z_]+\.[a-z_0-9]+)$ ]]; then
                function_source "$1" "${BASH_REMATCH[1]}"
            elif [[ $line =~ ^--\ @aggregate\ ([a-z_]+\.[a-z_0-9]+)$ ]]; then
                aggregate_source "$1" "${BASH_REMATCH[1]}"
            else
                printf '%s\n' "$line"
            fi
        done < "$f"
    done
}

# function_source KIND NAME: CREATE OR REPLACE FUNCTION NAME(...) ...; and the COMMENT ON FUNCTION
# that follows it, from the current sources (a C function from the install's own native.sql,
# fallback/native.sql for the plain-SQL twin); fails when no file defines NAME. The definition
# ends at the first line ending in ";" outside a $$ body.
function_source() {
    local p found='' native=native
    [ "$1" = fallback ] && native=fallback/native
    for p in "$native" "${parts[@]}"; do
        found=$(awk -v head="CREATE FUNCTION $2(" '
            !on && index($0, head) == 1 { on = 1; sub(/^CREATE FUNCTION/, "CREATE OR REPLACE FUNCTION") }
            on == 1 { print; quotes += gsub(/\$\$/, "&"); if (quotes % 2 == 0 && $0 ~ /;[ \t]*$/) on = 2; next }
            on == 2 && /^COMMENT ON FUNCTION / { on = 3 }
            on == 3 { print; if ($0 ~ /;[ \t]*$/) exit; next }
            on == 2 { exit }' "$p.sql")
        if [ -n "$found" ]; then printf '%s\n' "$found"; return; fi
    done
    echo "sql/build.sh: no function $2 in the sources (named by a step's -- @function line)" >&2
    return 1
}

# aggregate_source KIND NAME: an aggregate, which may differ between the installs (its support
# functions are named NAME_*, each install's own in its native file): those functions as
# function_source writes them, then CREATE OR REPLACE AGGREGATE NAME(...) with its COMMENT.
aggregate_source() {
    local native=native fn
    [ "$1" = fallback ] && native=fallback/native
    while IFS= read -r fn; do
        function_source "$1" "$fn"
    done < <(sed -n "s/^CREATE FUNCTION \($2_[a-z0-9_]*\)(.*/\1/p" "$native.sql" | sort -u)
    awk -v head="CREATE AGGREGATE $2(" '
        !on && index($0, head) == 1 { on = 1; sub(/^CREATE AGGREGATE/, "CREATE OR REPLACE AGGREGATE") }
        on == 1 { print; if ($0 ~ /;[ \t]*$/) on = 2; next }
        on == 2 && /^COMMENT ON AGGREGATE / { on = 3 }
        on == 3 { print; if ($0 ~ /;[ \t]*$/) { found = 1; exit } next }
        on == 2 { found = 1; exit }
        END { if (!found && on < 2) { print "sql/build.sh: no aggregate " substr(head, 18) ") in sql/'"$native"'.sql" > "/dev/stderr"; exit 1 } }' "$native.sql"
}

check() {  # check FROM TO: the guard that the database holds FROM as released
    local expected fingerprint
    expected=$(cat "releases/schema-$1.txt")
    fingerprint=$(sed '/^--/d' upgrade/fingerprint.sql)
    # (the texts through the environment: awk -v would turn a constraint's '[\r\n]' into line breaks)
    EXPECTED=$expected FINGERPRINT=$fingerprint awk -v from="$1" -v to="$2" '
        BEGIN { expected = ENVIRON["EXPECTED"]; fingerprint = ENVIRON["FINGERPRINT"] }
        { gsub(/@FROM@/, from); gsub(/@TO@/, to) }
        /^@FINGERPRINT@$/ { print fingerprint; next }
        { i = index($0, "@EXPECTED@"); if (i) $0 = substr($0, 1, i - 1) expected substr($0, i + 10); print }
    ' upgrade/check.sql
}

step() {  # step KIND FROM TO
    local frozen=releases/fallback--$2--$3.sql
    [ "$1" = fallback ] || frozen=releases/therapyassistance--$2--$3.sql
    if [ -f "$frozen" ]; then cat "$frozen"; return; fi
    if [ "$1" = extension ]; then
        printf -- '-- therapyassistance %s -> %s (built by make from sql/upgrade/%s--%s/).\n' "$2" "$3" "$2" "$3"
        printf '\\echo Use "ALTER EXTENSION therapyassistance UPDATE TO '"'"'%s'"'"'" to load this file. \\quit\n' "$3"
        check "$2" "$3"; version_sql "$3"; step_sources extension "$2" "$3"; extension_version_sql "$3"; cat extension_tail.sql privileges.sql
    else
        printf -- '-- therapyassistance %s -> %s, plain-SQL install (from sql/upgrade/%s--%s/).\n' "$2" "$3" "$2" "$3"
        check "$2" "$3"; version_sql "$3"; step_sources fallback "$2" "$3"; cat privileges.sql
    fi
}

# Every step there is, "FROM TO" a line, oldest first: the released and the one in the making.
steps() {
    { for f in releases/therapyassistance--*--*.sql; do [ -e "$f" ] || continue; basename "$f" .sql | cut -d- -f3,5; done
      for d in upgrade/*--*/; do [ -d "$d" ] || continue; basename "$d" | sed 's/--/-/'; done; } |
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
    cat <<'SQL'
-- The owner runs the upgrade, and row-level security is forced on its tables, so a step's
-- UPDATE would see no practice's rows: FORCE is lifted for this transaction (the DDL's locks
-- keep everyone else out meanwhile) and put back at the end, on the same tables.
SET LOCAL row_security = on;
SELECT set_config('ta.upgrade_forced', coalesce(string_agg(c.oid::text, ','), ''), true) IS NULL AS ta_unused
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relforcerowsecurity \gset
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT unnest(string_to_array(current_setting('ta.upgrade_forced'), ','))::oid LOOP
        EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
SQL
    while read -r from to; do
        printf "SELECT :'ta_from' = '%s' AS ta_step \\\\gset\n\\\\if :ta_step\n\\\\echo therapyassistance: upgrading %s to %s\n" \
            "$from" "$from" "$to"
        step fallback "$from" "$to"
        printf '\\set ta_from %s\n\\endif\n' "$to"
    done < <(steps)
    cat <<'SQL'
DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN SELECT unnest(string_to_array(current_setting('ta.upgrade_forced'), ','))::oid LOOP
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END $$;
SQL
    printf 'COMMIT; -- the whole upgrade\n\\echo therapyassistance: schema version :ta_from\n'
}

case ${1:-} in
    install) install "$2" "$3" ;;
    step) step "$2" "$3" "$4" ;;
    fallback-upgrade) fallback_upgrade ;;
    steps) steps ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
esac
