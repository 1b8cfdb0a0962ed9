#!/usr/bin/env bats
# The logic of ops/backup-restore.sh and ops/stack-db.sh around the database: arguments,
# rotation, the second copy, listing, confirmation. Backups are of the stack's database.

setup() {
    load helpers
    # shellcheck source=ops/backup-restore.sh
    . "$ROOT/ops/backup-restore.sh"
    export BACKUP_DIR=$BATS_TEST_TMPDIR/backups
    TA_DB=therapyassistance
}

# An empty file with a backup's name for the given time (YYYYmmdd-HHMMSS).
fake_backup() { mkdir -p "$1"; : > "$1/$TA_DB-$2.dump.gz"; }

@test "stack-db.sh: help, unknown commands and stray arguments" {
    run "$ROOT/ops/stack-db.sh" help
    [ "$status" -eq 0 ] && [[ $output == *"usage:"* ]]
    run "$ROOT/ops/stack-db.sh"
    [ "$status" -eq 2 ]
    run "$ROOT/ops/stack-db.sh" bakup
    [ "$status" -eq 2 ] && [[ $output == *"unknown command 'bakup'"* ]]
    run "$ROOT/ops/stack-db.sh" backup extra
    [ "$status" -eq 2 ]
    run "$ROOT/ops/stack-db.sh" backup --yes
    [ "$status" -eq 2 ]
    run "$ROOT/ops/stack-db.sh" restore a.dump b.dump
    [ "$status" -eq 2 ] && [[ $output == *"one FILE only"* ]]
    run "$ROOT/ops/stack-db.sh" restore --force a.dump
    [ "$status" -eq 2 ] && [[ $output == *"unknown option --force"* ]]
    [ ! -e "$BACKUP_DIR" ]
}

@test "make backup prints the backup's path as its last line, mode 600 in a private folder" {
    run make -s -C "$ROOT" backup
    [ "$status" -eq 0 ]
    [[ ${lines[-1]} == "$BACKUP_DIR/therapyassistance-"*.dump.gz ]]
    [ "$(stat -c %a "${lines[-1]}")" = 600 ]
    [ "$(stat -c %a "$BACKUP_DIR")" = 700 ]
    backup_check "${lines[-1]}"
    # No partial file is left behind.
    [ "$(find "$BACKUP_DIR" -name '.partial-*' | wc -l)" = 0 ]
}

@test "rotation keeps the newest BACKUP_KEEP backups of this database and nothing else is touched" {
    for t in 20260101-030000 20260102-030000 20260103-030000 20260104-030000 20260105-030000; do
        fake_backup "$BACKUP_DIR" $t
    done
    : > "$BACKUP_DIR/notes.txt"
    : > "$BACKUP_DIR/otherdb-20250101-030000.dump.gz"
    BACKUP_KEEP=3 run "$ROOT/ops/stack-db.sh" backup
    [ "$status" -eq 0 ]
    new=${lines[-1]}
    run ls "$BACKUP_DIR"
    [ "$output" = "$(printf '%s\n' notes.txt otherdb-20250101-030000.dump.gz \
        therapyassistance-20260104-030000.dump.gz therapyassistance-20260105-030000.dump.gz "$(basename "$new")")" ]
}

@test "rotation refuses a BACKUP_KEEP that is not a positive number" {
    fake_backup "$BACKUP_DIR" 20260101-030000
    for keep in 0 -1 abc 3x; do
        run backup_rotate "$BACKUP_DIR" "$keep"
        [ "$status" -ne 0 ]
    done
    [ -f "$BACKUP_DIR/$TA_DB-20260101-030000.dump.gz" ]
}

@test "BACKUP_COPY_DIR gets the same file encrypted with age, mode 600, rotated too; without a key nothing" {
    command -v age >/dev/null || skip "age is not installed: apt-get install age"
    copy=$BATS_TEST_TMPDIR/copy
    age-keygen -o "$BATS_TEST_TMPDIR/key" 2>/dev/null
    for t in 20260101-030000 20260102-030000; do fake_backup "$copy" $t; done
    BACKUP_KEEP=2 BACKUP_COPY_DIR=$copy BACKUP_AGE_RECIPIENT=$(age-keygen -y "$BATS_TEST_TMPDIR/key") \
        run "$ROOT/ops/stack-db.sh" backup
    [ "$status" -eq 0 ]
    name=$(basename "${lines[-1]}").age
    age -d -i "$BATS_TEST_TMPDIR/key" "$copy/$name" | cmp - "${lines[-1]}"
    [ "$(stat -c %a "$copy/$name")" = 600 ]
    [ "$(ls "$copy" | wc -l)" = 2 ]
    [ -f "$copy/$TA_DB-20260102-030000.dump.gz" ]
    BACKUP_COPY_DIR=$copy run "$ROOT/ops/stack-db.sh" backup
    [ "$status" -ne 0 ] && [[ $output == *"NOT copying patients' data unencrypted"* ]]
    [ "$(ls "$copy" | wc -l)" = 2 ]
}

@test "a backup that cannot be made leaves no file and says so" {
    TA_DB=no_such_database run "$ROOT/ops/stack-db.sh" backup
    [ "$status" -ne 0 ]
    [[ $output == *"pg_dump of no_such_database failed"* ]]
    [ "$(find "$BACKUP_DIR" -type f | wc -l)" = 0 ]
}

@test "restore without FILE lists the backups newest first" {
    for t in 20260102-030000 20260101-030000 20260103-030000; do fake_backup "$BACKUP_DIR" $t; done
    run "$ROOT/ops/stack-db.sh" restore
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == *"  1  $BACKUP_DIR/$TA_DB-20260103-030000.dump.gz"* ]]
    [[ ${lines[1]} == *"  2  $BACKUP_DIR/$TA_DB-20260102-030000.dump.gz"* ]]
    [[ ${lines[2]} == *"  3  $BACKUP_DIR/$TA_DB-20260101-030000.dump.gz"* ]]
    [[ $output == *"make restore FILE="* ]]
}

@test "confirm: only yes goes on; YES=1 answers for the user" {
    run confirm "Go?" <<<"yes"
    [ "$status" -eq 0 ]
    for answer in no y YES "yes please" ""; do
        run confirm "Go?" <<<"$answer"
        [ "$status" -ne 0 ]
    done
    run confirm "Go?" </dev/null
    [ "$status" -ne 0 ]
    YES=1 run confirm "Go?" </dev/null
    [ "$status" -eq 0 ]
}

@test "the age of the newest backup, nothing when there is none" {
    run backup_newest_age
    [ "$output" = "" ]
    fake_backup "$BACKUP_DIR" 20260101-030000
    touch -d '-2 days' "$BACKUP_DIR/$TA_DB-20260101-030000.dump.gz"
    run backup_newest_age
    [ "$output" -ge 172800 ] && [ "$output" -lt 173000 ]
}
