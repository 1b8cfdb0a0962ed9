#!/usr/bin/env bash
# regress/interchange.sh: the two installs are interchangeable. Run after regress/run.sh
# has filled ta_regress_extension and ta_regress_fallback.
#  1. a token signed by one install verifies in the other, both ways;
#  2. the rows of one install, dumped with pg_dump, restore into a fresh database of the
#     other kind with every table identical (row count and checksum), and the api works
#     on them: the same practice logs in and lists the same patients, new ids follow on.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
secret="regress-secret-do-not-use-0123456789abcdef"
owner=regress_ta_owner app=regress_ta_app
failures=0

check() {  # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then say "ok: $1"; else say "FAILED: $1: expected [$2], got [$3]"; failures=$((failures + 1)); fi
}
q() { local db=$1; shift; psql_super -d "$db" -tA "$@"; }

# Per table: row count and md5 of all rows in id order (settings excluded: never dumped).
checksums() {
    q "$1" -c "SELECT string_agg(format('%s:%s:%s', t, n, h), ' ' ORDER BY t) FROM (
        SELECT 'practices' t, count(*) n, md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) h FROM ta.practices x
        UNION ALL SELECT 'users', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ta.users x
        UNION ALL SELECT 'patients', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ta.patients x
        UNION ALL SELECT 'appointments', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ta.appointments x
        UNION ALL SELECT 'session_notes', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ta.session_notes x
        UNION ALL SELECT 'payments', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x.id), '')) FROM ta.payments x) s"
}

claims='{"sub":"1","pid":1,"exp":4102444800}'
for pair in extension:fallback fallback:extension; do
    set -- "${pair%:*}" "${pair#*:}"
    token=$(q "ta_regress_$1" -c "SELECT ta.jwt_sign('$claims', '$secret')")
    check "token signed by the $1 install verifies in the $2 install" \
        '{"sub":"1","pid":1,"exp":4102444800}' "$(q "ta_regress_$2" -c "SELECT ta.jwt_verify('$token', '$secret')")"
    check "a tampered token from the $1 install is refused by the $2 install" \
        "t" "$(q "ta_regress_$2" -c "SELECT ta.jwt_verify('${token}x', '$secret') IS NULL")"
done

dump=$WORK/regress/interchange.dump
for pair in extension:fallback fallback:extension; do
    set -- "${pair%:*}" "${pair#*:}"
    src=ta_regress_$1 dst=ta_regress_from_$1
    psql_super -d postgres -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $dst WITH (FORCE)" -c "CREATE DATABASE $dst OWNER $owner"
    TA_INSTALL=$2 "$ROOT/stack/install-db.sh" "$dst" "$owner" "$app" "$secret"
    # The rows (the extension's tables are registered for pg_dump; the superuser reads
    # through row-level security); the schema comes from the target's own install.
    "$PGBIN/pg_dump" -U postgres -Fc --data-only --exclude-table=ta.settings -f "$dump" "$src"
    "$PGBIN/pg_restore" -U postgres --data-only --disable-triggers --exit-on-error -d "$dst" "$dump"
    check "every table of the $1 install restored identical into the $2 install" "$(checksums "$src")" "$(checksums "$dst")"
    token=$("$PGBIN/psql" -X -U "$app" -d "$dst" -tA -c \
        "SELECT api.login('{\"username\": \"anna@gabinet-a.example.com\", \"password\": \"haslo-testowe\"}') ->> 'token_type'")
    check "the restored practice logs in on the $2 install" "bearer" "$token"
    listed=$(q "$dst" -c "SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false) IS NULL,
                                 json_array_length(api.list_patients('{}')),
                                 api.create_patient('{\"name\": \"Nowy po przywróceniu\"}') ->> 'name'
                            FROM ta.users u WHERE email = 'anna@gabinet-a.example.com'")
    expected=$(q "$src" -c "SELECT count(*) FROM ta.patients p JOIN ta.users u ON u.practice_id = p.practice_id
                             WHERE u.email = 'anna@gabinet-a.example.com' AND p.deleted_at IS NULL")
    check "the restored practice lists its patients and adds one with a fresh id" "f|$expected|Nowy po przywróceniu" "$listed"
done

echo "interchange: $([ $failures = 0 ] && echo passed || echo "$failures checks failed")"
[ $failures = 0 ]
