#!/usr/bin/env bash
# regress/audit_queue.sh: the audit writer of the C install (extension/audit_*.c) on a cluster of
# its own (initdb in $WORK/audit-queue, shared_preload_libraries = 'therapyassistance', port
# DB_PORT+7), so that it may stop, freeze and kill PostgreSQL at will. Needs the extension installed
# (make install). Proves: a read in its own transaction gets no xid and its row is written by the
# writer, chained; the trail shows a session its own reads at once; a failed statement or an aborted
# subtransaction leaves no row; a read and a write in one statement keep their order; with the writer
# frozen reads write their own rows (back-pressure) and lose none; a fast shutdown writes what is
# queued; kill -9 of PostgreSQL loses only read rows still queued, never a write nor a row before it.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
# Laid out as a stack's $WORK (pgdata, run), so that stack/install-db.sh can be pointed at it.
aq=$WORK/audit-queue
data=$aq/pgdata
sock=$aq/run
port=$((DB_PORT + 7))
db=ta_audit_queue
export PGHOST=$sock PGPORT=$port
failures=0

q() { psql_super -d "$db" -tA "$@"; }
check() {  # check WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then say "ok: $1"; else say "FAILED: $1: expected '$2', got '$3'"; failures=$((failures + 1)); fi
}
postmaster_pid() { head -n 1 "$data/postmaster.pid"; }
writer_pid() { q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'therapyassistance audit writer' AND datname = '$db'"; }
# Waits (up to 10 s) until the database's writer runs, and prints its pid; a read asks for it.
wait_writer() {
    local i pid
    for i in $(seq 100); do
        pid=$(writer_pid)
        if [ -n "$pid" ]; then echo "$pid"; return 0; fi
        as_app "SELECT api.list_patients('{}') IS NOT NULL" >/dev/null
        sleep 0.1
    done
    say "FAILED: no audit writer started"; return 1
}
# as_app SQL...: statements run as the caller of the token (each its own transaction, as the proxy's).
as_app() {
    local args=(-c "SELECT set_config('request.jwt', '$token', false) IS NULL" -c "SELECT set_config('request.route', 'GET /test', false) IS NULL") s
    for s in "$@"; do args+=(-c "$s"); done
    q "${args[@]}" | tail -n +3
}
trail_rows() { as_app "SELECT json_array_length(api.list_audit('{\"limit\": \"1000\"}'))"; }
all_rows() { q -c "SELECT count(*) FROM ta.audit_log"; }
chain_ok() { as_app "SELECT api.verify_audit() ->> 'ok'"; }
cleanup() {
    if cluster_running "$data"; then pg_stop "$data"; fi
    rm -rf "$aq"
}
trap cleanup EXIT
[ -z "${AQ_DEBUG:-}" ] || trap - EXIT

cleanup
mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then chown postgres: "$aq" "$data"; fi
as_pg "$PGBIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
cat >> "$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
lc_messages = 'C'
shared_preload_libraries = 'therapyassistance'
therapyassistance.audit_defer = on
therapyassistance.audit_queue_size = 64kB
therapyassistance.audit_writer_idle = 60s
therapyassistance.audit_batch_delay = 50ms
CONF
pg_start "$data" "$sock"
psql_super -d postgres -c "CREATE ROLE aq_owner LOGIN" -c "CREATE ROLE aq_app LOGIN" -c "CREATE DATABASE $db OWNER aq_owner" >/dev/null
WORK=$aq DB_PORT=$port TA_INSTALL=extension BACKUP=0 "$ROOT/stack/install-db.sh" "$db" aq_owner aq_app "audit-queue-secret-do-not-use-0123456789abcdef"
q -c "SELECT api.register('{\"email\": \"kolejka@example.com\", \"password\": \"haslo-testowe\"}') IS NOT NULL" >/dev/null
token=$(q -c "SELECT api.login('{\"username\": \"kolejka@example.com\", \"password\": \"haslo-testowe\"}') ->> 'access_token'")
patient=$(as_app "SELECT api.create_patient('{\"name\": \"Pacjent Kolejki\"}') ->> 'id'")
writer=$(wait_writer)
chain_ok > /dev/null

# A read in its own transaction stays read-only; its row is on the trail at once for its caller.
before=$(trail_rows)
check "a read in its own transaction has no transaction id (its row is queued)" "array|t" \
    "$(as_app "SELECT json_typeof(api.list_patients('{}')), pg_current_xact_id_if_assigned() IS NULL")"
check "... in a transaction block the read writes its own row" "f" \
    "$(as_app "BEGIN" "SELECT api.list_patients('{}') IS NOT NULL AND pg_current_xact_id_if_assigned() IS NULL" "COMMIT")"
check "... and the session's next read is queued again" "t" \
    "$(as_app "BEGIN" "SELECT api.list_patients('{}') IS NOT NULL" "COMMIT" \
              "SELECT api.list_patients('{}') IS NOT NULL AND pg_current_xact_id_if_assigned() IS NULL" | tail -n 1)"
check "the caller sees the four reads on the trail at once" "$((before + 4))" "$(trail_rows)"
check "... the read queued names its route and patient" "read|GET /test|[$patient]" \
    "$(as_app "SELECT e ->> 'action', e ->> 'route', (e -> 'patient_ids')::text FROM json_array_elements(api.list_audit('{\"limit\": \"2\"}')) e LIMIT 1")"

# A failed statement and an aborted subtransaction leave no row; a committed subtransaction does.
before=$(trail_rows)
as_app "SELECT api.list_patients('{}') IS NOT NULL, 1 / 0" >/dev/null 2>&1 || true
as_app "DO \$\$ BEGIN PERFORM api.list_patients('{}'); RAISE EXCEPTION 'odrzucone'; EXCEPTION WHEN OTHERS THEN NULL; END \$\$" >/dev/null
check "a failed statement and an aborted subtransaction leave no row" "$before" "$(trail_rows)"
as_app "DO \$\$ BEGIN PERFORM api.list_patients('{}'); EXCEPTION WHEN OTHERS THEN NULL; END \$\$" >/dev/null
check "a committed subtransaction's read leaves its row" "$((before + 1))" "$(trail_rows)"

# A read and then a write in one statement: the read's row comes first (ids in the calls' order).
as_app "SELECT api.get_patient($patient) IS NOT NULL, api.update_patient($patient, '{\"phone\": \"600 000 001\"}') IS NOT NULL" >/dev/null
check "a read before a write in one statement keeps its place" "update,read" \
    "$(as_app "SELECT string_agg(e ->> 'action', ',') FROM (SELECT e FROM json_array_elements(api.list_audit('{\"limit\": \"2\"}')) e) t")"

# Many sessions at once, reads and writes: every call leaves its row, the chain holds, and reads
# took no transaction ids of their own (the writer's batches did).
cat > "$WORK/audit-queue-read.sql" <<SQL
SELECT set_config('request.jwt', '$token', false) IS NULL;
SELECT api.list_patients('{}') IS NOT NULL;
SQL
before=$(all_rows)
xid_before=$(q -c "SELECT txid_current()")
"$PGBIN/pgbench" -n -c 8 -t 200 -f "$WORK/audit-queue-read.sql" -U postgres "$db" >/dev/null 2>&1 &
bench=$!
for i in $(seq 50); do as_app "SELECT api.update_patient($patient, '{\"notes\": \"$i\"}') IS NOT NULL" >/dev/null; done
wait $bench
xids=$(( $(q -c "SELECT txid_current()") - xid_before ))
as_app "SELECT api.list_audit('{}') IS NOT NULL" >/dev/null
check "1,600 concurrent reads and 50 writes leave 1,650 rows" "$((before + 1650))" "$(all_rows)"
check "... chained: the trail verifies" "true" "$(chain_ok)"
check "... and the reads did not take a transaction id each ($xids ids for 1,650 calls)" "yes" \
    "$([ "$xids" -lt 800 ] && echo yes || echo no)"

# Several practices read at once, some of their reads queued and some written by themselves (the small
# queue fills): the writer's batches span practices (one transaction wrote rows of several), and every
# read leaves exactly one row (each read names itself in its route), chained, ids in each chain's order.
others=()
for n in 1 2; do
    q -c "SELECT api.register('{\"email\": \"gabinet$n@example.com\", \"password\": \"haslo-testowe\"}') IS NOT NULL" >/dev/null
    others+=("$(q -c "SELECT api.login('{\"username\": \"gabinet$n@example.com\", \"password\": \"haslo-testowe\"}') ->> 'access_token'")")
done
q -c "CREATE SEQUENCE IF NOT EXISTS public.aq_read" >/dev/null
as_app "SELECT api.list_audit('{}') IS NOT NULL" >/dev/null
first_id=$(q -c "SELECT coalesce(max(id), 0) FROM ta.audit_log")
pids=()
for t in "$token" "${others[@]}"; do
    cat > "$WORK/audit-queue-practice-${#pids[@]}.sql" <<SQL
SELECT set_config('request.jwt', '$t', false) IS NULL, set_config('request.route', 'GET /read/' || nextval('public.aq_read'), false) IS NULL;
SELECT api.list_patients('{}') IS NOT NULL;
SQL
    "$PGBIN/pgbench" -n -c 3 -t 300 -f "$WORK/audit-queue-practice-${#pids[@]}.sql" -U postgres "$db" >/dev/null 2>&1 &
    pids+=($!)
done
wait "${pids[@]}"
as_app "SELECT api.list_audit('{}') IS NOT NULL" >/dev/null
check "3 practices x 900 concurrent reads: 2,700 rows, one per read" "2700|2700|3" \
    "$(q -c "SELECT count(*), count(DISTINCT route), count(DISTINCT practice_id) FROM ta.audit_log WHERE id > $first_id AND route LIKE 'GET /read/%'")"
check "... some of the writer's transactions wrote rows of several practices" "yes" \
    "$(q -c "SELECT CASE WHEN count(*) > 0 THEN 'yes' ELSE 'no' END FROM (SELECT xmin::text FROM ta.audit_log WHERE id > $first_id
                                                                 GROUP BY 1 HAVING count(DISTINCT practice_id) > 1) t")"
for t in "$token" "${others[@]}"; do
    check "... the practice's trail verifies" "true" \
        "$(q -c "SELECT set_config('request.jwt', '$t', false) IS NULL" -c "SELECT api.verify_audit() ->> 'ok'" | tail -n 1)"
done
check "... a row's predecessor in its chain has a smaller id and the row's hash is of it (all practices)" "0" \
    "$(q -c "SELECT count(*) FROM (SELECT l.hash, ta.audit_row_hash(lag(l.hash) OVER w, l) AS recomputed
                                      FROM ta.audit_log l WINDOW w AS (PARTITION BY l.practice_id, l.chain ORDER BY l.id)) t
               WHERE hash IS DISTINCT FROM recomputed")"
rm -f "$WORK"/audit-queue-practice-*.sql

# Back-pressure: with the writer frozen the queue (64 kB, about 1,000 such entries) fills; reads
# then write their own rows.
before=$(all_rows)
kill -STOP "$writer"
"$PGBIN/pgbench" -n -c 2 -t 1500 -f "$WORK/audit-queue-read.sql" -U postgres "$db" >/dev/null 2>&1
check "with the writer frozen, 3,000 reads are answered; those the full queue refused wrote their own rows" "yes" \
    "$(n=$(all_rows); [ "$n" -gt "$before" ] && [ "$n" -lt $((before + 3000)) ] && echo yes || echo "no ($n rows)")"
kill -CONT "$writer"
check "... and once it runs again, every one of them is on the trail" "$((before + 3000))" "$(as_app "SELECT api.verify_audit() ->> 'rows'" >/dev/null; all_rows)"
check "... chained" "true" "$(chain_ok)"

# A fast shutdown (SIGTERM) writes what is queued before the writer leaves.
before=$(all_rows)
kill -STOP "$writer"
for i in $(seq 20); do as_app "SELECT api.list_patients('{}') IS NOT NULL" >/dev/null; done
as_pg "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null &
stopping=$!
sleep 0.5
kill -CONT "$writer"
wait $stopping
pg_start "$data" "$sock"
check "20 reads queued when PostgreSQL was stopped are all written" "$((before + 20))" "$(all_rows)"
writer=$(wait_writer)

# kill -9 of PostgreSQL: read rows still queued are lost (the documented window); the write, and
# every read before it (written ahead of it), are not.
as_app "SELECT api.list_audit('{}') IS NOT NULL" >/dev/null
before=$(all_rows)
kill -STOP "$writer"
for i in $(seq 10); do as_app "SELECT api.list_patients('{}') IS NOT NULL" >/dev/null; done
kill -CONT "$writer"
as_app "SELECT api.update_patient($patient, '{\"notes\": \"przed awarią\"}') IS NOT NULL" >/dev/null
kill -STOP "$writer"
for i in $(seq 10); do as_app "SELECT api.list_patients('{}') IS NOT NULL" >/dev/null; done
pm=$(postmaster_pid)
children=$(ps -o pid= --ppid "$pm")
kill -9 "$pm"
# shellcheck disable=SC2086  # one pid a word
kill -9 $children 2>/dev/null || true
for i in $(seq 50); do ps -p "$pm" >/dev/null || break; sleep 0.1; done
pg_start "$data" "$sock"
check "after kill -9: the 10 reads before the write and the write kept, the 10 queued reads lost" "$((before + 11))" "$(all_rows)"
check "... the write itself is there" "przed awarią" "$(q -c "SELECT notes FROM ta.patients WHERE id = $patient")"
check "... the trail verifies" "true" "$(chain_ok)"
check "... and reads are queued again" "t" \
    "$(wait_writer >/dev/null; as_app "SELECT api.list_patients('{}') IS NOT NULL AND pg_current_xact_id_if_assigned() IS NULL")"

rm -f "$WORK/audit-queue-read.sql"
[ $failures = 0 ]
