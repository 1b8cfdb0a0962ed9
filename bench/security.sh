#!/usr/bin/env bash
# bench/security.sh [SECONDS] [ROUNDS]: what issue 16's checks cost GET /patients in the database,
# with pgbench (-M prepared) on the local cluster (make up first), on both installs. In one
# database per install, api.list_patients runs with three versions of the two functions it calls
# first and last, swapped in turn (round-robin, so that the shared machine's load falls on all
# alike), and the median of ROUNDS runs of SECONDS each (default 10 s, 3 rounds) is reported:
#   1.0        ta.caller trusts request.jwt.claims; ta.audit appends an unchained row
#   jwt        ta.caller verifies the token (request.jwt) in the database; unchained audit rows
#   jwt+chain  what ships: the token verified and every audit row hash-chained (ta.audit_append)
# Prints a Markdown table.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-10} rounds=${2:-3}
secret="bench-secret-0123456789abcdef-0123456789"
owner=ta_owner app=ta_app
scripts=$WORK/bench/security
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

setup() {  # setup INSTALL: a fresh database with one practice of 100 patients, and the variants
    local db=ta_bench_sec_$1
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $owner"
    TA_INSTALL=$1 "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" "$secret"
    psql_super -d "$db" -q >/dev/null <<'SQL'
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}');
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false) FROM ta.users u WHERE email = 'bench@example.com';
SELECT count(api.create_patient(json_build_object('name', 'Pacjent ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'notes', 'Notatka ' || i)))
  FROM generate_series(1, 100) i;
CREATE SCHEMA bench;
CREATE TABLE bench.variant (name text PRIMARY KEY, caller text NOT NULL, audit text NOT NULL);
INSERT INTO bench.variant SELECT 'jwt+chain', pg_get_functiondef('ta.caller()'::regprocedure),
                                 pg_get_functiondef('ta.audit(bigint,text,bigint[])'::regprocedure);
INSERT INTO bench.variant VALUES ('1.0', $v$
CREATE OR REPLACE FUNCTION ta.caller() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    claims json := nullif(current_setting('request.jwt.claims', true), '')::json;
    sub text := claims ->> 'sub';
    pid text := claims ->> 'pid';
    uid bigint;
BEGIN
    IF sub ~ '^[0-9]{1,18}$' AND pid ~ '^[0-9]{1,18}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = sub::bigint AND u.practice_id = pid::bigint AND u.deleted_at IS NULL;
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$ $v$, $v$
CREATE OR REPLACE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF action = 'read' AND pg_current_xact_id_if_assigned() IS NULL THEN
        PERFORM set_config('synchronous_commit', 'off', true);
    END IF;
    INSERT INTO ta.audit_log (practice_id, user_id, action, route, patient_ids, client_addr, chain, hash)
    VALUES (ta.current_practice_id(), uid, audit.action::ta.audit_action, nullif(current_setting('request.route', true), ''),
            coalesce(audit.patient_ids, '{}'), ta.client_addr(), 0, '\x');
END $$ $v$);
INSERT INTO bench.variant SELECT 'jwt', (SELECT caller FROM bench.variant WHERE name = 'jwt+chain'),
                                 (SELECT audit FROM bench.variant WHERE name = '1.0');
SQL
}

use() {  # use INSTALL VARIANT: swaps the variant's two functions in
    psql_super -d "ta_bench_sec_$1" -q -v v="$2" >/dev/null <<'SQL'
SELECT caller, audit FROM bench.variant WHERE name = :'v' \gset
:caller;
:audit;
SQL
}

tps() {  # tps INSTALL CLIENTS
    "$PGBIN/pgbench" -n -M prepared -c "$2" -j 2 -T "$seconds" -U "$app" -f "$scripts/list_$1.sql" "ta_bench_sec_$1" 2>&1 |
        awk '/^tps/ {printf "%.0f", $3}'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) }'; }

variants=(1.0 jwt jwt+chain)
declare -A med=()
echo "| install | clients | 1.0 (claims trusted) tx/s | token verified tx/s | + audit chain (shipped) tx/s | shipped / 1.0 |"
echo "|---|---|---|---|---|---|"
for install in extension fallback; do
    setup "$install"
    # Both settings for every variant, so that the statement is the same; only 1.0 reads the claims.
    read -r token claims < <(psql_super -d "ta_bench_sec_$install" -tA -F ' ' -c \
        "SELECT ta.issue_token(u) ->> 'access_token', json_build_object('sub', id::text, 'pid', practice_id)
           FROM ta.users u WHERE email = 'bench@example.com'")
    cat > "$scripts/list_$install.sql" <<SQL
WITH c AS MATERIALIZED (SELECT set_config('request.jwt', '$token', true), set_config('request.jwt.claims', '$claims', true))
SELECT api.list_patients('{"limit": "100"}') FROM c;
SQL
    for clients in 8 32; do
        declare -A runs=()
        for ((r = 0; r < rounds; r++)); do
            for v in "${variants[@]}"; do use "$install" "$v"; runs[$v]+="$(tps "$install" "$clients") "; done
        done
        for v in "${variants[@]}"; do read -r -a m <<<"${runs[$v]}"; med[$v]=$(printf '%s\n' "${m[@]}" | median); done
        echo "| $install | $clients | ${med[1.0]} | ${med[jwt]} | ${med[jwt+chain]} |" \
             "$(awk -v a="${med[jwt+chain]}" -v b="${med[1.0]}" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') |"
        unset runs
    done
    use "$install" jwt+chain
done
