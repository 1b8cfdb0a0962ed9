#!/usr/bin/env bats
# Point-in-time recovery on full disks (issue 19, bad input), on real small filesystems: the cluster's disk and the
# backup space are each a tmpfs of their own (mounted by the test: it needs root). A restore that would not fit next
# to the cluster is refused before anything changes; a backup space that is full stops backups and restores with a
# clear message, and the running cluster keeps serving through both.

setup_file() {
    load helpers
    export WORK=$BATS_FILE_TMPDIR/work DB_PORT=$((DB_PORT + 9)) TA_INSTALL=extension
    export JWT_SECRET=pitr-disk-secret-do-not-use-0123456789abcdef
    [ "$(id -u)" = 0 ] || { echo "needs root to mount" > "$BATS_FILE_TMPDIR/no-mount"; return 0; }
    load helpers   # PG_STATE of this WORK
    export PITR_REPO=$PG_STATE-space/repo
    mkdir -p "$PG_STATE" "$PG_STATE-space"
    if ! mount -t tmpfs -o size=800m,mode=755 ta-pitr-disk "$PG_STATE" 2>"$BATS_FILE_TMPDIR/no-mount" ||
       ! mount -t tmpfs -o size=160m,mode=755 ta-pitr-space "$PG_STATE-space" 2>>"$BATS_FILE_TMPDIR/no-mount"; then
        umount "$PG_STATE" 2>/dev/null || true
        return 0
    fi
    rm -f "$BATS_FILE_TMPDIR/no-mount"
    "$ROOT/stack/db.sh"
    "$ROOT/ops/stack-pitr.sh" setup
}

teardown_file() {
    load helpers
    local d
    if pg_running; then pg_stop "$PGDATA" || true; fi
    for d in "$PGDATA".*; do
        [ -d "$d" ] && cluster_running "$d" && pg_stop "$d"
    done
    if mountpoint -q "$PG_STATE-space"; then umount "$PG_STATE-space"; fi
    if mountpoint -q "$PG_STATE"; then umount "$PG_STATE"; fi
    rmdir "$PG_STATE-space" 2>/dev/null || true
    if [ "$PG_STATE" != "$WORK" ]; then rm -rf -- "$PG_STATE"; fi
    rm -rf -- "$WORK"
}

setup() {
    load helpers
    if [ -e "$BATS_FILE_TMPDIR/no-mount" ]; then
        skip "cannot mount a small filesystem here: $(head -n 1 "$BATS_FILE_TMPDIR/no-mount")"
    fi
}

teardown() { rm -f "$PG_STATE/filler" "$PG_STATE-space/filler"; }

# fill DIR BYTES_LEFT: a file in DIR takes its filesystem's free space but BYTES_LEFT.
fill() {
    local avail
    avail=$(df -B1 --output=avail -- "$1" | tail -n 1)
    [ "$avail" -gt "$2" ] || return 0
    fallocate -l $((avail - $2)) "$1/filler"
}

# The cluster as it runs (its start time, its rows, where its data is, the folders beside it).
cluster_state() {
    pg_running || { echo "the cluster is not running" >&2; return 1; }
    psql_super -d postgres -tA -c 'SELECT pg_postmaster_start_time()'
    psql_super -d "$DB_NAME" -tA -c "SELECT count(*) || ' patients' FROM ta.patients"
    readlink -f "$PGDATA"
    { ls -d "$PGDATA".* 2>/dev/null || true; } | wc -l
}

# A write through the api, acknowledged: the cluster still serves.
write_patient() {
    local token
    token=$(psql_super -d "$DB_NAME" -tA -c "SELECT ta.issue_token(u) ->> 'access_token'
                                              FROM ta.users u WHERE email = 'terapeuta@example.com'")
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$DB_APP" -d "$DB_NAME" -tA \
        -c "SELECT set_config('request.jwt', '$token', false)" \
        -c "SELECT api.create_patient('{\"name\": \"$1\"}') ->> 'id'" | tail -n 1
}

@test "full disk next to the cluster: a restore that would not fit is refused before anything changes, the WAL to replay counted" {
    local state
    # The WAL since the backup grows the copy as it is replayed: 120 MB written after it.
    psql_super -d "$DB_NAME" -c "CREATE TABLE ta_bulk AS SELECT g, repeat(md5(g::text), 30) AS filler
                                 FROM generate_series(1, 120000) g" >/dev/null
    psql_super -d postgres -tA -c 'SELECT pg_switch_wal()' >/dev/null
    # Room for the backup's files and 64 MB, but not for the replayed rows: the copy would fill the disk the
    # running cluster writes to.
    info=$(as_pg pgbackrest --config="$PG_STATE/backrest/pgbackrest.conf" --stanza=ta info --output=json)
    backup=$(jq -r '.[0].backup[-1].info.size' <<<"$info")
    fill "$PG_STATE" $((backup + backup / 5 + 80 * 1048576))
    state=$(cluster_state)
    run "$ROOT/ops/stack-pitr.sh" restore latest --yes
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"not enough free disk next to $PGDATA"*"WAL segments to replay"*"nothing was changed"* ]]
    [ "$(cluster_state)" = "$state" ]   # (the folders beside the cluster included: no copy was begun)
    # Less room than the backup itself.
    rm -f "$PG_STATE/filler"
    fill "$PG_STATE" $((32 * 1048576))
    run "$ROOT/ops/stack-pitr.sh" restore latest --yes
    [ "$status" -ne 0 ] && [[ $output == *"not enough free disk"*"nothing was changed"* ]]
    [ "$(cluster_state)" = "$state" ]
    rm -f "$PG_STATE/filler"
    [ -n "$(write_patient 'Po Pełnym Dysku')" ]
    psql_super -d "$DB_NAME" -c "DROP TABLE ta_bulk" >/dev/null
}

@test "the disk fills up after the checks, while the copy is written: it is removed, nothing is swapped in, the cluster serves" {
    local state pid rc=0 used
    # A backup now, so that the checks find room for the copy (the WAL of the previous test is behind it).
    "$ROOT/ops/stack-pitr.sh" backup full
    psql_super -d postgres -c CHECKPOINT >/dev/null
    state=$(cluster_state)
    used=$(df -B1 --output=used -- "$PG_STATE" | tail -n 1)
    # The restore asks before it changes anything (after every check); another program takes the disk meanwhile,
    # leaving less than the copy needs.
    mkfifo "$BATS_TEST_TMPDIR/answer"
    "$ROOT/ops/stack-pitr.sh" restore latest < "$BATS_TEST_TMPDIR/answer" > "$BATS_TEST_TMPDIR/out" 2>&1 &
    pid=$!
    exec 9> "$BATS_TEST_TMPDIR/answer"
    until grep -q 'Type "yes"' "$BATS_TEST_TMPDIR/out"; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    fill "$PG_STATE" $((24 * 1048576))
    echo yes >&9
    exec 9>&-
    wait "$pid" || rc=$?
    cat "$BATS_TEST_TMPDIR/out"
    [ "$rc" -ne 0 ]
    grep -q 'Type "yes"' "$BATS_TEST_TMPDIR/out"   # the checks passed: the disk filled up after them
    grep -q 'pgbackrest restore failed\|the restored copy did not' "$BATS_TEST_TMPDIR/out"
    grep -q 'nothing was changed' "$BATS_TEST_TMPDIR/out"
    ! grep -q 'restored in' "$BATS_TEST_TMPDIR/out"
    # Nothing half-written is left or swapped in: the same cluster, and the copy's space is free again.
    [ "$(cluster_state)" = "$state" ]
    rm -f "$PG_STATE/filler"
    [ "$(df -B1 --output=used -- "$PG_STATE" | tail -n 1)" -le $((used + 32 * 1048576)) ]
    [ -n "$(write_patient 'Po Zapełnionym Dysku')" ]
}

@test "full backup space: a backup and a restore stop with a clear message, the cluster keeps serving, archiving resumes once there is room" {
    local state
    fill "$PG_STATE-space" 0
    [ "$(df -B1 --output=avail -- "$PG_STATE-space" | tail -n 1)" -lt 1048576 ]
    # Writes go on while the archive cannot take their WAL (PostgreSQL keeps it in pg_wal until it can).
    [ -n "$(write_patient 'Przy Pełnym Archiwum')" ]
    psql_super -d postgres -tA -c 'SELECT pg_switch_wal()' >/dev/null
    run "$ROOT/ops/stack-pitr.sh" backup full
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"the full backup failed: the backup space $PITR_REPO is full"* ]]
    state=$(cluster_state)
    run "$ROOT/ops/stack-pitr.sh" restore latest --yes
    echo "$output"
    [ "$status" -ne 0 ]
    [[ $output == *"does not archive its WAL"*"the backup space $PITR_REPO is full"*"nothing was changed"* ]]
    [ "$(cluster_state)" = "$state" ]
    [ -n "$(write_patient 'Nadal Przy Pełnym Archiwum')" ]
    # Room again: the WAL kept in pg_wal reaches the archive, and the repository checks out.
    rm -f "$PG_STATE-space/filler"
    run "$ROOT/ops/stack-pitr.sh" status
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"pgbackrest check: ok"* ]] && [[ $output == *"pgbackrest verify: ok"* ]]
}
