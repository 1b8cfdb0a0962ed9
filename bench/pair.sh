#!/usr/bin/env bash
# bench/pair.sh DIR_A BIN_A DIR_B BIN_B [SECONDS] [ROUNDS]: pgbench of the proxy's statements for GET /patients and
# POST /appointments (reminders off, e-mail+SMS on) on two clusters that bench/instructions.sh left behind (DIR: its
# folder, BIN: the bindir of the PostgreSQL copy that made it, e.g. main's build and a branch's), side by side:
# every round runs each measure on A and B in turn (the order alternating), so the machine's load hits both alike.
# Prints tx/s per round and the medians. Uses ports DB_PORT+2 and DB_PORT+3.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
dir_a=$1 bin_a=$2 dir_b=$3 bin_b=$4
seconds=${5:-10}
rounds=${6:-3}
clients=4
preload=${PRELOAD-therapyassistance}  # PRELOAD= for clusters of the plain-SQL install
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
declare -A dir=([A]=$dir_a [B]=$dir_b) bin=([A]=$bin_a [B]=$bin_b) port=([A]=$((DB_PORT + 2)) [B]=$((DB_PORT + 3)))
sql() { "${bin[$1]}/psql" -X -q -v ON_ERROR_STOP=1 -h "${dir[$1]}/run" -p "${port[$1]}" -U postgres -d ta -tA -c "$2"; }
stop() { for s in A B; do as_pg "${bin[$s]}/pg_ctl" -D "${dir[$s]}/pgdata" -m fast -w stop >/dev/null 2>&1 || true; done; }
trap stop EXIT
for s in A B; do
    as_pg "${bin[$s]}/pg_ctl" -D "${dir[$s]}/pgdata" -l "${dir[$s]}/log" \
        -o "-p ${port[$s]} -k ${dir[$s]}/run -c listen_addresses='' -c shared_preload_libraries=$preload" -w start >/dev/null
    token=$(sql $s "SELECT ta.issue_token(u) ->> 'access_token' FROM ta.users u WHERE email = 'bench@example.com'")
    patient=$(sql $s "SELECT min(id) FROM ta.patients")
    req="request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$token', true))"
    echo "WITH $req, answer AS MATERIALIZED (SELECT api.list_patients('{\"limit\": \"100\"}')::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;" > "${dir[$s]}/patients.sql"
    echo "WITH ${req/GET \/patients/POST \/appointments}, s AS (SELECT nextval('public.bench_slot') AS n), answer AS MATERIALIZED (SELECT api.create_appointment(json_build_object('patient_id', $patient, 'date', date '2100-01-01' + (s.n / 20)::int, 'start_time', make_time((s.n % 20)::int, 0, 0), 'end_time', make_time((s.n % 20)::int, 50, 0), 'price', 150))::text AS body FROM request, s) SELECT body, current_setting('response.status', true) FROM answer;" > "${dir[$s]}/appointments.sql"
    chmod a+r "${dir[$s]}"/*.sql
done
tps() {  # tps SIDE SCRIPT
    "${bin[$1]}/pgbench" -n -M prepared -c $clients -j 2 -T "$seconds" -h "${dir[$1]}/run" -p "${port[$1]}" -U ta_app \
        -f "${dir[$1]}/$2.sql" ta 2>&1 | awk '/^tps/ {printf "%.0f", $3}'
}
reminders() { sql "$1" "UPDATE ta.reminder_settings SET email_enabled = $2, sms_enabled = $2" >/dev/null; }
# shellcheck source=bench/median.sh
. "$(dirname "$0")/median.sh"
declare -A result
load_before=$(uptime | sed 's/.*load average: //')
for r in $(seq "$rounds"); do
    order="A B"; [ $((r % 2)) = 0 ] && order="B A"
    for m in patients idle writing; do
        for s in $order; do
            case $m in
                patients) script=patients ;;
                idle) reminders "$s" false; script=appointments ;;
                writing) reminders "$s" true; script=appointments ;;
            esac
            result[$m$s]="${result[$m$s]:+${result[$m$s]} }$(tps "$s" "$script")"
        done
    done
done
echo "| pgbench, $clients clients, ${seconds}s runs, $rounds rounds | A tx/s per round | A median | B tx/s per round | B median | B / A |"
echo "|---|---|---|---|---|---|"
for m in patients idle writing; do
    a=$(echo "${result[${m}A]}" | median) b=$(echo "${result[${m}B]}" | median)
    echo "| $m | ${result[${m}A]} | $a | ${result[${m}B]} | $b | $(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", (a > 0 ? b / a : 0)}') |"
done
echo "load: before $load_before, after $(uptime | sed 's/.*load average: //') on $(nproc) CPUs"
