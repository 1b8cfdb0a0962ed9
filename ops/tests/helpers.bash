# shellcheck shell=bash
# Loaded by the ops tests: the local stack's settings and a few checks on a database.
# shellcheck source=stack/env.sh
. "$BATS_TEST_DIRNAME/../../stack/env.sh"
set +u   # bats runs with errexit; unset variables are its business

OPS_OWNER=ops_test_owner
OPS_APP=ops_test_app
export JWT_SECRET=ops-test-secret-do-not-use-0123456789abcdef

# ops_db DB ARGS...: make backup/restore's script on database DB of the test roles.
ops_db() {
    local db=$1; shift
    TA_DB=$db TA_OWNER=$OPS_OWNER TA_APP=$OPS_APP "$ROOT/ops/stack-db.sh" "$@"
}

# The demo practice of `make up` under another login, written through the api.
seed_practice() {
    sed "s/terapeuta@example.com/$2/g" "$ROOT/stack/seed.sql" | psql_super -d "$1" >/dev/null
}

# One line per table of schema ta (ta.settings excepted: never dumped) with its row count and
# the md5 of its rows in a fixed order, and one per sequence with its position.
table_checksums() {
    psql_super -d "$1" -tA <<'SQL' | sort
SELECT format('SELECT %L || '' '' || count(*) || '' '' || md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %s t',
              c.oid::regclass, c.oid::regclass)
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' AND c.relname <> 'settings' \gexec
SELECT format('SELECT %L || '' '' || last_value || '' '' || is_called FROM %s', c.oid::regclass, c.oid::regclass)
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'S' \gexec
SQL
}

# The restored database works for the application: it logs in (the secret was configured
# again), row-level security is forced, and the application role cannot read the tables.
assert_usable() {
    local login
    login=$("$PGBIN/psql" -X -U "$OPS_APP" -d "$1" -tA -c \
        "SELECT api.login('{\"username\": \"terapeuta@example.com\", \"password\": \"haslo123\"}') ->> 'token_type'")
    [ "$login" = bearer ] || { echo "login on $1 gave [$login]" >&2; return 1; }
    ! "$PGBIN/psql" -X -U "$OPS_APP" -d "$1" -c "SELECT count(*) FROM ta.patients" >/dev/null 2>&1 ||
        { echo "$OPS_APP reads ta.patients on $1" >&2; return 1; }
}
