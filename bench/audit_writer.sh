#!/usr/bin/env bash
# bench/audit_writer.sh [SECONDS]: GET /patients' statement (api.list_patients, 100 rows, as the proxy
# sends it) before and after issue 18 in one run, side by side, on bench/pgbench.sh's database
# ta_bench_extension (run that first): "before" is the read writing its own audit row
# (therapyassistance.audit_defer off) with the chain hash IMMUTABLE (planned on every call); "after"
# is this code. Next to them the bare query, and the
# page faults a request costs the backend (minflt from /proc at one client).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-5}
db=ta_bench_extension
scripts=$WORK/bench/pgbench
[ -f "$scripts/list_api.sql" ] || { say "run bench/pgbench.sh first (it makes $db and the scripts)"; exit 1; }

variant() {  # variant before|after
    local defer=on volatility=STABLE
    if [ "$1" = before ]; then defer=off volatility=IMMUTABLE; fi
    psql_super -d postgres -c "ALTER DATABASE $db SET therapyassistance.audit_defer = $defer"
    psql_super -d "$db" -c "ALTER FUNCTION ta.audit_row_hash(bytea, ta.audit_log) $volatility"
}
tps() {  # tps USER CLIENTS SCRIPT
    "$PGBIN/pgbench" -n -M prepared -c "$2" -j 2 -T "$seconds" -U "$1" -f "$scripts/$3" "$db" 2>&1 |
        awk '/^tps/ {printf "%.0f", $3}'
}
faults() {  # page faults per request of the one backend of a one-client run
    local pid f0 f1 n0 n1
    "$PGBIN/pgbench" -n -M prepared -c 1 -T $((seconds + 2)) -U ta_app -f "$scripts/list_api.sql" "$db" >/dev/null 2>&1 &
    sleep 1
    pid=$(psql_super -d "$db" -tA -c "SELECT pid FROM pg_stat_activity WHERE usename = 'ta_app'
                                        AND application_name = 'pgbench' ORDER BY backend_start DESC LIMIT 1")
    n0=$(psql_super -d "$db" -tA -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
    f0=$(awk '{print $10}' "/proc/$pid/stat")
    sleep "$seconds"
    f1=$(awk '{print $10}' "/proc/$pid/stat")
    n1=$(psql_super -d "$db" -tA -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$db'")
    wait
    awk -v f=$((f1 - f0)) -v n=$((n1 - n0)) 'BEGIN {printf "%.2f", (n > 0 ? f / n : 0)}'
}

echo "load: $(uptime | sed 's/.*load average: //') on $(nproc) CPUs"
echo "| clients | before tx/s | after tx/s | after / before | bare tx/s | before / bare | after / bare |"
echo "|---|---|---|---|---|---|---|"
for clients in 8 32; do
    variant before >/dev/null; b=$(tps ta_app $clients list_api.sql)
    variant after >/dev/null; a=$(tps ta_app $clients list_api.sql)
    bare=$(tps postgres $clients list_bare.sql)
    awk -v c=$clients -v b="$b" -v a="$a" -v r="$bare" \
        'BEGIN {printf "| %s | %s | %s | %.2f | %s | %.2f | %.2f |\n", c, b, a, a / b, r, b / r, a / r}'
done
variant before >/dev/null; fb=$(faults)
variant after >/dev/null; fa=$(faults)
echo "page faults per request (one client): before $fb, after $fa"
psql_super -d postgres -c "ALTER DATABASE $db RESET therapyassistance.audit_defer" >/dev/null
