#!/usr/bin/env bash
# bench/audit.sh [SECONDS] [CLIENTS]: what the audit trail costs GET /patients. pgbench (-M prepared) runs the
# statement the proxy prepares for GET /patients (100 rows) on a fresh extension database, with ta.audit as
# shipped, with it committing synchronously, and with it a no-op; the variants take turns, twice each, so a
# change in the machine's load hits them alike. Prints a Markdown table and the load average.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-10}
clients=${2:-32}
db=ta_bench_audit
scripts=$WORK/bench/audit
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

psql_super -d postgres -q -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER ta_owner"
TA_INSTALL=extension "$ROOT/stack/install-db.sh" "$db" ta_owner ta_app "bench-secret-0123456789abcdef-0123456789"
claims=$(psql_super -d "$db" -tA -f "$ROOT/bench/practice_seed.sql")
# What the proxy prepares for GET /patients (src/route_table.c).
cat > "$scripts/list.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$claims', true)), answer AS MATERIALIZED (SELECT api.list_patients('{}'::json)::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;
SQL
shipped=$(psql_super -d "$db" -tA -c "SELECT pg_get_functiondef('ta.audit(bigint,text,bigint[])'::regprocedure)")

variant() {  # variant NAME: installs that ta.audit
    case $1 in
        shipped) printf '%s\n' "$shipped" | psql_super -d "$db" -q ;;
        synchronous) printf '%s\n' "$shipped" | sed "s/PERFORM set_config('synchronous_commit', 'off', true);/NULL;/" |
                         psql_super -d "$db" -q ;;
        none) psql_super -d "$db" -q -c "CREATE OR REPLACE FUNCTION ta.audit(uid bigint, action text, patient_ids bigint[]) RETURNS void
                                             LANGUAGE sql AS 'SELECT'" ;;
    esac
}
tps() { "$PGBIN/pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" -U ta_app -f "$scripts/list.sql" "$db" 2>&1 |
            awk '/^tps/ {printf "%.0f", $3}'; }

declare -A result
for _ in 1 2; do
    for v in none shipped synchronous; do
        variant "$v"
        result[$v]="${result[$v]:+${result[$v]}, }$(tps)"
    done
done
variant shipped
echo "| GET /patients statement, $clients clients, ${seconds}s runs | tx/s (round 1, round 2) |"
echo "|---|---|"
echo "| no audit (ta.audit a no-op) | ${result[none]} |"
echo "| audit as shipped (a read commits asynchronously) | ${result[shipped]} |"
echo "| audit, every commit synchronous | ${result[synchronous]} |"
echo "load: $(uptime | sed 's/.*load average: //') on $(nproc) CPUs; audit rows: $(psql_super -d "$db" -tA -c 'SELECT count(*) FROM ta.audit_log')"
