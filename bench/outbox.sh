#!/usr/bin/env bash
# bench/outbox.sh [SECONDS] [CLIENTS] [ROUNDS]: what the outbox (issue 17) costs POST /appointments. pgbench
# (-M prepared) runs the statement the proxy prepares for POST /appointments (api.create_appointment, the token
# verified in the database) on a fresh extension database whose patients consented to e-mail and SMS, in three
# variants that take turns (ROUNDS times, each round starting with the next one, so a change in the machine's
# load and the growing tables hit them alike):
#   off       the reminder trigger on ta.appointments disabled: no outbox work at all (the baseline)
#   idle      the trigger on, the practice's reminders off (the shipped default): the trigger's early return
#   writing   the trigger on, e-mail and SMS reminders on: two outbox rows written per appointment
# Prints a Markdown table (median tx/s of the rounds, cost vs off) and the load average.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-10}
clients=${2:-8}
rounds=${3:-3}
db=ta_bench_outbox
scripts=$WORK/bench/outbox
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

psql_super -d postgres -q -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER ta_owner"
TA_INSTALL=extension "$ROOT/stack/install-db.sh" "$db" ta_owner ta_app "bench-secret-0123456789abcdef-0123456789"
token=$(psql_super -d "$db" -tA -f "$ROOT/bench/outbox_seed.sql")
patient=$(psql_super -d "$db" -tA -c "SELECT min(id) FROM ta.patients")
# What the proxy prepares for POST /appointments (as bench/pgbench.sh): one slot per transaction, far ahead (so
# no reminder is due at once and none NOTIFYs the notifier; a reminder due within 60 s would).
cat > "$scripts/create_appointment.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', 'POST /appointments', true), set_config('request.jwt', '$token', true)), s AS (SELECT nextval('public.bench_slot') AS n), answer AS MATERIALIZED (SELECT api.create_appointment(json_build_object('patient_id', $patient, 'date', date '2100-01-01' + (s.n / 20)::int, 'start_time', make_time((s.n % 20)::int, 0, 0), 'end_time', make_time((s.n % 20)::int, 50, 0), 'price', 150))::text AS body FROM request, s) SELECT body, current_setting('response.status', true) FROM answer;
SQL

variant() {  # variant NAME
    case $1 in
        off) psql_super -d "$db" -q -c "ALTER TABLE ta.appointments DISABLE TRIGGER appointments_reminders_insert" ;;
        idle) psql_super -d "$db" -q -c "ALTER TABLE ta.appointments ENABLE TRIGGER appointments_reminders_insert" \
                  -c "UPDATE ta.reminder_settings SET email_enabled = false, sms_enabled = false" ;;
        writing) psql_super -d "$db" -q -c "ALTER TABLE ta.appointments ENABLE TRIGGER appointments_reminders_insert" \
                     -c "UPDATE ta.reminder_settings SET email_enabled = true, sms_enabled = true" ;;
    esac
}
tps() { "$PGBIN/pgbench" -n -M prepared -c "$clients" -j 2 -T "$seconds" -U ta_app -f "$scripts/create_appointment.sql" "$db" 2>&1 |
            awk '/^tps/ {printf "%.0f", $3}'; }
# shellcheck source=bench/median.sh
. "$(dirname "$0")/median.sh"

declare -A result
load_before=$(uptime | sed 's/.*load average: //')
order=(off idle writing)
for r in $(seq "$rounds"); do
    for i in 0 1 2; do  # each round starts with the next variant: none always runs on the biggest table
        v=${order[$(((i + r - 1) % 3))]}
        variant "$v"
        result[$v]="${result[$v]:+${result[$v]} }$(tps)"
    done
done
variant idle
off=$(echo "${result[off]}" | median)
echo "| POST /appointments statement, $clients clients, ${seconds}s runs | tx/s per round | median | cost vs off |"
echo "|---|---|---|---|"
for v in off idle writing; do
    m=$(echo "${result[$v]}" | median)
    echo "| $v | ${result[$v]} | $m | $(awk -v a="$m" -v b="$off" 'BEGIN {printf "%+.1f %%", (b > 0 ? (b - a) / b * 100 : 0)}') |"
done
echo "outbox rows written: $(psql_super -d "$db" -tA -c 'SELECT count(*) FROM ta.outbox'); appointments: $(psql_super -d "$db" -tA -c 'SELECT count(*) FROM ta.appointments')"
echo "load: before $load_before, after $(uptime | sed 's/.*load average: //') on $(nproc) CPUs"
