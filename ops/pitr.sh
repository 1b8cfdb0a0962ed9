# shellcheck shell=bash
# ops/pitr.sh: point-in-time recovery of a local PostgreSQL cluster with pgBackRest, sourced by `make up`/`make
# restore TIME=` (ops/stack-pitr.sh) and by deploy-mikrus.sh, so both run the same code. Functions only.
# WAL is archived continuously (archive_timeout 60 s) into a pgBackRest repository next to a weekly full and daily
# differential backups; pitr_restore brings the cluster back to a moment into a new data folder and swaps it in
# only once PostgreSQL has replayed it and it answers, keeping the current folder beside it.
# The caller sets:
#   PITR_CONF             the pgBackRest configuration file this writes (pitr_write_config)
#   PITR_REPO             the repository (the backup space); PITR_DIR: pgBackRest's log, lock and spool folders
#   PITR_DATA, PITR_SOCK, PITR_PORT   the cluster's data folder, socket folder and port; PITR_BIN: its programs
#   PITR_RUNAS            the OS user the cluster runs as when we are root (postgres), or empty
#   PITR_START_OPTS       postgres options a copy of the cluster needs to start (Debian: its config_file), or empty
#   PITR_RETENTION_FULL, PITR_RETENTION_DIFF   full and differential backups kept (default 2 and 7)
#   PITR_CIPHER_PASS      the passphrase the repository is encrypted with (aes-256-cbc); it goes into PITR_CONF
#                         (mode 600, the cluster's user's: archive_command needs it) and nowhere else: pgBackRest
#                         writes it as <redacted> in its logs
#   TA_DB                 the application's database (checked after a restore)
#   TA_TIMEZONE           the zone restore times are read in (default Europe/Warsaw, the clusters' timezone)
#   YES=1                 answers pitr_restore's question
# and defines pitr_cluster_stop and pitr_cluster_start (the cluster as its service manager runs it).

PITR_STANZA=ta
TA_TIMEZONE=${TA_TIMEZONE:-Europe/Warsaw}

pitr_note() { printf '%s\n' "$*" >&2; }
pitr_fail() { pitr_note "error: $*"; return 1; }

# Runs a command as the cluster's user, from / (a caller's folder may be one that user cannot enter).
pitr_as_owner() {
    if [ -n "${PITR_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u "$PITR_RUNAS" -- "$@")
    else
        (cd / && "$@")
    fi
}

# pgBackRest with this setup's configuration and stanza.
br() { pitr_as_owner pgbackrest --config="$PITR_CONF" --stanza="$PITR_STANZA" "$@"; }

# psql as the cluster's superuser on its socket: pitr_psql [SOCKET] ARGS...
pitr_psql() {
    local sock=$PITR_SOCK
    if [ "${1:-}" = --sock ]; then sock=$2; shift 2; fi
    pitr_as_owner "$PITR_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$PITR_PORT" -U postgres "$@"
}

pitr_running() {
    local pid
    pitr_as_owner "$PITR_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1 || return 1
    # pg_ctl only asks whether postmaster.pid's process exists. A postmaster killed by SIGKILL stays a zombie until
    # its parent reaps it (an init that reaps late, as in some containers, leaves it so), and its number may be
    # another process's soon after (pid_max can be 32768): running means a live process working in DATA.
    pid=$(head -n 1 -- "$1/postmaster.pid" 2>/dev/null) || return 1
    [ "$(readlink -- "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f -- "$1")" ]
}

# The archive_command PostgreSQL runs for each WAL segment (a shell command: the path is quoted).
pitr_archive_command() { printf 'pgbackrest --config="%s" --stanza=%s archive-push "%%p"' "$PITR_CONF" "$PITR_STANZA"; }

# pitr_mkdir DIR: makes DIR (mode 700) and the folders above it that are missing, all owned by the cluster's user,
# who must reach them (archive_command runs as that user).
pitr_mkdir() {
    local top=$1
    [ -d "$1" ] && return 0
    while [ ! -e "$(dirname "$top")" ]; do top=$(dirname "$top"); done
    (umask 077 && mkdir -p -- "$1") || { pitr_fail "cannot create $1"; return 1; }
    if [ -n "${PITR_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then chown -R "$PITR_RUNAS:" "$top"; fi
}

pitr_write_config() {
    local dir content
    case $PITR_CONF$PITR_REPO$PITR_DATA$PITR_SOCK in
        *[\"\'\$\`\\]*|*$'\n'*) pitr_fail "pgBackRest's paths may not contain quotes, \$, \` or backslashes"; return 1 ;;
    esac
    [ -n "${PITR_CIPHER_PASS:-}" ] ||
        { pitr_fail "no passphrase for the encrypted pgBackRest repository (PITR_CIPHER_PASS; on a VPS" \
            "BACKREST_CIPHER_PASS in .env, which ./deploy-mikrus.sh init adds): nothing was changed"; return 1; }
    case $PITR_CIPHER_PASS in
        *[[:space:]\"\'\$\`\\]*) pitr_fail "the repository's passphrase may not contain spaces, quotes, \$, \` or backslashes"; return 1 ;;
    esac
    [ ${#PITR_CIPHER_PASS} -ge 20 ] || { pitr_fail "the repository's passphrase is shorter than 20 characters"; return 1; }
    content=$(cat <<CONF
# pgBackRest for TherapyAssistance (written by ops/pitr.sh; edit the retention in its caller's settings).
[global]
repo1-path=$PITR_REPO
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=$PITR_CIPHER_PASS
repo1-retention-full=${PITR_RETENTION_FULL:-2}
repo1-retention-diff=${PITR_RETENTION_DIFF:-7}
log-path=$PITR_DIR/log
lock-path=$PITR_DIR/lock
spool-path=$PITR_DIR/spool
compress-type=lz4
process-max=2
start-fast=y
archive-timeout=60
log-level-console=warn
log-level-file=info

[$PITR_STANZA]
pg1-path=$PITR_DATA
pg1-socket-path=$PITR_SOCK
pg1-port=$PITR_PORT
pg1-user=postgres
CONF
)
    for dir in "$(dirname "$PITR_CONF")" "$PITR_DIR" "$PITR_DIR/log" "$PITR_DIR/lock" "$PITR_DIR/spool"; do
        pitr_mkdir "$dir" || return 1
    done
    if [ "$(cat "$PITR_CONF" 2>/dev/null)" != "$content" ]; then
        (umask 077 && printf '%s\n' "$content" > "$PITR_CONF.tmp") || return 1
        if [ -n "${PITR_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then chown "$PITR_RUNAS:" "$PITR_CONF.tmp"; fi
        # A passphrase that does not open the repository there is never installed: the running cluster's
        # archive_command reads this file, and would stop archiving.
        if ! pitr_config_opens_repo "$PITR_CONF.tmp"; then
            rm -f -- "$PITR_CONF.tmp"
            pitr_fail "$(pitr_repo_problem "$(PITR_CONF=$PITR_CONF.tmp pitr_info)"): nothing was changed"
            return 1
        fi
        mv -- "$PITR_CONF.tmp" "$PITR_CONF" || return 1
    fi
    if [ -n "${PITR_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then
        chown "$PITR_RUNAS:" "$PITR_CONF" "$PITR_DIR" "$PITR_DIR"/{log,lock,spool}
    fi
}

# What the repository's first info file says of its encryption: encrypted, plain, or none (no repository yet).
pitr_repo_cipher() {
    local f=$PITR_REPO/backup/$PITR_STANZA/backup.info start
    [ -f "$f" ] || f=$f.copy
    [ -f "$f" ] || { echo none; return 0; }
    start=$(head -c 8 -- "$f" | tr -d '\0')
    case $start in
        Salted__) echo encrypted ;;
        '['*) echo plain ;;
        *) echo unknown ;;
    esac
}

# pitr_config_opens_repo CONF: CONF's passphrase decrypts the repository (true too when there is none yet or its
# backup space is not there: those are said by the checks that need them).
pitr_config_opens_repo() {
    [ "$(pitr_repo_cipher)" = encrypted ] || return 0
    PITR_CONF=$1 pitr_info | jq -e '.[0].status.code != 99 and .[0].status.code != 4' >/dev/null
}

# pitr_repo_problem INFO_JSON: why pgbackrest info cannot use the repository, in one line (pgBackRest's own message
# quotes the undecrypted bytes of the file it could not read).
pitr_repo_problem() {
    case $(pitr_repo_cipher) in
        plain) echo "the repository $PITR_REPO is not encrypted (made before its encryption was turned on)"; return ;;
        encrypted)
            if jq -e '.[0].status.code == 99 or .[0].status.code == 4' >/dev/null 2>&1 <<<"$1"; then
                echo "the repository $PITR_REPO cannot be decrypted: the passphrase (PITR_CIPHER_PASS;" \
                     "BACKREST_CIPHER_PASS in deploy-mikrus.sh's .env) is not the one it was encrypted with"
                return
            fi ;;
    esac
    printf '%s\n' "$(jq -r '.[0].repo[0].status.message // .[0].status.message // "no answer from pgbackrest info"' \
                          2>/dev/null <<<"$1" | head -n 1 | tr -cd '[:print:]' | cut -c1-200)"
}

# pitr_repo_ready [--create]: a backup space that is not mounted is not taken for an empty one (PITR_REPO_MOUNT);
# with --create, the repository's folder is made when missing (setup and backups, never a restore).
pitr_repo_ready() {
    if [ -n "${PITR_REPO_MOUNT:-}" ] && ! mountpoint -q -- "$PITR_REPO_MOUNT"; then
        pitr_fail "the backup space $PITR_REPO_MOUNT is not mounted: mount it first (nothing was changed)"
        return 1
    fi
    if [ "${1:-}" = --create ]; then pitr_mkdir "$PITR_REPO" || return 1; fi
}

# Archiving on: returns 0, or 3 when PostgreSQL must restart for it (archive_mode); the caller restarts.
pitr_enable_archiving() {
    [ "$(pitr_psql -d postgres -tA -v cmd="$(pitr_archive_command)" <<'SQL'
SELECT count(*) FROM pg_settings
 WHERE (name, setting) IN (('archive_mode', 'on'), ('archive_command', :'cmd'), ('archive_timeout', '60'))
   AND NOT pending_restart;
SQL
)" = 3 ] && return 0
    pitr_psql -d postgres -v cmd="$(pitr_archive_command)" >/dev/null <<'SQL' || return 1
ALTER SYSTEM SET archive_mode = 'on';
ALTER SYSTEM SET archive_command = :'cmd';
ALTER SYSTEM SET archive_timeout = '60s';
SELECT pg_reload_conf();
SQL
    sleep 0.2
    [ "$(pitr_psql -d postgres -tA -c "SELECT count(*) FROM pg_settings WHERE name = 'archive_mode' AND
                                        (setting <> 'on' OR pending_restart)")" = 0 ] || return 3
}

# The stanza (once). Returns 4 when the repository holds another cluster's (one made again with initdb): its WAL
# would be refused, and 5 when it is not encrypted (made before the encryption): the caller decides what becomes of
# the old repository.
pitr_stanza() {
    local repo_id db_id
    pitr_repo_ready --create || return 1
    case $(pitr_repo_cipher) in
        plain) pitr_fail "the repository $PITR_REPO is not encrypted (made before its encryption was turned on)"
               return 5 ;;
        encrypted) pitr_config_opens_repo "$PITR_CONF" ||
                       { pitr_fail "$(pitr_repo_problem "$(pitr_info)")"; return 1; } ;;
    esac
    if ! br info --output=json 2>/dev/null | jq -e '.[0].status.code != 1 and .[0].status.code != 3' >/dev/null; then
        br stanza-create >/dev/null || { pitr_fail "pgbackrest stanza-create failed (log: $PITR_DIR/log)"; return 1; }
    fi
    # (read as text: jq's numbers are doubles, too short for a 64-bit system id)
    repo_id=$(pitr_info | grep -o '"system-id":[0-9]*' | tail -n 1 | cut -d: -f2)
    db_id=$(pitr_psql -d postgres -tA -c 'SELECT system_identifier FROM pg_control_system()')
    if [ -n "$repo_id" ] && [ "$repo_id" != "$db_id" ]; then
        pitr_fail "the repository $PITR_REPO holds another cluster's backups (system id $repo_id; this one is $db_id)"
        return 4
    fi
}

pitr_info() { br info --output=json 2>/dev/null; }

# pitr_backup full|diff|incr: a backup now; expires what the retention no longer keeps.
pitr_backup() {
    pitr_repo_ready || return 1
    pitr_note "pgBackRest: $1 backup into $PITR_REPO"
    br backup --type="$1" || { pitr_fail "the $1 backup failed$(pitr_space_full) (log: $PITR_DIR/log)"; return 1; }
}

# The schedule, for a machine without timers (make up): a full backup when none is younger than a week,
# else a differential when the newest backup is older than a day.
pitr_backup_due() {
    local info now full newest
    info=$(pitr_info) || info='[]'
    now=$(date +%s)
    full=$(jq -r '[.[0].backup[]? | select(.type == "full") | .timestamp.stop] | max // 0' <<<"$info")
    newest=$(jq -r '[.[0].backup[]? | .timestamp.stop] | max // 0' <<<"$info")
    if [ $((now - full)) -ge $((7 * 86400)) ]; then
        pitr_backup full
    elif [ $((now - newest)) -ge 86400 ]; then
        pitr_backup diff
    fi
}

# pitr_epoch 'YYYY-MM-DD HH:MM[:SS]': seconds since 1970 of that moment in TA_TIMEZONE.
pitr_epoch() {
    [[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}(:[0-9]{2})?$ ]] ||
        { pitr_fail "'$1' is not a time like '2026-01-31 14:05:00' ($TA_TIMEZONE): nothing was changed"; return 1; }
    TZ=$TA_TIMEZONE date -d "$1" +%s 2>/dev/null || { pitr_fail "'$1' is not a valid time: nothing was changed"; return 1; }
}

pitr_local_time() { TZ=$TA_TIMEZONE date -d "@$1" '+%Y-%m-%d %H:%M:%S %Z'; }

# The PITR window, for status: the oldest moment one can restore to and the newest archived WAL.
pitr_window() {
    local info first
    info=$(pitr_info) || return 1
    first=$(jq -r '[.[0].backup[]? | .timestamp.stop] | min // empty' <<<"$info")
    [ -n "$first" ] || { pitr_note "no pgBackRest backup yet"; return 1; }
    pitr_note "point-in-time recovery: from $(pitr_local_time "$first") to now" \
        "($(jq -r '.[0].backup | length' <<<"$info") backups, newest $(jq -r '.[0].backup[-1].label' <<<"$info"))"
}

# pgbackrest verify: every backup and WAL file in the repository reads back with its checksum; says what does not.
pitr_verify() {
    local out
    if out=$(br verify --output=text 2>&1) && ! grep -qiE 'error|invalid|missing|checksum' <<<"$out"; then
        return 0
    fi
    pitr_note "$out"
    return 1
}

# pgbackrest check (archiving works, a segment reaches the repository) and verify (every file's checksum).
pitr_health() {
    local out warn=0
    if out=$(br check 2>&1); then pitr_note "pgbackrest check: ok"; else
        pitr_note "WARNING: pgbackrest check fails: ${out##*ERROR: }"; warn=1; fi
    if pitr_verify; then pitr_note "pgbackrest verify: ok"; else pitr_note "WARNING: pgbackrest verify fails"; warn=1; fi
    pitr_window || warn=1
    return $warn
}

# pitr_wal_gap START [END]: the first WAL segment missing from the archive from START (a backup's first segment) on,
# up to END (the running cluster's last archived one) when given, or nothing. Each timeline's segments run without a
# hole from its first one (START on the backup's own timeline).
pitr_wal_gap() {
    local start=$1 end=${2:-} name tli prev_tli='' n prev=0 first names
    first=$((16#${start:8:8} * 256 + 16#${start:16:8}))
    names=$(find "$PITR_REPO/archive/$PITR_STANZA" -type f -name '[0-9A-F]*-*' -printf '%f\n' 2>/dev/null |
                cut -c1-24 | grep -E '^[0-9A-F]{24}$' | LC_ALL=C sort -u | awk -v s="$start" '($0 "") >= (s "")')
    if [ -n "$end" ] && ! grep -qx -- "$end" <<<"$names"; then echo "$end"; return 0; fi
    while IFS= read -r name; do
        tli=${name:0:8}
        n=$((16#${name:8:8} * 256 + 16#${name:16:8}))
        if [ "$tli" != "$prev_tli" ]; then
            prev_tli=$tli
            if [ "$tli" = "${start:0:8}" ] && [ "$n" != "$first" ]; then echo "$start"; return 0; fi
        elif [ "$n" != $((prev + 1)) ]; then
            printf '%s%08X%08X\n' "$tli" $(((prev + 1) / 256)) $(((prev + 1) % 256))
            return 0
        fi
        prev=$n
    done <<<"$names"
}

# pitr_restore TIME|latest: the cluster as it was at TIME ('YYYY-MM-DD HH:MM:SS' in TA_TIMEZONE), or with every
# write the archive and the current WAL hold. Every check comes before anything changes; the restored copy is
# started and checked on its own socket first; then the cluster is stopped, its folder kept as
# <data>.pre-restore-<time>, and the copy takes its place.
pitr_restore() {
    local when=$1 epoch='' info set size start gap segments need avail stamp new staging log running=0 opts=() target started=$SECONDS
    if [ "$when" != latest ]; then
        epoch=$(pitr_epoch "$when") || return 1
        [ "$epoch" -le "$(date +%s)" ] || { pitr_fail "$when is in the future: nothing was changed"; return 1; }
    fi
    pitr_repo_ready || return 1
    [ -d "$PITR_REPO/backup/$PITR_STANZA" ] ||
        { pitr_fail "no pgBackRest repository for this cluster in $PITR_REPO (is the backup space mounted?): nothing was changed"; return 1; }
    info=$(pitr_info) || { pitr_fail "pgbackrest info fails on $PITR_REPO: nothing was changed"; return 1; }
    [ "$(jq -r '.[0].status.code' <<<"$info")" = 0 ] ||
        { pitr_fail "the repository is not usable: $(pitr_repo_problem "$info"): nothing was changed"; return 1; }
    if [ -n "$epoch" ]; then
        set=$(jq -r --argjson t "$epoch" '[.[0].backup[] | select(.timestamp.stop <= $t)] | last | .label // empty' <<<"$info")
        [ -n "$set" ] || { pitr_fail "$when is before the first backup, which ends at" \
            "$(pitr_local_time "$(jq -r '.[0].backup[0].timestamp.stop' <<<"$info")"): nothing was changed"; return 1; }
        target=$(date -u -d "@$epoch" '+%Y-%m-%d %H:%M:%S+00')
        opts=(--type=time "--target=$target" --target-action=promote)
    else
        set=$(jq -r '.[0].backup[-1].label' <<<"$info")
        opts=(--type=default)
    fi
    pitr_running "$PITR_DATA" && running=1
    if [ $running = 1 ]; then
        # Everything written so far goes into the archive first, so that the checks see all of it (the running
        # cluster is not touched otherwise).
        pitr_switch_and_wait || return 1
    fi
    pitr_note "checking the repository (pgbackrest verify)"
    pitr_verify || { pitr_fail "the repository fails verification: nothing was changed"; return 1; }
    # pgbackrest verify checks the files the archive holds, not the ones it lacks: a segment missing in the middle
    # would end the replay there, short of the time asked for, and the restore would look successful.
    start=$(jq -r --arg s "$set" '.[0].backup[] | select(.label == $s) | .archive.start' <<<"$info")
    gap=$(pitr_wal_gap "$start" "${PITR_LAST_SEGMENT:-}")
    [ -z "$gap" ] || { pitr_fail "WAL segment $gap is missing from the archive (needed after backup $set): the" \
        "restore would stop there, short of ${epoch:+$when}${epoch:-the newest write}: nothing was changed"; return 1; }
    # Room for the copy next to the cluster, which shares the disk and must not run out of it: the backup's size,
    # what replaying the WAL since it can add (at most a segment's size per archived segment) and, after a crash,
    # the cluster's own WAL, plus 64 MB left free.
    size=$(jq -r --arg s "$set" '.[0].backup[] | select(.label == $s) | .info.size' <<<"$info")
    segments=$(find "$PITR_REPO/archive/$PITR_STANZA" -type f -name '[0-9A-F]*-*' -printf '%f\n' 2>/dev/null |
                   cut -c1-24 | awk -v s="$start" '($0 "") >= (s "")' | wc -l)
    need=$((size + size / 5 + segments * 16 * 1048576 + 64 * 1048576))
    if ! pitr_running "$PITR_DATA" && [ -d "$PITR_DATA/pg_wal" ]; then
        need=$((need + $(du -sb -- "$PITR_DATA/pg_wal" | cut -f1)))
    fi
    avail=$(df -B1 --output=avail -- "$(dirname "$PITR_DATA")" | tail -n 1)
    [ "$avail" -gt "$need" ] ||
        { pitr_fail "not enough free disk next to $PITR_DATA for the restored copy: it needs $((need / 1048576)) MB" \
            "(the backup's $((size / 1048576)) MB, $segments WAL segments to replay, 64 MB left free)," \
            "$((avail / 1048576)) MB are free: nothing was changed"; return 1; }
    pitr_note "restore to ${epoch:+$(pitr_local_time "$epoch")}${epoch:-the newest write} from backup $set" \
        "into a new folder; the cluster is swapped only when the copy works"
    if declare -F confirm >/dev/null; then
        confirm "This replaces the cluster's data with the restored copy (the current folder is kept)." || return 1
    fi

    stamp=$(date +%Y%m%d-%H%M%S)
    new=$PITR_DATA.restore-$stamp staging=$PITR_DATA.restore-$stamp.wal
    pitr_cleanup() { pitr_as_owner "$PITR_BIN/pg_ctl" -D "$new" -m immediate -w stop >/dev/null 2>&1 || true
                     rm -rf -- "$new" "$staging" "$new.run"; }
    (umask 077 && mkdir -p -- "$new" "$staging" "$new.run") || return 1
    if [ -n "${PITR_RUNAS:-}" ] && [ "$(id -u)" = 0 ]; then chown "$PITR_RUNAS:" "$new" "$staging" "$new.run"; fi
    if ! br restore --pg1-path="$new" --set="$set" "${opts[@]}" >&2; then
        pitr_cleanup; pitr_fail "pgbackrest restore failed: nothing was changed"; return 1
    fi
    if [ $running = 0 ] && [ -d "$PITR_DATA/pg_wal" ]; then
        # A stopped or crashed cluster's WAL may hold writes the archive has not got yet (up to archive_timeout):
        # recovery replays them after the archive's.
        pitr_as_owner find "$PITR_DATA/pg_wal" -maxdepth 1 -type f -regextype posix-extended \
            -regex '.*/([0-9A-F]{24}|[0-9A-F]{8}\.history)' -exec cp -n -t "$new/pg_wal" {} +
    fi
    pitr_note "replaying WAL into the copy"
    # The copy archives into a staging folder while it is on trial: a copy that is thrown away leaves no timeline
    # in the repository.
    log=$PITR_DIR/log/restore-$stamp.log
    if ! pitr_as_owner "$PITR_BIN/pg_ctl" -D "$new" -l "$log" -w -t 3600 start -o \
            "-c port=$PITR_PORT -c listen_addresses='' -c unix_socket_directories='$new.run' \
             -c archive_command='cp \"%p\" \"$staging/%f\"' -c external_pid_file='' ${PITR_START_OPTS:-} \
             -c data_directory='$new'" >/dev/null; then
        tail -n 5 "$log" >&2
        pitr_cleanup; pitr_fail "the restored copy did not start: nothing was changed"; return 1
    fi
    for _ in $(seq 3600); do
        [ "$(pitr_psql --sock "$new.run" -d postgres -tA -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
        if ! pitr_running "$new"; then break; fi
        sleep 1
    done
    if [ "$(pitr_psql --sock "$new.run" -d postgres -tA -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" != f ] ||
       ! pitr_psql --sock "$new.run" -d "$TA_DB" -tA -c 'SELECT count(*) FROM ta.patients' >/dev/null; then
        grep -E 'FATAL|PANIC|recovery' "$log" | tail -n 5 >&2
        pitr_cleanup; pitr_fail "the restored copy did not come up: nothing was changed"; return 1
    fi
    pitr_note "the copy is consistent: $(pitr_psql --sock "$new.run" -d postgres -tA -c \
        "SELECT 'last write replayed at ' || coalesce(pg_last_xact_replay_timestamp()::text, 'the backup''s end')")"
    pitr_as_owner "$PITR_BIN/pg_ctl" -D "$new" -m fast -w stop >/dev/null
    rm -rf -- "$new.run"
    # The swap: the only step that touches the cluster.
    if pitr_running "$PITR_DATA"; then pitr_cluster_stop || { pitr_fail "could not stop the cluster"; return 1; }; fi
    mv -- "$PITR_DATA" "$PITR_DATA.pre-restore-$stamp"
    mv -- "$new" "$PITR_DATA"
    if ! pitr_cluster_start; then
        pitr_fail "the restored cluster does not start; the previous one is $PITR_DATA.pre-restore-$stamp"
        return 1
    fi
    # The new timeline's first files, archived by the copy into staging, go into the repository now.
    local f pushed=1
    while IFS= read -r f; do
        br archive-push "$staging/$f" || { pushed=0; pitr_note "WARNING: could not archive $f (kept in $staging)"; }
    done < <(cd "$staging" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort -t. -k2,2r -k1,1)
    if [ $pushed = 1 ]; then rm -rf -- "$staging"; fi
    pitr_note "restored in $((SECONDS - started)) s. The previous cluster is kept in $PITR_DATA.pre-restore-$stamp;"
    pitr_note "once you have checked the restore: rm -rf '$PITR_DATA.pre-restore-$stamp'"
}

# ": the backup space is full" when the repository's disk has less than a WAL segment's room left, else nothing.
pitr_space_full() {
    local avail
    avail=$(df -B1 --output=avail -- "$PITR_REPO" 2>/dev/null | tail -n 1)
    if [ -n "$avail" ] && [ "$avail" -lt $((16 * 1048576)) ]; then
        printf ': the backup space %s is full (%s kB free)' "$PITR_REPO" "$((avail / 1024))"
    fi
}

# A WAL switch on the running cluster and a wait until the archive has the segment (at most 60 s), noted in
# PITR_LAST_SEGMENT.
pitr_switch_and_wait() {
    local seg
    seg=$(pitr_psql -d postgres -tA -c "SELECT pg_walfile_name(pg_switch_wal())") ||
        { pitr_fail "cannot reach the running cluster: nothing was changed"; return 1; }
    PITR_LAST_SEGMENT=$seg
    for _ in $(seq 120); do
        [ "$(pitr_psql -d postgres -tA -c "SELECT coalesce(last_archived_wal >= '$seg', false) FROM pg_stat_archiver")" = t ] &&
            return 0
        sleep 0.5
    done
    pitr_fail "the running cluster does not archive its WAL (segment $seg)$(pitr_space_full): fix archiving first;" \
        "nothing was changed"
    return 1
}
