#!/usr/bin/env bash
# bench/scheduling.sh [--report FILE] [INSTALL...]: issue 15's performance targets, on the local cluster (make up
# first; bench/run.sh runs this after the route table). For each install (default: extension fallback) a database
# ta_bench_sched_<install> is made afresh and, through the api over HTTP (a bench proxy on SCHED_PORT, default
# PORT+5), a busy practice is seeded: 40 patients with a weekly series of 52 sessions each (Monday to Friday, 09:00
# to 16:50, from four weeks ago, holidays skipped), two of them cancelled from half-way: 2,080 appointments in
# the calendar feed's window. Then, one request at a time, in SCHED_ROUNDS (5) rounds that take the databases in
# turn (so that the shared machine's load falls on all of them alike):
#   feed    SCHED_FEEDS (50) fetches of GET /calendar/{token}.ics: median, p95, bytes;
#   series  SCHED_SERIES (30) creations POST /appointment_series (52 weeks, holidays skipped), each for a patient
#           of its own in a free evening slot inside the feed's year, so that every one succeeds (201);
# curl's time_total for each (the client's process start excluded). Next to them the same api calls in a psql
# session as ta_app, as the proxy prepares them (\timing per call), so the proxy's share is visible, with the
# backend's CPU time and minor page faults per call (/proc); and EXPLAIN ANALYZE of the feed's statements.
# SCHED_BEFORE=REV adds a database "fallback@REV" installed from that revision's plain-SQL script (a git worktree
# in .work), measured in the same run: before and after side by side. Prints a Markdown section; with --report
# FILE it also replaces that section of FILE (or appends it; a new FILE holds it alone).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
report=
if [ "${1:-}" = --report ]; then report=$2; shift 2; fi
installs=("$@")
[ ${#installs[@]} -gt 0 ] || installs=(extension fallback)
n_feed=${SCHED_FEEDS:-50} n_series=${SCHED_SERIES:-30}
n_rounds=${SCHED_ROUNDS:-5}
base_port=${SCHED_PORT:-$((PORT + 5))}
dir=$WORK/bench/scheduling
mkdir -p "$dir"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }
secret=$(jwt_secret)
PASSWORD=bench-haslo-123

proxy_pids=()
cleanup() {
    local pid
    for pid in "${proxy_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${proxy_pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    if [ -n "$before_tree" ]; then git -C "$ROOT" worktree remove --force "$before_tree" 2>/dev/null || true; fi
}
before_tree=
trap cleanup EXIT
start_proxy() {  # start_proxy DB PORT
    [ -z "$(ss -ltnH "sport = :$2")" ] || { say "port $2 is taken (SCHED_PORT moves the bench's proxies)"; exit 1; }
    DATABASE_URL="postgresql:///$1?host=$PGSOCK&port=$DB_PORT&user=$DB_APP" JWT_SECRET=$secret PORT=$2 \
        PROXY_ENV_FILE=/dev/null "$ROOT/proxy/therapyassistance-proxy" >>"$dir/proxy-$2.log" 2>&1 &
    proxy_pids+=($!)
    for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$2/health" && return 0; sleep 0.1; done
    say "the bench proxy did not answer: $dir/proxy-$2.log"; tail -5 "$dir/proxy-$2.log" >&2; exit 1
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

setup() {  # setup DB INSTALL CHECKOUT PORT: a fresh database with the seeded practice behind a proxy on PORT;
    # its token, feed token and patients go to $dir/DB.state (use_db reads them)
    local db=$1 install=$2 tree=$3 url=http://127.0.0.1:$4 body p i out series token feed_token patients
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $DB_OWNER"
    TA_INSTALL=$install WORK=$WORK "$tree/stack/install-db.sh" "$db" "$DB_OWNER" "$DB_APP" "$secret"
    start_proxy "$db" "$4"
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
    { echo "$4"; echo "$token"; echo "$feed_token"; printf '%s\n' "${patients[@]}"; } >"$dir/$db.state"
}
use_db() {  # use_db DB: sets url, token, feed_token, patients
    local state
    mapfile -t state <"$dir/$1.state"
    url=http://127.0.0.1:${state[0]} token=${state[1]} feed_token=${state[2]} patients=("${state[@]:3}")
}

# http_feed DB N: N fetches, their "seconds bytes status" appended to $dir/DB.feed
http_feed() {
    for _ in $(seq "$2"); do
        curl -sS -o "$dir/$1.ics" -w '%{time_total} %{size_download} %{http_code}\n' "$url/calendar/$feed_token.ics"
    done >>"$dir/$1.feed"
}
# http_series DB FIRST-K N: N creations for patients[40 + K...] in slots K..., "seconds status" to $dir/DB.series
http_series() {
    local k
    for ((k = $2; k < $2 + $3; k++)); do
        curl -sS -o /dev/null -w '%{time_total} %{http_code}\n' -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d "$(slot_body "${patients[$((40 + k))]}" "$k")" \
            "$url/appointment_series"
    done >>"$dir/$1.series"
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
# sql_times DB SCRIPT OUT WARM-UP: runs SCRIPT's statements in one psql session as ta_app with \timing, after the
# untimed WARM-UP statement (a new session plans everything once); appends the seconds of each call to OUT and
# "calls cpu-ticks faults" of the backend over them to OUT.proc (/proc).
sql_times() {
    local out
    # shellcheck disable=SC2016  # $14, $15, $10 and $BACKEND are awk's and psql's shell's, not this one's
    out=$({ printf '%s\n' 'SELECT pg_backend_pid() AS pid \gset' '\setenv BACKEND :pid' "$4" \
                   '\! awk '"'"'{print "P0", $14 + $15, $10}'"'"' /proc/$BACKEND/stat' '\timing on'; cat "$2"
            printf '%s\n' '\timing off' '\! awk '"'"'{print "P1", $14 + $15, $10}'"'"' /proc/$BACKEND/stat'; } |
          "$PGBIN/psql" -X -q -At -F ' ' -v ON_ERROR_STOP=1 -U "$DB_APP" -d "$1" 2>&1)
    if grep -q ERROR <<<"$out"; then say "$(grep ERROR <<<"$out" | head -3)"; fi
    awk '/^Time: / {print $2 / 1000}' <<<"$out" >>"$3"
    awk '/^P0 / {c0 = $2; f0 = $3} /^P1 / {c1 = $2; f1 = $3} /^Time: / {n++}
         END {print n, c1 - c0, f1 - f0}' <<<"$out" >>"$3.proc"
}
sql_feed() {  # sql_feed DB N
    local s=$dir/feed.sql
    for _ in $(seq "$2"); do app_sql "GET /calendar/{token}.ics" "api.calendar_feed('$feed_token')"; done >"$s"
    sql_times "$1" "$s" "$dir/$1.sqlfeed" "$(head -1 "$s")"
}
sql_series() {  # sql_series DB FIRST-K N
    local s=$dir/series.sql k
    for ((k = $2; k < $2 + $3; k++)); do
        app_sql "POST /appointment_series" \
            "api.create_appointment_series('$(slot_body "${patients[$((40 + k))]}" "$k" | tr -d '\n')'::json)" "$token"
    done >"$s"
    sql_times "$1" "$s" "$dir/$1.sqlseries" "$(app_sql "POST /appointment_series" "api.create_appointment_series('$(
        slot_body "${patients[$((40 + $2))]}" "$2" | tr -d '\n' | sed 's/}$/, "dry_run": true}/')'::json)" "$token")"
}
# per_call FILE.proc: "CPU-ms faults" per call over the rounds
per_call() {
    awk -v hz="$(getconf CLK_TCK)" '{n += $1; c += $2; f += $3}
        END {if (n) printf "%.1f %.0f\n", c * 1000 / hz / n, f / n; else print "- -"}' "$1"
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
# Only the statements that took 0.5 ms or more (the initials of each patient are one short plan each).
slow_plans() {
    awk '/^duration: / {keep = ($2 + 0 >= 0.5)} keep'
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
    setup "$db" "$install" "$tree" $((base_port + i))
    rm -f "$dir/$db".{feed,series,sqlfeed,sqlseries}*
done
# The feed first (the series add to its year), every database in turn in each round.
per_feed=$(( (n_feed + n_rounds - 1) / n_rounds )) per_series=$(( (n_series + n_rounds - 1) / n_rounds ))
declare -A events=()
for db in "${dbs[@]}"; do
    events[$db]=$(psql_super -d "$db" -tA -c "SELECT count(*) FROM ta.appointments
                                              WHERE date BETWEEN current_date - 30 AND current_date + 366")
done
say "scheduling bench: the feed, $n_rounds rounds"
for ((r = 0; r < n_rounds; r++)); do
    for db in "${dbs[@]}"; do use_db "$db"; http_feed "$db" "$per_feed"; sql_feed "$db" "$per_feed"; done
done
for i in "${!dbs[@]}"; do use_db "${dbs[$i]}"; { echo "${labels[$i]}:"; feed_plan "${dbs[$i]}" | slow_plans; echo; } >>"$plans"; done
say "scheduling bench: the series, $n_rounds rounds"
for ((r = 0; r < n_rounds; r++)); do
    for db in "${dbs[@]}"; do
        use_db "$db"
        http_series "$db" $((r * per_series)) "$per_series"
        sql_series "$db" $((n_rounds * per_series + r * per_series)) "$per_series"
    done
done
for i in "${!dbs[@]}"; do
    db=${dbs[$i]}
    read -r hf_med hf_p95 < <(cut -d' ' -f1 "$dir/$db.feed" | stats)
    read -r sf_med sf_p95 < <(stats <"$dir/$db.sqlfeed")
    read -r hs_med hs_p95 < <(cut -d' ' -f1 "$dir/$db.series" | stats)
    read -r ss_med ss_p95 < <(stats <"$dir/$db.sqlseries")
    read -r sf_cpu sf_faults < <(per_call "$dir/$db.sqlfeed.proc")
    read -r ss_cpu ss_faults < <(per_call "$dir/$db.sqlseries.proc")
    statuses="$(cut -d' ' -f3 "$dir/$db.feed" | sort -u | tr '\n' ' ')$(cut -d' ' -f2 "$dir/$db.series" | sort -u | tr '\n' ' ')"
    # The feed's text without its DTSTAMP lines (the moment of the fetch): equal across the databases.
    digest=$(grep -av '^DTSTAMP:' "$dir/$db.ics" | sha256sum | cut -c1-12)
    echo "| ${labels[$i]} | ${events[$db]} | $hf_med / $hf_p95 | $sf_med / $sf_p95 | $sf_cpu | $sf_faults |" \
         "$(tail -1 "$dir/$db.feed" | cut -d' ' -f2) | $digest | $hs_med / $hs_p95 | $ss_med / $ss_p95 | $ss_cpu |" \
         "$ss_faults | ${statuses% } |" >>"$rows"
done

section=$(
    echo "## Scheduling: series and calendar feed"
    echo
    echo "bench/scheduling.sh on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average at the start $started_load,"
    echo "at the end $(load); therapyassistance.malloc_retain = $(psql_super -d postgres -tA -c 'SHOW therapyassistance.malloc_retain' 2>/dev/null || echo '-')."
    echo "One request at a time through a bench proxy (curl's time_total), then the same api call in psql as"
    echo "ta_app (psql's timing). A practice of 40 weekly series (2,080 appointments, two series cancelled from half-way),"
    echo "seeded through the api; $n_feed feed fetches, then $n_series series of 52 weeks (holidays skipped, 201 each)"
    echo "over HTTP and $n_series more in psql, in $n_rounds rounds taking the databases in turn. Median / p95 in ms; CPU"
    echo "and faults: the psql session's backend per call (utime + stime, minor page faults); text: SHA-256 of the"
    echo "feed without its DTSTAMP lines."
    echo
    echo "| install | appointments in the feed | feed HTTP ms | feed SQL ms | feed SQL CPU ms | feed faults | feed bytes | text | series HTTP ms | series SQL ms | series SQL CPU ms | series faults | HTTP statuses |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    cat "$rows"
    echo
    echo "Targets: a 52-week series well under 50 ms, the feed under 20 ms and a few hundred kB at most."
    echo
    echo "The feed's statements of 0.5 ms or more as api.calendar_feed runs them (auto_explain, analyze, nested; one call):"
    echo '```'
    cat "$plans"
    echo '```'
)
printf '%s\n' "$section"
if [ -n "$report" ]; then
    touch "$report"
    # (through the environment: awk -v would read the plans' backslashes as escapes)
    SECTION=$section awk '
        BEGIN {section = ENVIRON["SECTION"]}
        /^## Scheduling: series and calendar feed$/ {print section; skip = 1; printed = 1; next}
        skip && /^## / {skip = 0}
        !skip {print}
        END {if (!printed) print "\n" section}' "$report" >"$report.tmp"
    mv "$report.tmp" "$report"
    say "wrote the scheduling section into $report"
fi
