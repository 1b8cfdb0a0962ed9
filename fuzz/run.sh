#!/usr/bin/env bash
# Runs each named harness for SECONDS from its seeds (corpus/<harness>/, checked in: the regression inputs of
# fixed crashes live there too, so every run replays them) plus what earlier runs found (build/corpus/<harness>/).
# Prints executions and edge coverage per harness; a crash, sanitizer report or hang fails the run and leaves the
# input in build/crashes/. Usage: fuzz/run.sh SECONDS HARNESS...
set -euo pipefail
cd "$(dirname "$0")"
seconds=$1
shift
failed=0
mkdir -p build/crashes
for h in "$@"; do
    work=build/corpus/$h
    log=build/$h.log
    mkdir -p "$work"
    opts=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
          -artifact_prefix="build/crashes/$h-")
    case $h in
        # The extension allocates in PostgreSQL's per-call memory contexts and never frees: no leak checks.
        ext_*) opts+=(-detect_leaks=0) ;;
        # Whole requests: room for a big header block and body.
        proxy_request) opts+=(-max_len=16384) ;;
    esac
    start=$SECONDS
    leaks=1
    [[ $h == ext_* ]] && leaks=0
    if ! ASAN_OPTIONS="detect_leaks=$leaks" "./build/$h" "${opts[@]}" "$work" "corpus/$h" >"$log" 2>&1; then
        failed=1
        echo "fuzz: $h FAILED (log: fuzz/$log)"
        grep -E -A15 'ERROR: |property failed|runtime error|Test unit written' "$log" | head -40 || tail -20 "$log"
        continue
    fi
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    edges=$(sed -nE 's/^#[0-9]+[[:space:]]+DONE +cov: ([0-9]+) .*/\1/p' "$log")
    total=$(sed -nE 's/.*INFO: Loaded 1 modules +\(([0-9]+) inline 8-bit counters\).*/\1/p' "$log" | head -1)
    files=$(find "$work" "corpus/$h" -type f | wc -l)
    awk -v h="$h" -v e="$execs" -v c="$edges" -v t="$total" -v f="$files" -v s=$((SECONDS - start)) \
        'BEGIN { printf "fuzz: %-15s %9d execs in %3d s, %5d of %5d edges (%4.1f%%), corpus %d\n", h, e, s, c, t, 100 * c / t, f }'
done
exit $failed
