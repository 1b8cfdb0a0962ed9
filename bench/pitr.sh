#!/usr/bin/env bash
# bench/pitr.sh: the RPO and RTO figures of point-in-time recovery in the README, measured on a cluster of its own
# (made by the stack's scripts, archiving into an encrypted pgBackRest repository as make up sets it up):
#   RPO  the seconds from an acknowledged write to its WAL segment being in the repository, when nothing else is
#        written (archive_timeout is what brings it: the worst case), after a WAL switch and after a pause
#   RTO  ops/stack-pitr.sh restore latest (verify, restore, replay, swap), for the demo database and with ~SIZE_MB
#        (default 100) more in it, each after a full backup and some WAL written after it
# Prints one line per figure with the load average. Uses DB_PORT + 7 (the stack's DB_PORT, default 5433).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE_MB=${SIZE_MB:-100}
WORK=$(mktemp -d /tmp/ta-pitr-bench.XXXXXX)
chmod 755 "$WORK"
export WORK DB_PORT=$((${DB_PORT:-5433} + 7)) TA_INSTALL=extension
export JWT_SECRET=pitr-bench-secret-do-not-use-0123456789abcdef
# shellcheck source=stack/env.sh
. "$ROOT/stack/env.sh"

cleanup() {
    local d
    for d in "$PGDATA" "$PGDATA".*; do
        if [ -d "$d" ] && cluster_running "$d"; then pg_stop "$d" || true; fi
    done
    if [ "$PG_STATE" != "$WORK" ]; then rm -rf -- "$PG_STATE"; fi
    rm -rf -- "$WORK"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
sql() { psql_super -d "$DB_NAME" -tA -c 'SET client_min_messages = warning' -c "$1"; }
archived() { [ "$(psql_super -d postgres -tA -c "SELECT coalesce(last_archived_wal >= '$1', false) FROM pg_stat_archiver")" = t ]; }

"$ROOT/stack/db.sh" >/dev/null 2>&1
"$ROOT/ops/stack-pitr.sh" setup >/dev/null 2>&1

# RPO: a write right after a WAL switch has been archived, then after 30 s of quiet.
rpo() {
    local seg t0
    seg=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
    until archived "$seg"; do sleep 0.2; done
    [ "$1" = 0 ] || sleep "$1"
    seg=$(sql "SELECT pg_walfile_name(pg_current_wal_insert_lsn()) FROM (SELECT txid_current()) t")
    t0=$(date +%s.%N)
    until archived "$seg"; do sleep 0.2; done
    printf 'RPO: a write %s s after a WAL switch reached the repository after %.1f s (archive_timeout %s; load %s)\n' \
        "$1" "$(echo "$(date +%s.%N) - $t0" | bc)" "$(psql_super -d postgres -tA -c 'SHOW archive_timeout')" "$(load)"
}
rpo 0
rpo 30

# RTO: a full backup, 10 MB written after it, restore latest; the size is the cluster's.
rto() {
    local out
    "$ROOT/ops/stack-pitr.sh" backup full >/dev/null 2>&1
    sql "CREATE TABLE IF NOT EXISTS public.after_backup (g int, filler text)" >/dev/null
    sql "INSERT INTO public.after_backup SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, 30000) g" >/dev/null
    out=$("$ROOT/ops/stack-pitr.sh" restore latest --yes 2>&1) || { echo "$out" >&2; return 1; }
    printf 'RTO: %s, %s MB cluster (databases %s MB): restore latest %s (load %s)\n' "$1" \
        "$(du -sm "$PGDATA/" | cut -f1)" "$(psql_super -d postgres -tA -c \
            'SELECT (sum(pg_database_size(datname)) / 1048576)::int FROM pg_database')" \
        "$(grep -o 'restored in [0-9]* s' <<<"$out")" "$(load)"
    rm -rf -- "$PGDATA".pre-restore-*
}
rto "the demo database"
sql "CREATE TABLE public.bulk AS SELECT g, repeat(md5(g::text), 16) AS filler
     FROM generate_series(1, $((SIZE_MB * 1048576 / 600))) g" >/dev/null
rto "demo database + ${SIZE_MB} MB"
