#!/usr/bin/env bash
# bench/instructions.sh [INSTALL] [N]: CPU instructions per call of the statements the proxy prepares for
# GET /patients, GET /appointments (one week of 40) and POST /appointments (reminders: trigger disabled, off,
# e-mail+SMS on), counted by callgrind
# in a single-user backend, so the figure does not depend on the machine's load. A throwaway cluster of this
# checkout's PostgreSQL (pg_config on PATH) gets one practice of 100 patients (consent to e-mail and SMS);
# each measure runs its statement W+N and W+2N times as ta_app, one transaction each, and prints the
# difference over N (repeatable to a few thousand). Needs valgrind. Uses DB_PORT+4 while it sets up.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
install=${1:-extension}
n=${2:-100}
warm=20
# PostgreSQL runs as postgres when this runs as root, in a folder postgres can reach
dir=${TMPDIR:-/tmp}/ta-instructions-$install-$(printf %s "$ROOT" | sha256sum | cut -c1-10)
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
port=$((DB_PORT + 4))
command -v valgrind >/dev/null || { say "valgrind is not installed"; exit 1; }
rm -rf "$dir" && mkdir -p "$dir/run"
[ "$(id -u)" != 0 ] || chown -R postgres "$dir"
as_pg "$PGBIN/initdb" -D "$dir/pgdata" -U postgres --auth=trust >/dev/null
# the extension's library defines its settings at start (its audit writer is not started in single-user mode)
preload=; [ "$install" = fallback ] || preload=therapyassistance
as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -l "$dir/log" -o "-p $port -k $dir/run -c listen_addresses='' -c shared_preload_libraries=$preload" -w start >/dev/null
sql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" -U postgres "$@"; }
sql -d postgres -c "CREATE ROLE ta_owner LOGIN" -c "CREATE ROLE ta_app LOGIN" -c "CREATE DATABASE ta OWNER ta_owner"
WORK=$dir DB_PORT=$port TA_INSTALL=$install "$ROOT/stack/install-db.sh" ta ta_owner ta_app \
    "bench-secret-0123456789abcdef-0123456789"
token=$(sql -d ta -tA -f "$ROOT/bench/outbox_seed.sql")
patient=$(sql -d ta -tA -c "SELECT min(id) FROM ta.patients")
# a week of 40 appointments (8 a day, Monday to Friday) for GET /appointments, in a year nothing else books
sql -d ta -c "SELECT set_config('request.jwt', '$token', false)" -c "SELECT count(api.create_appointment(json_build_object(
    'patient_id', $patient + i % 40, 'date', date '2099-06-01' + i / 8, 'start_time', make_time(8 + i % 8, 0, 0),
    'end_time', make_time(8 + i % 8, 50, 0), 'price', 150))) FROM generate_series(0, 39) i" >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -m fast -w stop >/dev/null
request() { echo "request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', '$1', true), set_config('request.jwt', '$token', true))"; }
list="WITH $(request 'GET /patients'), answer AS MATERIALIZED (SELECT api.list_patients('{\"limit\": \"100\"}')::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;"
week="WITH $(request 'GET /appointments'), answer AS MATERIALIZED (SELECT api.list_appointments('{\"date_from\": \"2099-06-01\", \"date_to\": \"2099-06-07\"}')::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;"
create="WITH $(request 'POST /appointments'), s AS (SELECT nextval('public.bench_slot') AS n), answer AS MATERIALIZED (SELECT api.create_appointment(json_build_object('patient_id', $patient, 'date', date '2100-01-01' + (s.n / 20)::int, 'start_time', make_time((s.n % 20)::int, 0, 0), 'end_time', make_time((s.n % 20)::int, 50, 0), 'price', 150))::text AS body FROM request, s) SELECT body, current_setting('response.status', true) FROM answer;"
single() {  # single SETUP STATEMENT COUNT: total instructions of a backend running SETUP then STATEMENT COUNT times
    local out=$dir/callgrind.out.$label.$3  # kept for callgrind_annotate
    { echo "$1"; echo "SET ROLE ta_app;"; for _ in $(seq "$3"); do echo "$2"; done; } |
        as_pg valgrind -q --tool=callgrind --callgrind-out-file="$out" "$PGBIN/postgres" --single -D "$dir/pgdata" \
            -c shared_preload_libraries=$preload ta >"$dir/single.log" 2>&1
    grep -q 'ERROR' "$dir/single.log" && { say "errors in $dir/single.log"; exit 1; }
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
measure() {  # measure NAME SETUP STATEMENT
    local a b label
    label=$(printf %s "$1" | tr -c 'A-Za-z0-9' _)
    a=$(single "$2" "$3" $((warm + n)))
    b=$(single "$2" "$3" $((warm + 2 * n)))
    echo "| $1 | $(((b - a) / n)) |"
}
echo "| $install install: statement | instructions per call |"
echo "|---|---|"
state() {  # state TRIGGER ON: the reminder trigger enabled or disabled, the practice's reminders on or off
    echo "ALTER TABLE ta.appointments $1 TRIGGER appointments_reminders_insert; UPDATE ta.reminder_settings SET email_enabled = $2, sms_enabled = $2;"
}
measure "GET /patients (100 rows)" "$(state ENABLE false)" "$list"
measure "GET /appointments (one week, 40 rows)" "$(state ENABLE false)" "$week"
[ -z "${READS_ONLY:-}" ] || exit 0  # READS_ONLY=1: the two GETs only
measure "POST /appointments, reminder trigger disabled" "$(state DISABLE false)" "$create"
measure "POST /appointments, reminders off (the default)" "$(state ENABLE false)" "$create"
measure "POST /appointments, e-mail and SMS reminders on" "$(state ENABLE true)" "$create"
