# shellcheck shell=bash
# ops/backup-restore.sh: backup and restore of a therapyassistance database, sourced by
# `make backup/restore` (ops/stack-db.sh) and by deploy-mikrus.sh, so both run the same code.
# It defines functions only. The caller sets:
#   TA_DB, TA_OWNER, TA_APP     database, its owner role, the application role
#   TA_ADMIN                    a superuser to connect as, or empty where there is none
#                               (a shared PostgreSQL: then everything runs as TA_OWNER)
#   TA_ADMIN_RUNAS, TA_ADMIN_HOST   OS user that runs the admin's client programs (peer
#                               authentication) and the socket folder it uses, optional
#   BACKUP_DIR, BACKUP_KEEP     where backups go and how many to keep (default 14)
#   BACKUP_COPY_DIR             optional second location (e.g. Mikrus' backup space)
#   BACKUP_AGE_RECIPIENT        age public key(s) (age1..., several separated by commas or spaces):
#                               the copy in BACKUP_COPY_DIR is encrypted to them (NAME.dump.gz.age);
#                               without one, nothing is copied there (the backup itself is kept)
#   BACKUP_AGE_IDENTITY         an age identity (private key) file: restore_run decrypts .age with it
#   JWT_SECRET, JWT_EXPIRATION_HOURS   stored again after a restore (ta.settings is never dumped)
# and libpq's PGHOST, PGPORT, PGPASSWORD... for the connection.
#
# Row-level security: the tables FORCE it, so it binds their owner too, and pg_dump/pg_restore
# refuse to run as the owner. With a superuser (TA_ADMIN) nothing special is needed. Without
# one, backup_create adds a temporary SELECT policy that opens the rows only to a session whose
# setting ta.backup_key equals a random key known to this process (the proxy never sets it),
# dumps with --enable-row-security, and drops the policy; FORCE stays on throughout.

BACKUP_KEEP=${BACKUP_KEEP:-14}
# The code's own folder: the schema version it needs and the plain-SQL upgrade script.
TA_CODE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The schema version this code needs (therapyassistance.control's default_version).
code_schema_version() { sed -n "s/^default_version = '\(.*\)'$/\1/p" "$TA_CODE/therapyassistance.control"; }
# version_newer A B: whether schema version A is newer than B.
version_newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }
JWT_EXPIRATION_HOURS=${JWT_EXPIRATION_HOURS:-24}
# The name of the temporary policy; the restore leaves it out.
BACKUP_POLICY=ta_backup_read

note() { printf '%s\n' "$*" >&2; }
fail() { note "error: $*"; return 1; }

# Runs an admin client program (as TA_ADMIN_RUNAS when given and we are root).
as_admin() {
    if [ -n "${TA_ADMIN_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$TA_ADMIN_RUNAS" -- env ${TA_ADMIN_HOST:+PGHOST="$TA_ADMIN_HOST"} "$@")
    else
        "$@"
    fi
}
admin_psql() { local db=$1; shift; as_admin psql -X -q -v ON_ERROR_STOP=1 -U "$TA_ADMIN" -d "$db" "$@"; }
owner_psql() { local db=$1; shift; psql -X -q -v ON_ERROR_STOP=1 -U "$TA_OWNER" -d "$db" "$@"; }

# A SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1).
sql_literal() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }

# Backups of TA_DB in a folder, newest first (the timestamp in the name sorts them).
backup_files() {
    local dir=$1
    [ -d "$dir" ] || return 0
    find "$dir" -maxdepth 1 -type f \
        \( -name "$TA_DB-[0-9]*-[0-9]*.dump.gz" -o -name "$TA_DB-[0-9]*-[0-9]*.dump" \
           -o -name "$TA_DB-[0-9]*-[0-9]*.dump.gz.age" \) -print |
        LC_ALL=C sort -r
}

# Keeps the newest BACKUP_KEEP backups in a folder and deletes the older ones.
backup_rotate() {
    local dir=$1 keep=${2:-$BACKUP_KEEP} f
    [[ $keep =~ ^[1-9][0-9]*$ ]] || { fail "BACKUP_KEEP must be a positive number, not '$keep'"; return 1; }
    backup_files "$dir" | tail -n +$((keep + 1)) | while IFS= read -r f; do
        rm -f -- "$f" && note "rotated out $f"
    done
}

# Checks that FILE is a readable therapyassistance backup (.dump or .dump.gz) with its data.
backup_check() {
    local file=$1 toc
    local -; set -o pipefail
    if [ ! -f "$file" ] || [ ! -r "$file" ]; then fail "cannot read backup file '$file'"; return 1; fi
    case $file in
        *.dump.gz) toc=$(restore_from "$file" --list 2>/dev/null) ;;
        *.dump)    toc=$(pg_restore --list -- "$file" 2>/dev/null) ;;
        *.age) fail "'$file' is encrypted with age: restore it with its identity (key) file"; return 1 ;;
        *) fail "'$file' is not a .dump or .dump.gz file"; return 1 ;;
    esac || { fail "'$file' is not a readable pg_dump archive (pg_restore --list failed): refusing it"; return 1; }
    grep -q 'TABLE DATA ta patients ' <<<"$toc" ||
        { fail "'$file' holds no therapyassistance data (no ta.patients): refusing it"; return 1; }
}

# Writes the archive of TA_DB (pg_dump -Fc, uncompressed: gzip compresses it) to stdout.
backup_dump() {
    # Never the JWT secret, nor the schemas a shared-instance restore kept aside (they hold
    # the old data and an old secret; the admin drops them).
    local common=(-Fc -Z0 --exclude-table-data=ta.settings --exclude-schema='*_pre_restore_*' -d "$TA_DB")
    if [ -n "${TA_ADMIN:-}" ]; then
        as_admin pg_dump -U "$TA_ADMIN" "${common[@]}"
        return
    fi
    local key status=0
    key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    backup_policy create "$key" || return 1
    PGOPTIONS="${PGOPTIONS:-} -c ta.backup_key=$key" \
        pg_dump -U "$TA_OWNER" --enable-row-security "${common[@]}" || status=$?
    backup_policy drop || status=1
    return $status
}

# backup_policy create KEY | drop: the owner-only backup's temporary read policy (see top).
backup_policy() {
    local action=$1 key=${2:-}
    owner_psql "$TA_DB" -v policy="$BACKUP_POLICY" -v key="$key" -v action="$action" <<'SQL'
SET client_min_messages = warning;
SELECT format('DROP POLICY IF EXISTS %I ON %s', :'policy', c.oid::regclass)
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity \gexec
SELECT format('CREATE POLICY %I ON %s FOR SELECT USING ((SELECT current_setting(''ta.backup_key'', true)) = %L)',
              :'policy', c.oid::regclass, :'key')
  FROM pg_class c WHERE c.relnamespace = 'ta'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
   AND :'action' = 'create' \gexec
SQL
}

# backup_create [LABEL]: a new backup; prints its path as the last line of output.
backup_create() {
    local label=${1:+-$1} dir=${BACKUP_DIR:-} stamp name tmp
    local -; set -o pipefail
    [ -n "$dir" ] || { fail "BACKUP_DIR is not set"; return 1; }
    (umask 077 && mkdir -p -- "$dir") || { fail "cannot create $dir"; return 1; }
    stamp=$(date +%Y%m%d-%H%M%S)
    name=$TA_DB-$stamp$label.dump.gz
    [ ! -e "$dir/$name" ] || { sleep 1; stamp=$(date +%Y%m%d-%H%M%S); name=$TA_DB-$stamp$label.dump.gz; }
    tmp=$dir/.partial-$name
    note "backing up database $TA_DB to $dir/$name"
    if ! (umask 077 && backup_dump | gzip -6 > "$tmp"); then
        rm -f -- "$tmp"; fail "pg_dump of $TA_DB failed; nothing was written"; return 1
    fi
    backup_check "$tmp" || { rm -f -- "$tmp"; fail "the new backup does not read back; removed it"; return 1; }
    chmod 600 -- "$tmp" && mv -- "$tmp" "$dir/$name"
    backup_rotate "$dir" || return 1
    # A safety backup (with a LABEL, taken before a deploy or a restore) is needed here, not off the
    # machine: a refused copy is a warning for it, and fails the daily backup (no LABEL) loudly.
    if [ -n "${BACKUP_COPY_DIR:-}" ] && ! backup_copy_encrypted "$dir/$name"; then
        [ -n "$label" ] || return 1
        note "WARNING: the safety backup $dir/$name stays on this machine only"
    fi
    printf '%s\n' "$dir/$name"
}

# The age recipients of BACKUP_AGE_RECIPIENT as age's arguments (-r KEY ...), one per line;
# fails when there is none or one is not an age public key.
backup_age_recipients() {
    local r n=0
    for r in ${BACKUP_AGE_RECIPIENT//,/ }; do
        [[ $r =~ ^age1[02-9ac-hj-np-z]{58}$ ]] ||
            { fail "BACKUP_AGE_RECIPIENT: '$r' is not an age public key (age1..., from age-keygen)"; return 1; }
        printf -- '-r\n%s\n' "$r"; n=$((n + 1))
    done
    [ $n -gt 0 ]
}

# backup_copy_encrypted FILE: FILE encrypted with age to BACKUP_AGE_RECIPIENT, as BACKUP_COPY_DIR/NAME.age.
# The backup space is another machine's disk: patients' data never goes there in clear. Without a
# recipient the copy is refused (the backup in BACKUP_DIR stays) and the backup fails, so that the
# timer's unit, `status` and the log say so every day until the key is set.
backup_copy_encrypted() {
    local file=$1 name args
    name=$(basename -- "$file").age
    if [ -z "${BACKUP_AGE_RECIPIENT:-}" ]; then
        fail "BACKUP_COPY_DIR is set but BACKUP_AGE_RECIPIENT is not: NOT copying patients' data unencrypted to $BACKUP_COPY_DIR (the backup itself is $file). Run age-keygen on your own computer, keep the key file there, put its public key (age1...) into .env as BACKUP_AGE_RECIPIENT"
        return 1
    fi
    mapfile -t args < <(backup_age_recipients) && [ ${#args[@]} -gt 0 ] || return 1
    command -v age >/dev/null || { fail "age is not installed (apt-get install age): the backup was not copied to $BACKUP_COPY_DIR"; return 1; }
    (umask 077 && mkdir -p -- "$BACKUP_COPY_DIR" &&
        age "${args[@]}" -o "$BACKUP_COPY_DIR/.partial-$name" -- "$file" &&
        mv -- "$BACKUP_COPY_DIR/.partial-$name" "$BACKUP_COPY_DIR/$name") ||
        { rm -f -- "$BACKUP_COPY_DIR/.partial-$name"
          fail "could not copy the backup encrypted to $BACKUP_COPY_DIR (the backup itself is in $(dirname -- "$file"))"; return 1; }
    backup_rotate "$BACKUP_COPY_DIR" || return 1
    note "copied to $BACKUP_COPY_DIR/$name (encrypted with age to BACKUP_AGE_RECIPIENT)"
}

# backup_decrypt FILE IDENTITY DIR: decrypts the age-encrypted backup FILE with the identity (key)
# file IDENTITY into DIR (private to this user); prints the decrypted file's path. A wrong key fails.
backup_decrypt() {
    local file=$1 identity=$2 dir=$3 out
    out=$dir/$(basename -- "${file%.age}")
    [ -n "$identity" ] || { fail "$file is encrypted: give the age identity (key) file that belongs to BACKUP_AGE_RECIPIENT"; return 1; }
    [ -r "$identity" ] || { fail "cannot read the age identity file '$identity'"; return 1; }
    command -v age >/dev/null || { fail "age is not installed (apt-get install age)"; return 1; }
    if ! (umask 077 && age -d -i "$identity" -o "$out" -- "$file" 2>"$dir/age.err"); then
        rm -f -- "$out"
        fail "could not decrypt $file with $identity ($(tr '\n' ' ' < "$dir/age.err")): wrong key? nothing was changed"
        return 1
    fi
    printf '%s\n' "$out"
}

# Lists the backups in BACKUP_DIR, newest first, numbered for restore_choose.
backup_list() {
    local i=0 f
    while IFS= read -r f; do
        i=$((i + 1))
        printf '%3d  %s  %6s\n' "$i" "$f" "$(du -h -- "$f" | cut -f1)"
    done < <(backup_files "$BACKUP_DIR")
    [ $i -gt 0 ] || note "no backups of $TA_DB in $BACKUP_DIR"
}

# Age in seconds of the newest backup, or nothing when there is none.
backup_newest_age() {
    local newest
    newest=$(backup_files "$BACKUP_DIR" | head -n 1)
    [ -n "$newest" ] || return 0
    echo $(($(date +%s) - $(stat -c %Y -- "$newest")))
}

# Asks before a destructive step; YES=1 answers for the user. Reads the answer on stdin.
confirm() {
    local question=$1 answer
    [ "${YES:-0}" = 1 ] && return 0
    printf '%s Type "yes" to continue: ' "$question" >&2
    if ! IFS= read -r answer || [ "$answer" != yes ]; then
        note "cancelled: nothing was changed"
        return 1
    fi
}

# The SQL that restores FILE's contents into a database, written to stdout. Extensions are
# created only in a new database (a shared instance's schema swap keeps the existing ones).
# The data goes in with FORCE ROW LEVEL SECURITY lifted on the tables being filled (nobody
# else reaches them yet) and put back before the end; then the secret and the grants.
restore_sql() {
    local file=$1 strategy=$2 list=$3
    local -; set -o pipefail
    restore_from "$file" --list |
        grep -v " POLICY ta [a-z_]* $BACKUP_POLICY " |
        if [ "$strategy" = schema ]; then grep -v ' EXTENSION \| COMMENT - EXTENSION '; else cat; fi \
        > "$list" || return 1
    local from current
    from=$(backup_schema_version "$file") || return 1
    # RESTORE_SCHEMA_VERSION: the version the restored database ends at (default: this code's). A deploy's rollback
    # gives the backup's own, for the previous build.
    current=${RESTORE_SCHEMA_VERSION:-$(code_schema_version)}
    if version_newer "$from" "$current"; then
        fail "$file holds schema version $from, newer than this code's $current: use the code of $from or newer"
        return 1
    fi
    [ "$from" = "$current" ] || note "the backup holds schema version $from: it is upgraded to $current as it is restored"
    # The extension is created at the backup's version, so that its rows fit; upgraded at the end.
    restore_from "$file" --no-owner -L "$list" --section=pre-data -f - |
        sed "s/^CREATE EXTENSION IF NOT EXISTS therapyassistance WITH SCHEMA \([a-z_]*\);$/CREATE EXTENSION IF NOT EXISTS therapyassistance WITH SCHEMA \1 VERSION '$from';/" ||
        return 1
    # While the data goes in: row-level security is not forced, and the tables of ta with triggers of their own
    # have them off. The extension creates the tables with their triggers before the data section (the plain-SQL
    # install's come in post-data): the rows go in as they were, no trigger restamps (cancelled_at, consents'
    # changed_at) or adds rows (consent history, reminders). The trail's triggers fire on no INSERT and are the
    # guard's: left alone.
    cat <<'SQL'
SELECT pg_catalog.set_config('ta.restore_forced', coalesce(pg_catalog.string_agg(c.oid::pg_catalog.text, ','), ''), true)
  FROM pg_catalog.pg_class c
 WHERE c.relnamespace = 'ta'::pg_catalog.regnamespace AND c.relforcerowsecurity;
SELECT pg_catalog.set_config('ta.restore_triggered', coalesce(pg_catalog.string_agg(DISTINCT t.tgrelid::pg_catalog.text, ','), ''), true)
  FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'ta'::pg_catalog.regnamespace AND c.relname <> 'audit_log' AND NOT t.tgisinternal
   AND t.tgenabled <> 'D';
SQL
    alter_noted_tables_sql ta.restore_forced 'NO FORCE ROW LEVEL SECURITY'
    alter_noted_tables_sql ta.restore_triggered 'DISABLE TRIGGER USER'
    restore_from "$file" --no-owner -L "$list" --section=data -f - || return 1
    # A deferred key (the outbox's appointment, from 1.2) queued a check for every row that went in, and ALTER
    # TABLE refuses a table with checks pending: they run now, on the restored rows.
    echo 'SET CONSTRAINTS ALL IMMEDIATE;'
    alter_noted_tables_sql ta.restore_triggered 'ENABLE TRIGGER USER'
    alter_noted_tables_sql ta.restore_forced 'FORCE ROW LEVEL SECURITY'
    restore_from "$file" --no-owner -L "$list" --section=post-data -f - || return 1
    if [ "$from" != "$current" ]; then
        if grep -q ' EXTENSION - therapyassistance *$' "$list"; then
            printf "ALTER EXTENSION therapyassistance UPDATE TO '%s';\n" "$current"
        else  # the plain-SQL upgrade, inside the restore's own transaction
            grep -v -e '^BEGIN; -- the whole upgrade$' -e '^COMMIT; -- the whole upgrade$' "$TA_CODE/sql/fallback/upgrade.sql"
        fi
    fi
    printf 'SELECT ta.configure(%s, %s);\n' "$(sql_literal "$JWT_SECRET")" "$(sql_literal "$JWT_EXPIRATION_HOURS")"
    # A shared instance's single role owns the api and may call it already.
    [ "$TA_APP" = "$TA_OWNER" ] || printf 'SELECT ta.grant_api(%s);\n' "$(sql_literal "$TA_APP")"
}

# The schema version FILE was taken on: the extension's comment or the plain-SQL install's
# api.schema_version() says it; a backup with neither is of 1.0, which recorded none.
backup_schema_version() {
    local v
    v=$(restore_from "$1" --schema-only -f - | sed -n \
        -e "s/^COMMENT ON EXTENSION therapyassistance IS 'TherapyAssistance schema \([0-9][0-9.]*\):.*/\1/p" \
        -e "s/.*SELECT '\([0-9][0-9.]*\)'::text \/\* therapyassistance schema version \*\/.*/\1/p" | head -n 1) ||
        return 1
    printf '%s\n' "${v:-1.0}"
}

# alter_noted_tables_sql SETTING CLAUSE: SQL that runs "ALTER TABLE <table> CLAUSE" on each table whose oid
# restore_sql noted in SETTING.
alter_noted_tables_sql() {
    cat <<SQL
DO \$\$ DECLARE r pg_catalog.regclass; BEGIN
    FOR r IN SELECT pg_catalog.unnest(pg_catalog.string_to_array(
                 pg_catalog.current_setting('$1'), ','))::pg_catalog.oid LOOP
        EXECUTE pg_catalog.format('ALTER TABLE %s $2', r);
    END LOOP;
END \$\$;
SQL
}

archive_of() { case $1 in *.gz) gzip -dc -- "$1" ;; *) cat -- "$1" ;; esac; }

# pg_restore ARGS... on FILE's archive. pg_restore stops reading once it has what it needs (the TOC, one
# section); the rest is drained, or gzip dies of SIGPIPE and fails the pipeline for any backup over 64 kB.
restore_from() {
    local file=$1 rc=0
    shift
    archive_of "$file" | { pg_restore "$@" || rc=$?; cat >/dev/null; return $rc; }
}

# restore_run FILE: restores FILE into TA_DB without ever leaving it half restored.
#  - with a superuser: into a new database, renamed into place only when complete; the
#    previous database stays as TA_DB_pre_restore_<time>.
#  - without one (shared PostgreSQL, plain-SQL install): in one transaction, schemas ta and
#    api are renamed to ta_pre_restore_<time>/api_pre_restore_<time> and the backup is
#    restored as new ones; any error rolls the whole transaction back.
# Either way a safety backup of the current data is taken first. Stop the proxy around it.
restore_run() {
    local file=$1 strategy stamp work safety status=0
    local -; set -o pipefail
    if [[ $file == *.age ]]; then
        # Decrypted next to the backups (private), the plain file removed however the restore ends.
        if [ ! -f "$file" ] || [ ! -r "$file" ]; then fail "cannot read backup file '$file'"; return 1; fi
        (umask 077 && mkdir -p -- "$BACKUP_DIR") || return 1
        work=$(umask 077 && mktemp -d "$BACKUP_DIR/.decrypt.XXXXXX") || return 1
        if safety=$(backup_decrypt "$file" "${BACKUP_AGE_IDENTITY:-}" "$work"); then
            restore_run "$safety" || status=$?
        else
            status=1
        fi
        rm -rf -- "$work"
        return $status
    fi
    backup_check "$file" || return 1
    [ -n "${JWT_SECRET:-}" ] || { fail "JWT_SECRET is needed to configure the restored database"; return 1; }
    if [ -n "${TA_ADMIN:-}" ]; then strategy=database; else strategy=schema; fi
    if [ $strategy = schema ] && [ "$(owner_psql "$TA_DB" -tA -c \
            "SELECT count(*) FROM pg_extension WHERE extname = 'therapyassistance'")" != 0 ]; then
        fail "without a superuser only the plain-SQL install can be restored in place; set TA_ADMIN"
        return 1
    fi
    stamp=$(date +%Y%m%d_%H%M%S)
    note "restore $file into database $TA_DB ($([ $strategy = database ] &&
        echo "as a new database, swapped in when complete" ||
        echo "as new schemas ta and api in one transaction; the current ones are kept renamed"))"
    confirm "This replaces the data in $TA_DB with the backup's (the current data is backed up first)." || return 1

    safety=$(backup_create pre-restore | tail -n 1) || safety=
    [ -n "$safety" ] || { fail "safety backup failed: nothing was changed"; return 1; }
    note "safety backup of the current data: $safety"
    # The restore script holds patients' data in plain text: it lives next to the backups.
    work=$(umask 077 && mktemp -d "$BACKUP_DIR/.restore.XXXXXX") || return 1
    restore_in "$work" "$file" $strategy "$stamp" || status=$?
    rm -rf -- "$work"
    return $status
}

restore_in() {
    local work=$1 file=$2 strategy=$3 stamp=$4
    if ! (umask 077 && restore_sql "$file" "$strategy" "$work/list" > "$work/restore.sql"); then
        fail "could not read $file: nothing was changed"; return 1
    fi
    if [ "$strategy" = database ]; then
        restore_into_new_database "$work/restore.sql" "${TA_DB}_restore_$stamp" "${TA_DB}_pre_restore_$stamp"
    else
        restore_into_new_schemas "$work/restore.sql" "$stamp"
    fi
}

restore_into_new_database() {
    local script=$1 new=$2 old=$3 try err
    admin_psql postgres -v new="$new" -v owner="$TA_OWNER" <<'SQL' || return 1
SELECT format('CREATE DATABASE %I OWNER %I', :'new', :'owner') \gexec
SQL
    if ! owner_psql "$new" -1 -f "$script" >/dev/null; then
        admin_psql postgres -c "DROP DATABASE IF EXISTS \"$new\"" || true
        fail "restore failed: database $TA_DB is untouched"
        return 1
    fi
    for try in 1 2 3 4 5; do
        if err=$(admin_psql postgres -v db="$TA_DB" -v new="$new" -v old="$old" 2>&1 >/dev/null <<'SQL'
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :'db' AND pid <> pg_backend_pid();
BEGIN;
SELECT format('ALTER DATABASE %I RENAME TO %I', :'db', :'old') \gexec
SELECT format('ALTER DATABASE %I RENAME TO %I', :'new', :'db') \gexec
COMMIT;
SQL
        ); then
            note "restored. The previous data is kept in database $old;"
            note "once you have checked the restore: DROP DATABASE \"$old\";"
            return 0
        fi
        note "could not swap the databases yet (attempt $try): ${err#*ERROR:  }"
        sleep 1
    done
    fail "could not swap the restored database in. $TA_DB is untouched; the restored copy is database $new"
    return 1
}

restore_into_new_schemas() {
    local script=$1 stamp=$2 swap
    swap=$(dirname "$script")/swap.sql
    {
        printf 'SET client_min_messages = warning;\n'
        printf 'ALTER SCHEMA ta RENAME TO ta_pre_restore_%s;\n' "$stamp"
        printf 'ALTER SCHEMA api RENAME TO api_pre_restore_%s;\n' "$stamp"
        printf "SELECT format('REVOKE ALL ON SCHEMA api_pre_restore_%s FROM PUBLIC, %%I', %s) \\gexec\n" \
            "$stamp" "$(sql_literal "$TA_APP")"
        # 1.1: the notifier's functions (issue 17) move aside with the api
        printf "SELECT format('ALTER SCHEMA notifier RENAME TO notifier_pre_restore_%s') WHERE EXISTS (SELECT FROM pg_namespace WHERE nspname = 'notifier') \\gexec\n" "$stamp"
        cat "$script"
    } > "$swap"
    if ! owner_psql "$TA_DB" -1 -f "$swap" >/dev/null; then
        fail "restore failed and was rolled back: the data in $TA_DB is untouched"
        return 1
    fi
    note "restored. The previous data is kept in schemas ta_pre_restore_$stamp and api_pre_restore_$stamp;"
    note "once you have checked the restore: DROP SCHEMA api_pre_restore_$stamp, ta_pre_restore_$stamp CASCADE;"
}
