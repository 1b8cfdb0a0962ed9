#!/usr/bin/env bash
# bench/memory.sh [--report FILE]: the 1 GB budget (issue 19). A stack of its own, as on a Mikrus VPS: PostgreSQL
# with ops/postgresql-1gb.conf (and WAL archiving into pgBackRest, as make up and deploy-mikrus.sh set it up), the
# proxy with the production pool (DB_POOL_SIZE 8) and nginx with the SPA, on DB_PORT+7, PORT+7 and WEB_PORT+7.
# Shared buffers are made fully resident first (pg_prewarm of a table larger than them: the worst case, which a
# long-lived server reaches as audit rows dirty new pages), then GET /api/patients runs through nginx at 64
# connections for MEMORY_SECONDS (default 60), and every 2 s the PSS of each process (/proc/PID/smaps_rollup:
# shared pages divided among the processes mapping them, so the sum counts the shared segment once) is summed
# per kind. Prints a Markdown section; with --report FILE it also replaces that section of FILE (bench/run.sh
# puts it in bench/REPORT.md). Exits 3 when the stack is over the budget. The cluster is kept in
# .work/bench-memory between runs and stopped afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export WORK=${MEMORY_WORK:-$here/.work/bench-memory}
export DB_PORT=$((${DB_PORT:-5433} + 7)) PORT=$((${PORT:-8000} + 7)) WEB_PORT=$((${WEB_PORT:-8080} + 7))
export TA_INSTALL=extension DB_POOL_SIZE=8
unset JWT_SECRET
# shellcheck source=stack/env.sh
. "$here/stack/env.sh"

report=
if [ "${1:-}" = --report ]; then report=$2; fi
seconds=${MEMORY_SECONDS:-60}
BUDGET_MB=300

stop_all() { "$ROOT/stack/down.sh" >/dev/null 2>&1 || true; }
trap stop_all EXIT

command -v wrk >/dev/null || "$ROOT/stack/deps.sh" bench
"$ROOT/stack/db.sh"
if ! grep -q 'postgresql-1gb.conf' "$PGDATA/postgresql.conf"; then
    printf "# make bench's memory budget: the 1 GB machine's settings\ninclude '%s'\n" \
        "$ROOT/ops/postgresql-1gb.conf" >> "$PGDATA/postgresql.conf"
fi
# The file may have changed since: a restart reads it (and shared memory starts empty, as after a reboot).
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/postgresql.log" -m fast -w restart >/dev/null
"$ROOT/ops/stack-pitr.sh" setup
"$ROOT/stack/proxy.sh" start
"$ROOT/stack/nginx.sh" start

shared_mb=$(psql_super -d postgres -tA -c "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'")
psql_super -d postgres -q <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_buffercache;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
CREATE TABLE IF NOT EXISTS bench_fill (id int, pad text);
INSERT INTO bench_fill SELECT g, repeat('x', 900) FROM generate_series(1, $((shared_mb * 1152))) g  -- ~8 rows a page: 9/8 of shared_buffers
 WHERE NOT EXISTS (SELECT FROM bench_fill);
SELECT pg_prewarm('bench_fill');
SQL
resident=$(psql_super -d postgres -tA -c "SELECT count(*) FILTER (WHERE relfilenode IS NOT NULL) || ' of ' || count(*)
                                           FROM pg_buffercache")

token=$(curl -fsS --data-urlencode username=terapeuta@example.com --data-urlencode password=haslo123 \
            "http://127.0.0.1:$WEB_PORT/api/auth/login" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { say "cannot log in through nginx on $WEB_PORT"; exit 1; }
lua=$WORK/memory.lua
cat >"$lua" <<LUA
-- bench/memory.sh: GET /api/patients through nginx with the demo practice's token.
request = function() return wrk.format("GET", "/api/patients", {["Authorization"] = "Bearer $token"}) end
LUA

# The processes of each kind, one pid a line.
pids_of() {
    local master
    case $1 in
        postgres) master=$(head -n 1 "$PGDATA/postmaster.pid"); echo "$master"; pgrep -P "$master" || true ;;
        proxy) cat "$WORK/proxy.pid" ;;
        nginx) master=$(cat "$WORK/nginx/nginx.pid"); echo "$master"; pgrep -P "$master" || true ;;
        notifier) if [ -s "$WORK/notifier.pid" ]; then cat "$WORK/notifier.pid"; fi ;;
    esac
}
# sum_kb KIND FIELD: FIELD (Pss or Rss) of smaps_rollup summed over KIND's processes, in kB; and their count.
sum_kb() {
    local pid total=0 n=0 kb
    for pid in $(pids_of "$1"); do
        kb=$(awk -v f="$2:" '$1 == f {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
        [ -n "$kb" ] || continue
        total=$((total + kb)) n=$((n + 1))
    done
    echo "$total $n"
}

# PostgreSQL's shared memory (an anonymous shared mapping, "/dev/zero (deleted)") stays resident after the backend
# that touched a page exits, mapped by no process: PSS alone misses those pages. shm_kb prints "RESIDENT MAPPED":
# the segment's resident kB (fincore through /proc/PID/map_files, root only; else empty) and the PSS of the
# segment's mapping summed over PostgreSQL's processes (the part the PSS sum already holds).
shm_kb() {
    local master range res='' mapped=0 pid kb
    master=$(head -n 1 "$PGDATA/postmaster.pid")
    range=$(awk '/\/dev\/zero \(deleted\)/ {print $1; exit}' "/proc/$master/maps")
    if [ -n "$range" ] && [ "$(id -u)" = 0 ]; then
        res=$(fincore --bytes --noheadings --output RES "/proc/$master/map_files/$range" 2>/dev/null |
              awk '{print int($1 / 1024)}')
    fi
    for pid in $(pids_of postgres); do
        kb=$(awk '/^[0-9a-f]+-[0-9a-f]+ / {inside = /\/dev\/zero \(deleted\)/} inside && $1 == "Pss:" {s += $2}
                  END {print s + 0}' "/proc/$pid/smaps" 2>/dev/null) || continue
        mapped=$((mapped + kb))
    done
    echo "${res:-} $mapped"
}

kinds=(postgres proxy nginx notifier)
declare -A peak_pss peak_rss count
for k in "${kinds[@]}"; do peak_pss[$k]=0 peak_rss[$k]=0 count[$k]=0; done
peak_total=0 peak_unmapped=0 shm_known=1
say "64 connections through nginx for $seconds s; PSS sampled every 2 s"
wrk -t2 -c64 -d"${seconds}s" --timeout 10s -s "$lua" "http://127.0.0.1:$WEB_PORT" >"$WORK/memory-wrk.out" &
wrk_pid=$!
sleep 2
while kill -0 "$wrk_pid" 2>/dev/null; do
    total=0
    read -r res mapped < <(shm_kb)
    unmapped=0
    if [ -z "$mapped" ]; then shm_known=0; mapped=$res res=0; fi
    if [ "${res:-0}" -gt "$mapped" ]; then unmapped=$((res - mapped)); fi
    [ "$unmapped" -le "$peak_unmapped" ] || peak_unmapped=$unmapped
    for k in "${kinds[@]}"; do
        read -r pss n < <(sum_kb "$k" Pss)
        read -r rss _ < <(sum_kb "$k" Rss)
        if [ "$k" = postgres ]; then pss=$((pss + unmapped)); fi
        total=$((total + pss))
        [ "$pss" -le "${peak_pss[$k]}" ] || peak_pss[$k]=$pss
        [ "$rss" -le "${peak_rss[$k]}" ] || peak_rss[$k]=$rss
        [ "$n" -le "${count[$k]}" ] || count[$k]=$n
    done
    [ "$total" -le "$peak_total" ] || peak_total=$total
    sleep 2
done
wait "$wrk_pid"
rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' "$WORK/memory-wrk.out")
errors=$(awk '/Socket errors|Non-2xx/ {print}' "$WORK/memory-wrk.out" | tr '\n' ' ')

mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
section=$(
    echo "## Memory on 1 GB"
    echo
    echo "bench/memory.sh on $(date '+%Y-%m-%d %H:%M %Z'): PostgreSQL with ops/postgresql-1gb.conf (shared_buffers"
    echo "$shared_mb MB, made fully resident first: $resident buffers in use), WAL archiving on, the proxy with"
    echo "DB_POOL_SIZE 8, nginx with the SPA; GET /api/patients through nginx at 64 connections for $seconds s:"
    echo "$rps req/s${errors:+, $errors}. Peaks of PSS (shared pages counted once) and RSS per kind, sampled every 2 s:"
    echo
    echo "| process kind | processes | PSS MB | RSS MB (shared pages counted in each) |"
    echo "|---|---|---|---|"
    for k in "${kinds[@]}"; do
        [ "${count[$k]}" -gt 0 ] || continue
        echo "| $k | ${count[$k]} | $(mb "${peak_pss[$k]}") | $(mb "${peak_rss[$k]}") |"
    done
    echo "| **the stack** (highest sample of the sum) | | **$(mb "$peak_total")** | |"
    echo
    if [ $shm_known = 1 ]; then
        echo "PostgreSQL's PSS includes the resident pages of its shared memory that no process maps any more (a"
        echo "backend touched them and exited; fincore of the segment): up to $(mb "$peak_unmapped") MB of it."
    else
        echo "Not run as root: the shared memory's pages that no process maps any more are not counted (fincore"
        echo "needs /proc/PID/map_files); run as root for the full figure."
    fi
    echo
    if [ "$peak_total" -le $((BUDGET_MB * 1024)) ]; then
        echo "Under the ${BUDGET_MB} MB goal: the rest of a 1 GB machine is left to the OS and its page cache."
    else
        echo "**Over the ${BUDGET_MB} MB goal.**"
    fi
)
printf '%s\n' "$section"
if [ -n "$report" ]; then
    # The section replaces its earlier copy in the report, or goes at its end.
    awk -v section="$section" '
        /^## Memory on 1 GB$/ {print section; skip = 1; printed = 1; next}
        skip && /^## / {skip = 0}
        !skip {print}
        END {if (!printed) print "\n" section}' "$report" > "$report.tmp" && mv "$report.tmp" "$report"
    say "wrote the memory section into $report"
fi
# exit 3: measured, over the budget (any other failure exits with its own status, the section unchanged)
[ "$peak_total" -le $((BUDGET_MB * 1024)) ] || exit 3
