#!/usr/bin/env bash
# bench/audit_defer.sh [SECONDS] [ROUNDS]: what therapyassistance.audit_defer does to GET /patients (100 rows)
# through the proxy, as production runs it. Two fresh extension databases of the same practice, one with the
# setting on (reads queue their audit row for the writer), one off (each read writes its row), a bench proxy in
# front of each (PORT+1, PORT+2); wrk at 8 and 32 connections on them in turn, the order alternating each round,
# so the machine's load hits both alike. Prints req/s per round, medians, p99, the proxy's CPU per request and
# that every read left its audit row. Needs make up.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-10}
rounds=${2:-3}
secret="bench-secret-0123456789abcdef-0123456789"
out=$WORK/bench/audit_defer
mkdir -p "$out"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }
[ -x "$ROOT/proxy/therapyassistance-proxy" ] || make -s -C "$ROOT/proxy"
command -v wrk >/dev/null || "$ROOT/stack/deps.sh" bench

declare -A port=([on]=$((PORT + 1)) [off]=$((PORT + 2))) token pid
stop() { for s in on off; do [ -z "${pid[$s]:-}" ] || kill -TERM "${pid[$s]}" 2>/dev/null || true; done; }
trap stop EXIT
for s in on off; do
    db=ta_bench_defer_$s
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER ta_owner" \
        -c "ALTER DATABASE $db SET therapyassistance.audit_defer = $s"
    TA_INSTALL=extension "$ROOT/stack/install-db.sh" "$db" ta_owner ta_app "$secret"
    token[$s]=$(psql_super -d "$db" -tA -f "$ROOT/bench/practice_seed.sql")
    [ -z "$(ss -ltnH "sport = :${port[$s]}")" ] || { say "port ${port[$s]} is taken"; exit 1; }
    DATABASE_URL="postgresql:///$db?host=$PGSOCK&port=$DB_PORT&user=ta_app" JWT_SECRET=$secret PORT=${port[$s]} \
        PROXY_ENV_FILE=/dev/null "$ROOT/proxy/therapyassistance-proxy" >>"$out/proxy-$s.log" 2>&1 &
    pid[$s]=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:${port[$s]}/health" && break; sleep 0.1; done
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # run SIDE CONNECTIONS: "req/s p99-ms cpu-µs-per-request errors requests"
    local before after
    before=$(ticks "${pid[$1]}")
    BENCH_ROUTE=patients BENCH_TOKEN=${token[$1]} BENCH_THREADS=2 \
        wrk -t2 -c"$2" -d"${seconds}s" --timeout 10s -s "$ROOT/bench/wrk.lua" "http://127.0.0.1:${port[$1]}" >"$out/wrk.out"
    after=$(ticks "${pid[$1]}")
    awk -v b="$before" -v a="$after" -v hz="$(getconf CLK_TCK)" '$1 == "WRK" {
        printf "%.0f %s %.0f %d %d\n", $2, $4, ($7 > 0 ? (a - b) * 1e6 / hz / $7 : 0), $5 + $6, $7 }' "$out/wrk.out"
}
# shellcheck source=bench/median.sh
. "$(dirname "$0")/median.sh"

declare -A tps p99 cpu errors requests
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
    order="on off"; [ $((r % 2)) = 0 ] && order="off on"
    for c in 8 32; do
        for s in $order; do
            read -r t p u e n < <(run "$s" "$c")
            errors[$s]=$((${errors[$s]:-0} + e)) requests[$s]=$((${requests[$s]:-0} + n))
            tps[$s$c]="${tps[$s$c]:+${tps[$s$c]} }$t"; p99[$s$c]="${p99[$s$c]:+${p99[$s$c]} }$p"
            cpu[$s$c]="${cpu[$s$c]:+${cpu[$s$c]} }$u"
        done
    done
done
echo "| GET /patients, ${seconds}s runs, $rounds rounds | connections | req/s per round | median | p99 ms, median | proxy CPU µs/request, median |"
echo "|---|---|---|---|---|---|"
for c in 8 32; do
    for s in on off; do
        echo "| audit_defer = $s | $c | ${tps[$s$c]} | $(median <<<"${tps[$s$c]}") | $(median <<<"${p99[$s$c]}") | $(median <<<"${cpu[$s$c]}") |"
    done
done
stop; pid=()
for s in on off; do  # every answered read left its row (the writer has flushed once the proxy is gone)
    sleep 3
    echo "audit_defer = $s: ${errors[$s]:-0} errors, ${requests[$s]:-0} requests answered, $(psql_super -d "ta_bench_defer_$s" -tA -c "SELECT count(*) FROM ta.audit_log WHERE action = 'read'") read rows in the trail"
done
echo "load: before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
