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
    local token
    token=$(psql_super -d "$DB_NAME" -tA -c "SELECT ta.issue_token(u) ->> 'access_token'
                                              FROM ta.users u WHERE email = 'terapeuta@example.com'")
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$DB_APP" -d "$DB_NAME" -tA \
        -c "SELECT set_config('request.jwt', '$token', false)" -c "$1" | tail -n 1
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
    grep -o 'restored in [0-9]* s' <<<"$output" | sed 's/^/# latest: /' >&3
    pg_running
    [ "$(ids)" = "$after" ]
    [[ $output == *"previous cluster is kept in $PGDATA.pre-restore-"* ]]

    run "$ROOT/ops/stack-pitr.sh" restore "$noted" --yes
    echo "$output"
    [ "$status" -eq 0 ]
    grep -o 'restored in [0-9]* s' <<<"$output" | sed 's/^/# to the noted time: /' >&3
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
    { ls -d "$PGDATA".* 2>/dev/null || true; } | wc -l
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

    # A segment missing from the middle of the archive (verify checks only the files that are there): the replay
    # would end at the hole and the restore look complete.
    local i seg tli missing
    for i in 1 2 3; do
        seg=$(psql_super -d postgres -tA -c "CREATE TABLE IF NOT EXISTS gap_probe_$i ()" \
                  -c "SELECT pg_walfile_name(pg_switch_wal())" | tail -n 1)
        until [ "$(psql_super -d postgres -tA -c "SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")" = t ]; do
            sleep 0.2
        done
    done
    # On the cluster's own timeline (older ones may hold branches a restore no longer follows): the last segment
    # but one.
    tli=$(psql_super -d postgres -tA -c "SELECT lpad(upper(to_hex(timeline_id)), 8, '0') FROM pg_control_checkpoint()")
    missing=$(find "$repo/archive/ta" -type f -name "$tli*-*" -printf '%f %p\n' | LC_ALL=C sort | tail -n 2 |
                  head -n 1 | cut -d' ' -f2)
    [ -n "$missing" ]
    mv "$missing" "$BATS_TEST_TMPDIR/missing-wal"
    refused latest
    [[ $output == *"WAL segment $(basename "$missing" | cut -c1-24) is missing from the archive"* ]]
    mv "$BATS_TEST_TMPDIR/missing-wal" "$missing"
    # The newest segment, which PostgreSQL counts as archived and will not send again.
    missing=$(find "$repo/archive/ta" -type f -name "$tli*-*" -printf '%f %p\n' | LC_ALL=C sort | tail -n 1 | cut -d' ' -f2)
    mv "$missing" "$BATS_TEST_TMPDIR/missing-wal"
    refused latest
    [[ $output == *"WAL segment $(basename "$missing" | cut -c1-24) is missing from the archive"* ]]
    mv "$BATS_TEST_TMPDIR/missing-wal" "$missing"
}

@test "the repository is encrypted, its passphrase in no log; a wrong passphrase is refused and changes nothing" {
    local backrest=$PG_STATE/backrest repo=$PG_STATE/backrest/repo pass wal conf
    pass=$(cat "$backrest/cipher-pass")
    [ ${#pass} -ge 40 ] && [ "$(stat -c %a "$backrest/cipher-pass")" = 600 ]
    grep -qx 'repo1-cipher-type=aes-256-cbc' "$backrest/pgbackrest.conf"
    [ "$(stat -c %a "$backrest/pgbackrest.conf")" = 600 ]
    # aes-256-cbc (openssl's "Salted__" header) on the info files, the backups' files and the archived WAL.
    [ "$(head -c 8 "$repo/backup/ta/backup.info")" = Salted__ ]
    wal=$(find "$repo/archive/ta" -name '0000000*-*' -type f | head -n 1)
    [ -n "$wal" ] && [ "$(head -c 8 "$wal")" = Salted__ ]
    [ "$(head -c 8 "$(find "$repo/backup/ta" -path '*/pg_data/PG_VERSION*' -type f | head -n 1)")" = Salted__ ]
    # The passphrase is in the two files that hold it and nowhere else: not in pgBackRest's logs (it writes
    # <redacted>), not in PostgreSQL's, not in the repository.
    run grep -rlF -- "$pass" "$PG_STATE" "$WORK"
    echo "$output"
    [ "$(grep -v -e "^$backrest/cipher-pass$" -e "^$backrest/pgbackrest.conf$" <<<"$output" | grep -c .)" = 0 ]
    grep -rq 'repo1-cipher-pass=<redacted>' "$backrest/log"

    conf=$(cat "$backrest/pgbackrest.conf")
    PITR_CIPHER_PASS=not-the-passphrase-0123456789 refused latest
    [[ $output == *"cannot be decrypted: the passphrase"*"is not the one it was encrypted with"* ]]
    [[ $output != *"Salted__"* ]]
    # The configuration the running cluster archives with kept the right passphrase: archiving goes on.
    [ "$(cat "$backrest/pgbackrest.conf")" = "$conf" ]
    PITR_CIPHER_PASS=not-the-passphrase-0123456789 run "$ROOT/ops/stack-pitr.sh" backup full
    [ "$status" -ne 0 ] && [[ $output == *"cannot be decrypted"* ]]
    run "$ROOT/ops/stack-pitr.sh" status
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"pgbackrest check: ok"* ]]
}

@test "deploy-mikrus.sh's recovery on a cluster of Debian's layout (config in /etc, peer auth): init's steps, SIGKILL, restore --time latest, a deploy's rollback" {
    [ "$(id -u)" = 0 ] || skip "needs root: pg_createcluster and the postgres user"
    command -v pg_createcluster >/dev/null || skip "postgresql-common is not installed"
    local name=ta_pitr_vps_$$ port=$((DB_PORT + 8)) version state
    version=$("$PGBIN/pg_config" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
    state=/var/lib/pgbackrest/$name
    pg_createcluster -q "$version" "$name" -p "$port" >/dev/null
    vps_cleanup() {
        pg_dropcluster --stop "$version" "$name" 2>/dev/null || true
        rm -rf -- "/var/lib/postgresql/$version/$name".* "$state"
    }
    # systemd does not run here: pg_ctlcluster starts and stops the cluster as its unit would.
    run bash -c '
        set -e
        . "$1/deploy-mikrus.sh"
        version=$2 PG_CLUSTER=$3 DB_PORT=$4 BACKREST_STATE=$5/state BACKREST_REPO=$5/repo TA_DB=vps YES=1
        BACKREST_CIPHER_PASS=$(random_secret 32)
        pitr_cluster_stop() { pg_ctlcluster "$version" "$PG_CLUSTER" stop; }
        pitr_cluster_start() { pg_ctlcluster "$version" "$PG_CLUSTER" start; }
        pg_ctlcluster "$version" "$PG_CLUSTER" start
        load_pitr
        pitr_write_config && pitr_repo_ready --create
        rc=0; pitr_enable_archiving || rc=$?
        [ $rc = 3 ] && pg_ctlcluster "$version" "$PG_CLUSTER" restart
        pitr_stanza && pitr_backup full
        pitr_psql -d postgres -c "CREATE DATABASE vps"
        pitr_psql -d vps -c "CREATE SCHEMA ta" -c "CREATE TABLE ta.patients (id int, name text)" \
                  -c "INSERT INTO ta.patients SELECT g, '\''Pacjent '\'' || g FROM generate_series(1, 50) g"
        kill -KILL "$(head -n 1 "$PITR_DATA/postmaster.pid")"
        sleep 1
        pitr_restore latest
        pitr_psql -d vps -tA -c "SELECT '\''restored rows: '\'' || count(*) FROM ta.patients"
        # A deploy whose new build fails /health: rollback_schema takes the cluster back to the moment deploy noted
        # before its schema step (the proxy'\''s unit, which it stops first, is not there: systemd does not run).
        noted=$(TZ=Europe/Warsaw date "+%Y-%m-%d %H:%M:%S"); sleep 1.1
        pitr_psql -d vps -c "ALTER TABLE ta.patients ADD COLUMN upgraded text" \
                  -c "INSERT INTO ta.patients VALUES (51, '\''Po Aktualizacji'\'', '\''1.1'\'')"
        rollback_schema /no-pg_dump-backup-needed.dump.gz "$noted"
        pitr_psql -d vps -tA -c "SELECT '\''after the rollback: '\'' || count(*) || '\'' rows, '\'' ||
            (SELECT count(*) FROM information_schema.columns WHERE table_name = '\''patients'\'' AND column_name = '\''upgraded'\'')
            || '\'' new columns'\'' FROM ta.patients"
        pitr_health
    ' _ "$ROOT" "$version" "$name" "$port" "$state"
    echo "$output"
    vps_cleanup
    [ "$status" -eq 0 ]
    [[ $output == *"restored rows: 50"* ]]
    [[ $output == *"after the rollback: 50 rows, 0 new columns"* ]]
    [[ $output != *"restoring the backup"* ]]
    [[ $output == *"pgbackrest check: ok"* ]] && [[ $output == *"pgbackrest verify: ok"* ]]
}
