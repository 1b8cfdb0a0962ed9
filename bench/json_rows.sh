#!/usr/bin/env bash
# bench/json_rows.sh [N] [SECONDS]: ta.json_rows (issue 18) against json_agg, side by side in ONE
# database: the api's list_patients / list_appointments as they are, and the same functions with
# json_agg (main before ta.json_rows) as api.list_patients_agg / api.list_appointments_agg.
# 1. callgrind instructions per call of the proxy's statement for GET /patients (100 rows) and
#    GET /appointments (one week, 40 rows), in a single-user backend: (I(W+2N) - I(W+N)) / N,
#    independent of the load (after bench/instructions.sh on the claims branch).
# 2. pgbench -M prepared tps at 4 clients, the two variants alternating, ROUNDS rounds of SECONDS.
# Both bodies are checked identical first. Uses a throwaway cluster on DB_PORT+4. Needs valgrind.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
n=${1:-50}
seconds=${2:-5}
rounds=${ROUNDS:-3}
install=${INSTALL:-extension}
warm=20
dir=${TMPDIR:-/tmp}/ta-json-rows-$(printf %s "$ROOT" | sha256sum | cut -c1-10)
port=$((DB_PORT + 4))
command -v valgrind >/dev/null || { say "valgrind is not installed"; exit 1; }
# PostgreSQL runs as postgres when this runs as root, in a folder postgres can reach
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
rm -rf "$dir" && mkdir -p "$dir/run"
[ "$(id -u)" != 0 ] || chown -R postgres "$dir"
as_pg "$PGBIN/initdb" -D "$dir/pgdata" -U postgres --auth=trust >/dev/null
preload=; [ "$install" = fallback ] || preload=therapyassistance
start() { as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -l "$dir/log" -o "-p $port -k $dir/run -c listen_addresses='' -c shared_preload_libraries=$preload" -w start >/dev/null; }
stop() { as_pg "$PGBIN/pg_ctl" -D "$dir/pgdata" -m fast -w stop >/dev/null; }
start
sql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/run" -p "$port" "$@"; }
sql -U postgres -d postgres -c "CREATE ROLE ta_owner LOGIN" -c "CREATE ROLE ta_app LOGIN" -c "CREATE DATABASE ta OWNER ta_owner"
WORK=$dir DB_PORT=$port TA_INSTALL=$install "$ROOT/stack/install-db.sh" ta ta_owner ta_app \
    "bench-secret-0123456789abcdef-0123456789" >/dev/null
token=$(sql -U postgres -d ta -tA <<'SQL'
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}') IS NOT NULL \g /dev/null
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false)
  FROM ta.users u WHERE email = 'bench@example.com' \g /dev/null
SELECT count(api.create_patient(json_build_object('name', 'Pacjentka Zażółć ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'notes', E'Notatka "' || i || E'"\n')))
  FROM generate_series(1, 100) i \g /dev/null
SELECT count(api.create_appointment(json_build_object('patient_id', (SELECT min(id) FROM ta.patients) + i % 100,
          'date', date '2030-01-07' + i / 8, 'start_time', make_time(8 + i % 8, 0, 0), 'end_time', make_time(8 + i % 8, 50, 0),
          'price', 150 + i % 3 * 0.5)))
  FROM generate_series(0, 39) i \g /dev/null
SELECT current_setting('request.jwt');
SQL
)
# main's functions (json_agg), from the sources with ta.json_rows put back to json_agg, as the owner
for f in patients appointments; do
    awk -v head="CREATE FUNCTION api.list_$f(" 'index($0, head) == 1 {on = 1} on {print} on && /^END \$\$;/ {exit}' \
        "$ROOT/sql/$f.sql" | sed "s/api.list_$f(/api.list_${f}_agg(/; s/ta\.json_rows(/json_agg(/"
done | sql -U ta_owner -d ta
sql -U ta_owner -d ta -f "$ROOT/sql/privileges.sql"
request() { echo "request AS MATERIALIZED (SELECT set_config('request.client_addr', '198.51.100.7', true), set_config('request.route', '$1', true), set_config('request.jwt', '$token', true))"; }
patients() { echo "WITH $(request 'GET /patients'), answer AS MATERIALIZED (SELECT api.$1('{\"limit\": \"100\"}')::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;"; }
appointments() { echo "WITH $(request 'GET /appointments'), answer AS MATERIALIZED (SELECT api.$1('{\"date_from\": \"2030-01-07\", \"date_to\": \"2030-01-13\"}')::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;"; }
for f in patients appointments; do
    a=$(sql -U ta_app -d ta -tA -c "$($f "list_$f")" | md5sum); b=$(sql -U ta_app -d ta -tA -c "$($f "list_${f}_agg")" | md5sum)
    [ "$a" = "$b" ] || { say "the bodies of api.list_$f and api.list_${f}_agg differ"; exit 1; }
done
mkdir -p "$dir/scripts"
for v in list_patients list_patients_agg; do patients $v > "$dir/scripts/$v.sql"; done
for v in list_appointments list_appointments_agg; do appointments $v > "$dir/scripts/$v.sql"; done
echo "uptime before pgbench: $(uptime)"
echo "| pgbench -M prepared, 4 clients, tps | round | ta.json_rows | json_agg |"
echo "|---|---|---|---|"
for r in $(seq "$rounds"); do
    for f in patients appointments; do
        t=()
        for v in list_$f list_${f}_agg; do
            t+=("$("$PGBIN/pgbench" -n -M prepared -c 4 -j 2 -T "$seconds" -h "$dir/run" -p "$port" -U ta_app -f "$dir/scripts/$v.sql" ta 2>&1 |
                  awk '/^tps/ {printf "%.0f", $3}')")
        done
        echo "| GET /$f | $r | ${t[0]} | ${t[1]} |"
    done
done
echo "uptime after pgbench: $(uptime)"
stop
single() {  # single STATEMENT COUNT: total instructions of a backend running STATEMENT COUNT times
    local out=$dir/callgrind.out
    { echo "SET ROLE ta_app;"; for _ in $(seq "$2"); do echo "$1"; done; } |
        as_pg valgrind -q --tool=callgrind --callgrind-out-file="$out" "$PGBIN/postgres" --single -D "$dir/pgdata" \
            -c shared_preload_libraries=$preload ta >"$dir/single.log" 2>&1
    grep -q 'ERROR' "$dir/single.log" && { say "errors in $dir/single.log"; exit 1; }
    awk '/^(summary|totals):/ {print $2; exit}' "$out"
}
measure() {  # measure NAME STATEMENT
    local a b
    a=$(single "$2" $((warm + n)))
    b=$(single "$2" $((warm + 2 * n)))
    printf '%s' "$(((b - a) / n))"
}
echo "| callgrind, instructions per call ($install) | ta.json_rows | json_agg |"
echo "|---|---|---|"
echo "| GET /patients (100 rows) | $(measure x "$(patients list_patients)") | $(measure x "$(patients list_patients_agg)") |"
echo "| GET /appointments (one week, 40 rows) | $(measure x "$(appointments list_appointments)") | $(measure x "$(appointments list_appointments_agg)") |"
