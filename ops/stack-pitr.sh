#!/usr/bin/env bash
# ops/stack-pitr.sh: point-in-time recovery of the local stack's cluster with pgBackRest (ops/pitr.sh), the same
# code deploy-mikrus.sh runs on a VPS. The repository is $PG_STATE/backrest/repo (.work/backrest/repo, or next to
# the cluster when it lives outside the checkout: stack/env.sh).
#   setup                    WAL archiving on (archive_timeout 60 s), the stanza, and a backup when one is due
#                            (a full one weekly, a differential daily): make up runs it
#   backup [full|diff|incr]  a backup now (default: the one that is due, if any)
#   restore TIME|latest [--yes]   make restore TIME='YYYY-MM-DD HH:MM:SS' (Europe/Warsaw) or TIME=latest
#   status                   pgbackrest check and verify, and the window one can restore to
# The repository is encrypted (aes-256-cbc) with the passphrase in $PG_STATE/backrest/cipher-pass (mode 600,
# made by setup when missing; keep a copy of it apart from the repository: without it the backups are unreadable).
# environment: PITR_RETENTION_FULL (2), PITR_RETENTION_DIFF (7), PITR_REPO, TA_TIMEZONE, PITR_CIPHER_PASS (instead of
#              the file)
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
# shellcheck source=ops/pitr.sh
. "$ROOT/ops/pitr.sh"
# shellcheck source=ops/backup-restore.sh
. "$ROOT/ops/backup-restore.sh"   # confirm

usage() {
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
}

PITR_DIR=$PG_STATE/backrest
PITR_CONF=$PITR_DIR/pgbackrest.conf
PITR_REPO=${PITR_REPO:-$PITR_DIR/repo}
PITR_DATA=$PGDATA PITR_SOCK=$PGSOCK PITR_PORT=$DB_PORT PITR_BIN=$PGBIN
PITR_RUNAS=
if [ "$(id -u)" = 0 ]; then PITR_RUNAS=postgres; fi
TA_DB=${TA_DB:-$DB_NAME}
pitr_cluster_stop() { pg_stop "$PGDATA"; }
pitr_cluster_start() { pg_start "$PGDATA" "$PGSOCK"; }
PITR_CIPHER_FILE=$PITR_DIR/cipher-pass
if [ -z "${PITR_CIPHER_PASS:-}" ]; then
    if [ ! -s "$PITR_CIPHER_FILE" ] && [ "${1:-}" = setup ]; then
        pitr_mkdir "$PITR_DIR"
        (umask 077 && head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=' > "$PITR_CIPHER_FILE.tmp" &&
            mv -- "$PITR_CIPHER_FILE.tmp" "$PITR_CIPHER_FILE")
        say "generated the passphrase of pgBackRest's repository: $PITR_CIPHER_FILE (keep a copy elsewhere)"
    fi
    PITR_CIPHER_PASS=$(cat -- "$PITR_CIPHER_FILE" 2>/dev/null || true)
fi

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
    setup)
        [ $# = 0 ] || { usage; exit 2; }
        pg_running || { pitr_fail "the stack is not running: make up"; exit 1; }
        { pitr_write_config && pitr_repo_ready --create; } || exit 1
        rc=0; pitr_enable_archiving || rc=$?
        if [ $rc = 3 ]; then
            say "restarting PostgreSQL to turn WAL archiving on (point-in-time recovery, ops/pitr.sh)"
            as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/postgresql.log" -m fast -w restart >/dev/null
        elif [ $rc != 0 ]; then
            exit 1
        fi
        rc=0; pitr_stanza || rc=$?
        if [ $rc = 4 ] || [ $rc = 5 ]; then
            # The cluster was made again (its folder removed), or the repository predates its encryption: the
            # earlier backups stay, beside the new ones.
            aside=$PITR_REPO.earlier-$(date +%Y%m%d-%H%M%S)
            mv -- "$PITR_REPO" "$aside"
            if [ $rc = 4 ]; then say "this cluster is a new one: the earlier cluster's repository is kept as $aside"
            else say "a new, encrypted repository: the earlier unencrypted one is kept as $aside"; fi
            pitr_stanza
        elif [ $rc != 0 ]; then
            exit 1
        fi
        pitr_backup_due ;;
    backup)
        { pitr_write_config && pitr_stanza; } || exit 1
        case ${1:-due} in
            due) pitr_backup_due ;;
            full|diff|incr) pitr_backup "$1" ;;
            *) usage; exit 2 ;;
        esac ;;
    restore)
        when='' YES=${YES:-0}
        for arg in "$@"; do
            case $arg in
                --yes|-y) YES=1 ;;
                -*) usage; pitr_fail "unknown option $arg"; exit 2 ;;
                *) [ -z "$when" ] || { usage; pitr_fail "one TIME only"; exit 2; }; when=$arg ;;
            esac
        done
        [ -n "$when" ] || { usage; pitr_fail "restore needs TIME ('YYYY-MM-DD HH:MM:SS') or latest"; exit 2; }
        pitr_write_config
        pitr_restore "$when" ;;
    status)
        [ $# = 0 ] || { usage; exit 2; }
        pitr_health ;;
    help|-h|--help) usage ;;
    *) usage; [ -z "$command" ] || pitr_fail "unknown command '$command'"; exit 2 ;;
esac
