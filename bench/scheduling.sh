#!/usr/bin/env bash
# bench/scheduling.sh [--report FILE] [INSTALL...]: issue 15's performance targets, on the local cluster (make up
# first; bench/run.sh runs this after the route table). For each install (default: extension fallback) a database
# ta_bench_sched_<install> is made afresh and, through the api over HTTP (a bench proxy on SCHED_PORT, default
# PORT+5), a busy practice is seeded: 40 patients with a weekly series of 52 sessions each (Monday to Friday, 09:00
# to 16:50, from four weeks ago, holidays skipped), two of them cancelled from half-way: 2,080 appointments in
# the calendar feed's window. Then, one request at a time:
#   feed    SCHED_FEEDS (50) fetches of GET /calendar/{token}.ics: median, p95, bytes;
#   series  SCHED_SERIES (30) creations POST /appointment_series (52 weeks, holidays skipped), each for a patient
#           of its own in a free evening slot inside the feed's year, so that every one succeeds (201);
# curl's time_total for each (the client's process start excluded). Next to them the same api calls in one
# psql session as ta_app, as the proxy prepares them (\timing per call), so the proxy's share is visible, the
# backend's minor page faults per call (/proc), and EXPLAIN ANALYZE of the feed's query.
# SCHED_BEFORE=REV adds a database "fallback@REV" installed from that revision's plain-SQL script (a git worktree
# in .work), measured in the same run: before and after side by side. Prints a Markdown section; with --report
# FILE it also replaces that section of FILE.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
report=
if [ "${1:-}" = --report ]; then report=$2; shift 2; fi
installs=("$@")
[ ${#installs[@]} -gt 0 ] || installs=(extension fallback)
n_feed=${SCHED_FEEDS:-50} n_series=${SCHED_SERIES:-30}
port=${SCHED_PORT:-$((PORT + 5))}
url=http://127.0.0.1:$port
dir=$WORK/bench/scheduling
mkdir -p "$dir"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }
secret=$(jwt_secret)
PASSWORD=bench-haslo-123

proxy_pid=
stop_proxy() {
    [ -n "$proxy_pid" ] || return 0
    kill -TERM "$proxy_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
    proxy_pid=
}
before_tree=
cleanup() {
    stop_proxy
    if [ -n "$before_tree" ]; then git -C "$ROOT" worktree remove --force "$before_tree" 2>/dev/null || true; fi
}
trap cleanup EXIT
start_proxy() {  # start_proxy DB
    [ -z "$(ss -ltnH "sport = :$port")" ] || { say "port $port is taken (SCHED_PORT moves it)"; exit 1; }
    DATABASE_URL="postgresql:///$1?host=$PGSOCK&port=$DB_PORT&user=$DB_APP" JWT_SECRET=$secret PORT=$port \
        PROXY_ENV_FILE=/dev/null "$ROOT/proxy/therapyassistance-proxy" >>"$dir/proxy.log" 2>&1 &
    proxy_pid=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "$url/health" && return 0; sleep 0.1; done
    say "the bench proxy did not answer: $dir/proxy.log"; tail -5 "$dir/proxy.log" >&2; exit 1
}

# Dates: the Monday four weeks ago starts the seed's series; the measured series start in the Monday after it.
monday=$(date -d "today - $(( $(date +%u) - 1 )) days - 28 days" +%F)
load() { cut -d' ' -f1-3 /proc/loadavg; }
# stats < seconds, one per line: "median p95" in ms
stats() {
    sort -g | awk '{v[NR] = $1 * 1000} END {if (!NR) {print "- -"; exit}
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        p = int(NR * 0.95 + 0.999999); if (p > NR) p = NR
        printf "%.1f %.1f\n", m, v[p]}'
}
jget() { grep -o "\"$1\" *: *\"\{0,1\}[^\",}]*" | head -1 | sed 's/.*: *"\{0,1\}//'; }  # the first "KEY": value

# A measured series' slot k: day k % 5 of the week (Monday to Friday), 17:00 + (k / 5) * 25 min, 20 minutes.
slot_body() {  # slot_body PATIENT K
    local day=$(($2 % 5)) mins=$((17 * 60 + ($2 / 5) * 25))
    printf '{"patient_id": %s, "start_date": "%s", "start_time": "%02d:%02d", "end_time": "%02d:%02d", "price": 150,
             "count": 52, "skip_holidays": true}' "$1" "$(date -d "$monday + $((7 + day)) days" +%F)" \
        $((mins / 60)) $((mins % 60)) $(((mins + 20) / 60)) $(((mins + 20) % 60))
}

setup() {  # setup DB INSTALL [CHECKOUT]: a fresh database with the seeded practice; sets token, feed_token, patients
    local db=$1 install=$2 tree=${3:-$ROOT} body p i out series
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $DB_OWNER"
    TA_INSTALL=$install WORK=$WORK "$tree/stack/install-db.sh" "$db" "$DB_OWNER" "$DB_APP" "$secret"
    start_proxy "$db"
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"email\": \"grafik@example.com\", \"password\": \"$PASSWORD\"}" "$url/auth/register"
    token=$(curl -fsS -d "username=grafik%40example.com&password=$PASSWORD" "$url/auth/login" | jget access_token)
    patients=()
    for i in $(seq 0 $((40 + 2 * n_series - 1))); do
        body="{\"name\": \"Pacjent$i Testowy$i\", \"phone\": \"+48 600 000 $(printf %03d "$i")\"}"
        patients+=("$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$body" \
                           "$url/patients" | jget id)")
    done
    # The seed: patient i, weekday i % 5, 09:00 + (i / 5) hours.
    for i in $(seq 0 39); do
        p=${patients[$i]}
        body=$(printf '{"patient_id": %s, "start_date": "%s", "start_time": "%02d:00", "end_time": "%02d:50",
                        "price": 150, "count": 52, "skip_holidays": true}' \
                      "$p" "$(date -d "$monday + $((i % 5)) days" +%F)" $((9 + i / 5)) $((9 + i / 5)))
        out=$(curl -sS -w '\n%{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
                   -d "$body" "$url/appointment_series")
        [ "$(tail -1 <<<"$out")" = 201 ] || { say "seeding a series failed: $out"; exit 1; }
        series=$(head -1 <<<"$out" | jget id)
        if [ "$i" -lt 2 ]; then
            curl -fsS -o /dev/null -X DELETE -H "Authorization: Bearer $token" \
                "$url/appointment_series/$series?from=$(date -d "$monday + $((i % 5 + 26 * 7)) days" +%F)"
        fi
    done
    feed_token=$(curl -fsS -X POST -H "Authorization: Bearer $token" "$url/calendar_feed" |
                 sed -n 's|.*"/calendar/\([^".]*\)\.ics".*|\1|p')
    psql_super -d "$db" -q -c "VACUUM (ANALYZE)" -c CHECKPOINT
}

# http_feed: n_feed fetches; prints "median p95 bytes status"
http_feed() {
    local f=$dir/feed.times
    : >"$f"
    for _ in $(seq "$n_feed"); do
        curl -sS -o "$dir/feed.ics" -w '%{time_total} %{size_download} %{http_code}\n' "$url/calendar/$feed_token.ics" >>"$f"
    done
    echo "$(cut -d' ' -f1 "$f" | stats) $(tail -1 "$f" | cut -d' ' -f2) $(cut -d' ' -f3 "$f" | sort -u | tr '\n' ,)"
}
# http_series FIRST-K: n_series creations for patients[40 + K...], slots K...; prints "median p95 statuses"
http_series() {
    local f=$dir/series.times k
    : >"$f"
    for ((k = $1; k < $1 + n_series; k++)); do
        curl -sS -o /dev/null -w '%{time_total} %{http_code}\n' -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d "$(slot_body "${patients[$((40 + k))]}" "$k")" \
            "$url/appointment_series" >>"$f"
    done
    echo "$(cut -d' ' -f1 "$f" | stats) $(cut -d' ' -f2 "$f" | sort -u | tr '\n' ,)"
}

# The statement the proxy prepares for a route (proxy/src/route_table.c), its parameters written in.
app_sql() {  # app_sql ROUTE CALL [TOKEN]
    local claims=''
    [ -z "${3:-}" ] || claims=", set_config('request.jwt', '$3', true)"
    printf "WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '127.0.0.1', true), "
    printf "set_config('request.route', '%s', true)%s), answer AS MATERIALIZED (SELECT %s::text AS body FROM request) " \
        "$1" "$claims" "$2"
    printf "SELECT length(body), current_setting('response.status', true) FROM answer;\n"
}
# sql_times DB SCRIPT: runs SCRIPT's statements in one psql session as ta_app with \timing; prints
# "median p95 faults-per-call" (the backend's minor page faults over the calls, from /proc).
sql_times() {
    local out
    out=$({ echo 'SELECT pg_backend_pid() AS pid \gset'; echo '\setenv BACKEND :pid'
            echo '\! awk '"'"'{print "F0", $10}'"'"' /proc/$BACKEND/stat'; echo '\timing on'; cat "$2"; echo '\timing off'
            echo '\! awk '"'"'{print "F1", $10}'"'"' /proc/$BACKEND/stat'; } |
          "$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -U "$DB_APP" -d "$1" 2>&1 |
          awk '/^F0 / {f0 = $2} /^F1 / {f1 = $2} /^Time: / {n++; print "T", $2 / 1000} /ERROR/ {print "E", $0}
               END {print "F", n ? (f1 - f0) / n : 0}')
    if grep -q '^E' <<<"$out"; then say "$(grep '^E' <<<"$out" | head -3)"; fi
    echo "$(awk '$1 == "T" {print $2}' <<<"$out" | stats) $(awk '$1 == "F" {printf "%.0f", $2}' <<<"$out")"
}
sql_feed() {  # sql_feed DB
    local s=$dir/feed.sql
    for _ in $(seq "$n_feed"); do app_sql "GET /calendar/{token}.ics" "api.calendar_feed('$feed_token')"; done >"$s"
    sql_times "$1" "$s"
}
sql_series() {  # sql_series DB FIRST-K
    local s=$dir/series.sql k
    for ((k = $2; k < $2 + n_series; k++)); do
        app_sql "POST /appointment_series" \
            "api.create_appointment_series('$(slot_body "${patients[$((40 + k))]}" "$k" | tr -d '\n')'::json)" "$token"
    done >"$s"
    sql_times "$1" "$s"
}
# The plans of the feed's statements as api.calendar_feed runs them (auto_explain, nested, with timing).
feed_plan() {  # feed_plan DB
    psql_super -d "$1" -At 2>&1 <<SQL | sed -n 's/^[A-Z]*:  duration: /duration: /p; /^ *Query Text\|^ *->\|^[A-Z][a-zA-Z ]*  (\|^ *Planning\|^ *Execution\|^ *Buffers\|^ *Index Cond\|^ *Sort\|^ *InitPlan\|^ *SubPlan/p' | cut -c1-160
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; SET client_min_messages = log;
SET ROLE $DB_APP;
SELECT set_config('request.client_addr', '127.0.0.1', false);
SELECT length(api.calendar_feed('$feed_token'));
SQL
}

dbs=() labels=()
for install in "${installs[@]}"; do dbs+=("ta_bench_sched_$install"); labels+=("$install"); done
if [ -n "${SCHED_BEFORE:-}" ]; then
    before_tree=$WORK/bench/sched-before
    git -C "$ROOT" worktree remove --force "$before_tree" 2>/dev/null || rm -rf "$before_tree"
    git -C "$ROOT" worktree add -q --detach "$before_tree" "$SCHED_BEFORE"
    rev=$(git -C "$before_tree" rev-parse --short HEAD)
    (cd "$before_tree" && sql/build.sh install fallback "$(sed -n "s/^default_version = '\(.*\)'$/\1/p" therapyassistance.control)" \
        >sql/fallback/therapyassistance.sql)
    dbs+=(ta_bench_sched_before) labels+=("fallback@$rev")
fi

rows=$dir/rows plans=$dir/plans
: >"$rows"; : >"$plans"
started_load=$(load)
for i in "${!dbs[@]}"; do
    db=${dbs[$i]} label=${labels[$i]} tree=$ROOT install=$label
    case $label in fallback@*) tree=$before_tree install=fallback ;; esac
    say "scheduling bench: seeding $db ($label) through the api"
    setup "$db" "$install" "$tree"
    events=$(psql_super -d "$db" -tA -c "SELECT count(*) FROM ta.appointments
                                          WHERE date BETWEEN current_date - 30 AND current_date + 366")
    say "scheduling bench: measuring $label ($events appointments in the feed's window)"
    read -r hf_med hf_p95 hf_bytes hf_status < <(http_feed)
    read -r sf_med sf_p95 sf_faults < <(sql_feed "$db")
    read -r hs_med hs_p95 hs_status < <(http_series 0)
    read -r ss_med ss_p95 ss_faults < <(sql_series "$db" "$n_series")
    stop_proxy
    echo "| $label | $events | $hf_med / $hf_p95 | $sf_med / $sf_p95 | $hf_bytes | $sf_faults |" \
         "$hs_med / $hs_p95 | $ss_med / $ss_p95 | $ss_faults | ${hf_status%,} ${hs_status%,} | $(load) |" >>"$rows"
    { echo "$label:"; feed_plan "$db"; echo; } >>"$plans"
done

section=$(
    echo "## Scheduling: series and calendar feed"
    echo
    echo "bench/scheduling.sh on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average at the start $started_load."
    echo "One request at a time through a bench proxy (curl's time_total), then the same api call in psql as"
    echo "ta_app (\\timing). A practice of 40 weekly series (2,080 appointments, two series cancelled from half-way),"
    echo "seeded through the api; $n_feed feed fetches, then $n_series series of 52 weeks (holidays skipped, 201 each)"
    echo "over HTTP and $n_series more in psql. Median / p95 in ms; faults: the backend's minor page faults per call."
    echo
    echo "| install | appointments in the feed | feed HTTP ms | feed SQL ms | feed bytes | feed faults | series HTTP ms | series SQL ms | series faults | HTTP statuses | load after |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$rows"
    echo
    echo "Targets: a 52-week series well under 50 ms, the feed under 20 ms and a few hundred kB at most."
    echo
    echo "The feed's statements as api.calendar_feed runs them (auto_explain, analyze, nested):"
    echo '```'
    cat "$plans"
    echo '```'
)
printf '%s\n' "$section"
if [ -n "$report" ]; then
    awk -v section="$section" '
        /^## Scheduling: series and calendar feed$/ {print section; skip = 1; printed = 1; next}
        skip && /^## / {skip = 0}
        !skip {print}
        END {if (!printed) print "\n" section}' "$report" >"$report.tmp" && mv "$report.tmp" "$report"
    say "wrote the scheduling section into $report"
fi
