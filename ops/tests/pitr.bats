#!/usr/bin/env bats
# Point-in-time recovery drill (issue 19) on a cluster of its own, made by the stack's own scripts with archiving and
# pgBackRest as make up sets them up: patients and payments written through the api, the time noted, more written,
# PostgreSQL killed with SIGKILL; restored to "latest" every acknowledged write is back, restored to the noted time
# exactly the rows acknowledged before it. Then the refusals: each leaves the running cluster as it was.

setup_file() {
    load helpers
    export WORK=$BATS_FILE_TMPDIR/work DB_PORT=$((DB_PORT + 6)) TA_INSTALL=extension
    export JWT_SECRET=pitr-drill-secret-do-not-use-0123456789abcdef
    "$ROOT/stack/db.sh"
    "$ROOT/ops/stack-pitr.sh" setup
}

teardown_file() {
    load helpers   # stack/env.sh again: PGDATA and PG_STATE of the drill's WORK
    if pg_running; then pg_stop "$PGDATA" || true; fi
    local d
    for d in "$PGDATA".*; do
        [ -d "$d" ] && cluster_running "$d" && pg_stop "$d"
    done
    if [ "$PG_STATE" != "$WORK" ]; then rm -rf -- "$PG_STATE"; fi
    rm -rf -- "$WORK"
}

setup() { load helpers; }

# SQL as the application role, acting as the demo practice's user, through the api functions. Each call is its own
# transaction: when psql returns, the write is acknowledged (committed).
as_app() {
    local claims
    claims=$(psql_super -d "$DB_NAME" -tA -c "SELECT json_build_object('sub', id::text, 'pid', practice_id)
                                               FROM ta.users WHERE email = 'terapeuta@example.com'")
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$DB_APP" -d "$DB_NAME" -tA \
        -c "SELECT set_config('request.jwt.claims', '$claims', false)" -c "$1" | tail -n 1
}

# A patient with an appointment and a payment for it; prints "PATIENT_ID PAYMENT_ID".
write_patient_and_payment() {
    local name=$1 day=$2 patient appointment payment
    patient=$(as_app "SELECT api.create_patient('{\"name\": \"$name\"}') ->> 'id'")
    appointment=$(as_app "SELECT api.create_appointment(json_build_object('patient_id', $patient,
        'date', '$day', 'start_time', '10:00', 'end_time', '10:50', 'price', 150)) ->> 'id'")
    payment=$(as_app "SELECT api.create_payment(json_build_object('patient_id', $patient, 'amount', 150,
        'payment_method', 'CASH', 'appointment_ids', json_build_array($appointment))) ->> 'id'")
    [ -n "$patient" ] && [ -n "$payment" ] && echo "$patient $payment"
}

# The patients' and the payments' ids, in order: "patients: 1,2,3 payments: 1,4".
ids() {
    psql_super -d "$DB_NAME" -tA -c "SELECT 'patients: ' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM ta.patients)
                                         || ' payments: ' || (SELECT string_agg(id::text, ',' ORDER BY id) FROM ta.payments)"
}

kill_postgres() {
    local pid children
    pid=$(head -n 1 "$PGDATA/postmaster.pid")
    children=$(pgrep -P "$pid" | tr '\n' ' ')
    # shellcheck disable=SC2086
    kill -KILL "$pid" $children
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

@test "drill: SIGKILL, restore to latest has every acknowledged write, restore to a noted time exactly the earlier ones" {
    local before after noted i
    for i in 1 2 3; do write_patient_and_payment "Przed Punktem $i" "2027-01-0$i" >/dev/null; done
    before=$(ids)
    # The noted time: a whole second after the last acknowledged write; what follows comes a second later.
    sleep 1.1
    noted=$(TZ=Europe/Warsaw date '+%Y-%m-%d %H:%M:%S')
    sleep 1.1
    for i in 4 5 6; do write_patient_and_payment "Po Punkcie $i" "2027-01-0$i" >/dev/null; done
    after=$(ids)
    [ "$before" != "$after" ]
    kill_postgres
    ! pg_running

    run "$ROOT/ops/stack-pitr.sh" restore latest --yes
    echo "$output"
    [ "$status" -eq 0 ]
    pg_running
    [ "$(ids)" = "$after" ]
    [[ $output == *"previous cluster is kept in $PGDATA.pre-restore-"* ]]

    run "$ROOT/ops/stack-pitr.sh" restore "$noted" --yes
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(ids)" = "$before" ]
    [ "$(psql_super -d "$DB_NAME" -tA -c "SELECT count(*) FROM ta.patients WHERE name LIKE 'Po Punkcie%'")" = 0 ]
    # The application works on what came back: the demo login, and a new write.
    login=$("$PGBIN/psql" -X -U "$DB_APP" -d "$DB_NAME" -tA -c \
        "SELECT api.login('{\"username\": \"terapeuta@example.com\", \"password\": \"haslo123\"}') ->> 'token_type'")
    [ "$login" = bearer ]
    write_patient_and_payment "Po Przywróceniu" 2027-02-01
    # pgBackRest follows the new timeline: archiving and the repository check out after both swaps.
    run "$ROOT/ops/stack-pitr.sh" status
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"pgbackrest check: ok"* ]] && [[ $output == *"pgbackrest verify: ok"* ]]
}

# The cluster as it runs, to compare before and after a refused restore.
cluster_state() {
    pg_running || { echo "the drill's cluster is not running" >&2; return 1; }
    echo "$(psql_super -d postgres -tA -c 'SELECT pg_postmaster_start_time()') $(ids) $(readlink -f "$PGDATA")"
    ls -d "$PGDATA".* 2>/dev/null | wc -l
}

refused() {
    local state
    state=$(cluster_state) || return 1
    run "$ROOT/ops/stack-pitr.sh" restore "$@" --yes
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"nothing was changed"* ]]
    [ "$(cluster_state)" = "$state" ]
}

@test "refused before anything changes: a time in the future, before the first backup, not a time" {
    refused "$(TZ=Europe/Warsaw date -d '+1 hour' '+%Y-%m-%d %H:%M:%S')"
    [[ $output == *"is in the future"* ]]
    refused '2001-01-01 12:00:00'
    [[ $output == *"is before the first backup"* ]]
    refused 'wczoraj o 12'
    [[ $output == *"is not a time like"* ]]
    refused '2026-02-30 12:00:00'
    [[ $output == *"is not a valid time"* ]]
}

@test "refused before anything changes: a missing repository, a corrupt archive, a backup space not mounted" {
    local repo=$PG_STATE/backrest/repo wal
    mv "$repo" "$repo.away"
    refused latest
    [[ $output == *"no pgBackRest repository"* ]]
    mv "$repo.away" "$repo"

    wal=$(find "$repo/archive" -name '0000000*.lz4' | sort | head -n 1)
    cp -p "$wal" "$BATS_TEST_TMPDIR/wal"
    printf 'not WAL at all' | dd of="$wal" bs=1 seek=100 conv=notrunc status=none
    refused latest
    [[ $output == *"fails verification"* ]]
    cp -p "$BATS_TEST_TMPDIR/wal" "$wal"

    mkdir -p "$BATS_TEST_TMPDIR/backup-space"
    PITR_REPO_MOUNT=$BATS_TEST_TMPDIR/backup-space refused latest
    [[ $output == *"is not mounted"* ]]
}
