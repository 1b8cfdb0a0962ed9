#!/usr/bin/env bash
# bench/audit_batch.sh OLD.so NEW.so [SECONDS] [ROUNDS]: the audit writer of two builds of the C library,
# taking turns round by round (the installed therapyassistance.so is swapped and PostgreSQL restarted
# before each turn; the one from NEW.so is left installed). On a database of its own (one practice of
# 100 patients, like bench/audit.sh) with GET /patients' statement as the proxy prepares it, as ta_app:
#   writer µs/row: with the writer stopped (SIGSTOP) 4,000 reads are queued (audit_queue_size raised to
#     8 MB for this part), then it is let go and the CPU it spends until the queue is written
#     (/proc/PID/schedstat), and its minor page faults, are divided by the rows it wrote; a backlog of
#     2,000 before it warms the new writer up (its first touch of shared buffers faults every page);
#   tps and synchronous rows at 4 and 32 clients (queue settings as configured): pgbench for SECONDS;
#     "sync" = calls of ta.audit_write (a read writing its own row: queue full or no writer) / calls
#     of ta.audit (track_functions = pl in this database); "writer µs/row" = the writer's CPU over the run
#     and until the queue is written / the rows it wrote (calls of ta.audit less those of ta.audit_write).
# Needs make up (the stack's cluster) and the new schema installed (make install). Prints a Markdown table.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
old_so=$1 new_so=$2
seconds=${3:-10}
rounds=${4:-2}
db=ta_bench_batch
scripts=$WORK/bench/audit_batch
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }
lib=$(pg_config --pkglibdir)/therapyassistance.so

psql_super -d postgres -q -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER ta_owner"
TA_INSTALL=extension BACKUP=0 "$ROOT/stack/install-db.sh" "$db" ta_owner ta_app "bench-secret-0123456789abcdef-0123456789"
token=$(psql_super -d "$db" -tA -f "$ROOT/bench/practice_seed.sql")
psql_super -d postgres -q -c "ALTER DATABASE $db SET track_functions = 'pl'"
# What the proxy prepares for GET /patients (proxy/src/route_table.c).
cat > "$scripts/list.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$token', true)), answer AS MATERIALIZED (SELECT api.list_patients('{}'::json)::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;
SQL

q() { psql_super -d "$db" -tA -c "$1"; }
use() {  # use SO [QUEUE]: installs that library and restarts PostgreSQL (with QUEUE as audit_queue_size)
    install -m 755 "$1" "$lib"
    if [ -n "${2:-}" ]; then q "ALTER SYSTEM SET therapyassistance.audit_queue_size = '$2'" >/dev/null
    else q "ALTER SYSTEM RESET therapyassistance.audit_queue_size" >/dev/null; fi
    pg_stop "$PGDATA"; pg_start "$PGDATA" "$PGSOCK"
}
writer() {  # the writer's pid, started by a read if need be
    local pid
    for _ in $(seq 100); do
        pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'therapyassistance audit writer' AND datname = '$db'")
        [ -n "$pid" ] && { echo "$pid"; return; }
        "$PGBIN/pgbench" -n -M prepared -c 1 -t 1 -U ta_app -f "$scripts/list.sql" "$db" >/dev/null 2>&1
        sleep 0.1
    done
    say "no audit writer"; exit 1
}
queue_backlog() {  # queue_backlog PID READS: READS reads queued while the writer PID is stopped, then written
    kill -STOP "$1"
    "$PGBIN/pgbench" -n -M prepared -c 4 -t $(($2 / 4)) -U ta_app -f "$scripts/list.sql" "$db" >/dev/null 2>&1
    n0=$(q "SELECT count(*) FROM ta.audit_log")
    t0=$(awk '{print $1}' "/proc/$1/schedstat") f0=$(awk '{print $10}' "/proc/$1/stat")
    kill -CONT "$1"
    q "SELECT ta.audit_flush()" >/dev/null
    t1=$(awk '{print $1}' "/proc/$1/schedstat") f1=$(awk '{print $10}' "/proc/$1/stat")
    n1=$(q "SELECT count(*) FROM ta.audit_log")
}
drain() {  # µs of the writer's CPU and its minor page faults per row of a queued backlog (after a warm-up one)
    local pid n0 n1 t0 t1 f0 f1
    pid=$(writer)
    q "SELECT ta.audit_flush()" >/dev/null
    queue_backlog "$pid" 2000
    queue_backlog "$pid" 4000
    awk -v t=$((t1 - t0)) -v f=$((f1 - f0)) -v n=$((n1 - n0)) 'BEGIN {printf "%.1f / %.2f (%d rows)", t / 1000 / n, f / n, n}'
}
calls() {  # calls of ta.audit and of ta.audit_write so far
    q "SELECT coalesce(sum(calls) FILTER (WHERE funcname = 'audit'), 0), coalesce(sum(calls) FILTER (WHERE funcname = 'audit_write'), 0)
         FROM pg_stat_user_functions WHERE schemaname = 'ta'" | tr '|' ' '
}
run() {  # run CLIENTS: "tps | sync % | writer µs per row it wrote" of a pgbench run
    local a0 w0 a1 w1 tps pid t0 t1
    pid=$(writer)
    read -r a0 w0 < <(calls)
    t0=$(awk '{print $1}' "/proc/$pid/schedstat")
    tps=$("$PGBIN/pgbench" -n -M prepared -c "$1" -j 2 -T "$seconds" -U ta_app -f "$scripts/list.sql" "$db" 2>&1 |
              awk '/^tps/ {printf "%.0f", $3}')
    q "SELECT ta.audit_flush()" >/dev/null
    t1=$(awk '{print $1}' "/proc/$pid/schedstat" 2>/dev/null || echo "$t0")
    sleep 1.5
    read -r a1 w1 < <(calls)
    awk -v tps="$tps" -v a=$((a1 - a0)) -v w=$((w1 - w0)) -v t=$((t1 - t0)) \
        'BEGIN {printf "%s | %.0f %% | %.1f", tps, (a > 0 ? 100 * w / a : 0), (a > w ? t / 1000 / (a - w) : 0)}'
}

echo "| round | build | load (1 min) | backlog: writer µs / page faults per row (rows) | 4 clients tx/s | sync rows | writer µs/row | 32 clients tx/s | sync rows | writer µs/row |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
    for b in old new; do
        so=$old_so; [ $b = new ] && so=$new_so
        use "$so" 8MB; d=$(drain)
        use "$so"; writer >/dev/null
        r4=$(run 4); r32=$(run 32)
        echo "| $r | $b | $(cut -d' ' -f1 /proc/loadavg) | $d | $r4 | $r32 |"
    done
done
q "SELECT 'rows ' || count(*) FROM ta.audit_log" >&2
