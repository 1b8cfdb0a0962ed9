#!/usr/bin/env bats
# Backup and restore against the real local PostgreSQL (make up): two practices in a
# database of each install; backup, damage the data, restore, and every table must be
# identical to before. The extension database is handled with a superuser (new database,
# swapped in); the fallback database with its owner only, as on a shared PostgreSQL.

setup_file() {
    load helpers
    pg_running || { echo "PostgreSQL is not running: make up first" >&2; return 1; }
    psql_super -d postgres <<SQL
SET client_min_messages = warning;
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
 WHERE datname LIKE 'ops\_test\_%' \gexec
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r) FROM unnest(ARRAY['$OPS_OWNER', '$OPS_APP']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
CREATE DATABASE ops_test_ext OWNER $OPS_OWNER;
CREATE DATABASE ops_test_fb OWNER $OPS_OWNER;
SQL
    TA_INSTALL=extension "$ROOT/stack/install-db.sh" ops_test_ext "$OPS_OWNER" "$OPS_APP" "$JWT_SECRET"
    TA_INSTALL=fallback "$ROOT/stack/install-db.sh" ops_test_fb "$OPS_OWNER" "$OPS_APP" "$JWT_SECRET"
    for db in ops_test_ext ops_test_fb; do
        seed_practice "$db" terapeuta@example.com
        seed_practice "$db" druga.praktyka@example.com
        # A year of notes that do not compress away: the archive runs well past a pipe buffer
        # after its table of contents (a check that stopped reading there once refused such backups).
        psql_super -d "$db" >/dev/null <<'SQL'
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false)
  FROM ta.users u WHERE email = 'terapeuta@example.com';
SELECT count(api.create_session_note(json_build_object(
           'patient_id', (SELECT min(id) FROM ta.patients),
           'content', (SELECT string_agg(md5(i || '.' || g || random()::text), ' ') FROM generate_series(1, 12) g))))
  FROM generate_series(1, 1000) i;
SQL
    done
}

teardown_file() {
    load helpers
    psql_super -d postgres -c "SET client_min_messages = warning" <<'SQL' >/dev/null
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
 WHERE datname LIKE 'ops\_test\_%' \gexec
SQL
}

setup() {
    load helpers
    export BACKUP_DIR=$BATS_TEST_TMPDIR/backups
}

# Changes every kind of table: an update, an archived row, a new row, a hard delete.
damage() {
    psql_super -d "$1" <<'SQL' >/dev/null
UPDATE ta.patients SET name = 'Zmieniony', notes = NULL WHERE id = (SELECT min(id) FROM ta.patients);
UPDATE ta.appointments SET payment_id = NULL;
DELETE FROM ta.payments;
DELETE FROM ta.appointments WHERE id = (SELECT max(id) FROM ta.appointments);
UPDATE ta.session_notes SET deleted_at = now();
INSERT INTO ta.practices (name) VALUES ('Obca praktyka');
SELECT nextval('ta.patients_id_seq');
SQL
}

@test "extension, superuser: backup, damage, restore gives every table back identical" {
    before=$(table_checksums ops_test_ext)
    [ "$(wc -l <<<"$before")" -ge 12 ]            # 6 tables and 6 sequences
    grep -q '^ta.patients 10 ' <<<"$before"        # both practices' patients

    run ops_db ops_test_ext backup
    [ "$status" -eq 0 ]
    file=${lines[-1]}
    [ -f "$file" ] && [[ $file == "$BACKUP_DIR"/ops_test_ext-*.dump.gz ]]
    [ "$(stat -c %a "$file")" = 600 ]
    [ "$(stat -c %s "$file")" -gt 131072 ]         # twice what a pipe buffer holds

    damage ops_test_ext
    [ "$(table_checksums ops_test_ext)" != "$before" ]

    run ops_db ops_test_ext restore "$file" --yes
    [ "$status" -eq 0 ]
    [ "$(table_checksums ops_test_ext)" = "$before" ]
    # The damaged data is kept aside, and a safety backup of it was taken.
    kept=$(psql_super -d postgres -tA -c "SELECT datname FROM pg_database WHERE datname LIKE 'ops\_test\_ext\_pre\_restore\_%'")
    [ -n "$kept" ]
    [ "$(table_checksums "$kept")" != "$before" ]
    ls "$BACKUP_DIR"/ops_test_ext-*-pre-restore.dump.gz
    assert_usable ops_test_ext
}

@test "fallback, owner only: backup keeps FORCE row-level security on and leaves no policy behind" {
    before=$(table_checksums ops_test_fb)
    grep -q '^ta.patients 10 ' <<<"$before"
    forced=$(psql_super -d ops_test_fb -tA -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                                                WHERE relnamespace = 'ta'::regnamespace AND relforcerowsecurity")
    # Every practice-data table the install forces RLS on (more join it as the schema grows).
    for t in appointments audit_log patients payments session_notes; do [[ ,$forced, == *,$t,* ]]; done

    TA_ADMIN= run ops_db ops_test_fb backup
    [ "$status" -eq 0 ]
    file=${lines[-1]}
    [ "$(stat -c %a "$file")" = 600 ]
    [ "$(psql_super -d ops_test_fb -tA -c "SELECT count(*) FROM pg_policy WHERE polname = 'ta_backup_read'")" = 0 ]
    [ "$(psql_super -d ops_test_fb -tA -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                                          WHERE relnamespace = 'ta'::regnamespace AND relforcerowsecurity")" = "$forced" ]

    damage ops_test_fb
    [ "$(table_checksums ops_test_fb)" != "$before" ]

    # Confirmed by typing yes, as a person would.
    TA_ADMIN= run ops_db ops_test_fb restore "$file" <<<yes
    [ "$status" -eq 0 ]
    [ "$(table_checksums ops_test_fb)" = "$before" ]
    # The previous schemas are kept, renamed, and the application cannot reach them.
    old=$(psql_super -d ops_test_fb -tA -c "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'api\_pre\_restore\_%'")
    [ -n "$old" ]
    [ "$(psql_super -d ops_test_fb -tA -c "SELECT has_schema_privilege('$OPS_APP', '$old', 'USAGE')")" = f ]
    [ "$(psql_super -d ops_test_fb -tA -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
                                          WHERE relnamespace = 'ta'::regnamespace AND relforcerowsecurity")" = "$forced" ]
    [ "$(psql_super -d ops_test_fb -tA -c "SELECT count(*) FROM pg_policy WHERE polname = 'ta_backup_read'")" = 0 ]
    assert_usable ops_test_fb
}

@test "the owner alone cannot dump the data without the backup's policy (why it exists)" {
    run "$PGBIN/pg_dump" -U "$OPS_OWNER" -Fc -f /dev/null ops_test_fb
    [ "$status" -ne 0 ]
    [[ $output == *"row-level security"* ]]
}

@test "a backup holds the patients' data but never the JWT secret" {
    for db in ops_test_ext ops_test_fb; do
        run ops_db "$db" backup
        [ "$status" -eq 0 ]
        file=${lines[-1]}
        sql=$(gzip -dc "$file" | pg_restore -f -)
        grep -q 'Anna Kowalska' <<<"$sql"
        run grep -c "$JWT_SECRET" <<<"$sql"
        echo "in $db's backup: $output"
        [ "$output" = 0 ]
        run grep -ac "$JWT_SECRET" < <(gzip -dc "$file")
        [ "$output" = 0 ]
    done
}

@test "a restore that fails at the last step changes nothing, with or without a superuser" {
    for admin in postgres ""; do
        for db in ops_test_ext ops_test_fb; do
            [ -n "$admin" ] || [ $db = ops_test_fb ] || continue
            TA_ADMIN=$admin run ops_db $db backup
            [ "$status" -eq 0 ]
            file=${lines[-1]}
            damage $db
            damaged=$(table_checksums $db)
            # ta.configure refuses a secret under 32 bytes: after all the data went in.
            JWT_SECRET=too-short TA_ADMIN=$admin run ops_db $db restore "$file" --yes
            [ "$status" -ne 0 ]
            [[ $output == *"untouched"* ]]
            [ "$(table_checksums $db)" = "$damaged" ]
            [ "$(psql_super -d postgres -tA -c "SELECT count(*) FROM pg_database WHERE datname LIKE '${db//_/\\_}\_restore\_%'")" = 0 ]
            assert_usable $db
        done
    done
}

@test "corrupt, truncated, foreign and missing backups are refused before anything changes" {
    mkdir -p "$BACKUP_DIR"
    run ops_db ops_test_ext backup
    good=${lines[-1]}
    head -c 2000 /dev/urandom > "$BACKUP_DIR/random.dump"
    head -c 2000 /dev/urandom | gzip > "$BACKUP_DIR/random.dump.gz"
    head -c 1500 "$good" > "$BACKUP_DIR/truncated.dump.gz"
    : > "$BACKUP_DIR/empty.dump.gz"
    cp "$good" "$BACKUP_DIR/wrong-name.sql"
    "$PGBIN/pg_dump" -U postgres -Fc postgres > "$BACKUP_DIR/other-database.dump"
    before=$(table_checksums ops_test_ext)
    for bad in random.dump random.dump.gz truncated.dump.gz empty.dump.gz wrong-name.sql \
               other-database.dump missing.dump.gz; do
        run ops_db ops_test_ext restore "$BACKUP_DIR/$bad" --yes
        [ "$status" -ne 0 ]
        [[ $output == *"error:"* ]]
        [[ $output != *"safety backup"* ]]
    done
    [ "$(table_checksums ops_test_ext)" = "$before" ]
}

@test "restore asks first: no answer or anything but yes changes nothing" {
    run ops_db ops_test_ext backup
    file=${lines[-1]}
    damage ops_test_ext
    damaged=$(table_checksums ops_test_ext)
    run ops_db ops_test_ext restore "$file" </dev/null
    [ "$status" -ne 0 ]
    [[ $output == *"cancelled: nothing was changed"* ]]
    run ops_db ops_test_ext restore "$file" <<<"y"
    [ "$status" -ne 0 ]
    [[ $output == *"cancelled"* ]]
    [ "$(table_checksums ops_test_ext)" = "$damaged" ]
}

teardown() {
    if mountpoint -q "$BATS_TEST_TMPDIR/space" 2>/dev/null; then umount "$BATS_TEST_TMPDIR/space"; fi
}

@test "a full disk for the backups: a backup leaves no partial file, a restore stops before anything changes" {
    [ "$(id -u)" = 0 ] || skip "needs root to mount a small filesystem"
    local space=$BATS_TEST_TMPDIR/space good before
    run ops_db ops_test_ext backup
    [ "$status" -eq 0 ]
    good=${lines[-1]}
    mkdir -p "$space"
    mount -t tmpfs -o size=$(( $(stat -c %s "$good") / 1024 + 256 ))k ta-backup-space "$space" ||
        skip "cannot mount a tmpfs here"
    cp "$good" "$space/"
    fallocate -l "$(df -B1 --output=avail -- "$space" | tail -n 1)" "$space/filler" || true
    [ "$(df -B1 --output=avail -- "$space" | tail -n 1)" -lt 8192 ]
    before=$(table_checksums ops_test_ext)

    BACKUP_DIR=$space run ops_db ops_test_ext backup
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"pg_dump of ops_test_ext failed; nothing was written"* ]]
    [ -z "$(find "$space" -name '.partial-*')" ]
    # The restore's safety backup of the current data comes first, and does not fit.
    BACKUP_DIR=$space run ops_db ops_test_ext restore "$space/$(basename "$good")" --yes
    echo "$output"
    [ "$status" -ne 0 ] && [[ $output == *"safety backup failed: nothing was changed"* ]]
    [ "$(table_checksums ops_test_ext)" = "$before" ]
    [ "$(psql_super -d postgres -tA -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'ops\_test\_ext\_restore\_%'")" = 0 ]
    assert_usable ops_test_ext
}
