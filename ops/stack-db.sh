#!/usr/bin/env bash
# ops/stack-db.sh backup | restore [FILE] [--yes] | list: backup and restore of the local
# stack's database (`make backup`, `make restore FILE=...`), with the code deploy-mikrus.sh
# uses (ops/backup-restore.sh). Backups go to $BACKUP_DIR (default .work/backups).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
# shellcheck source=ops/backup-restore.sh
. "$ROOT/ops/backup-restore.sh"

usage() {
    cat >&2 <<'USAGE'
usage: ops/stack-db.sh backup             back up the database; prints the file's path last
       ops/stack-db.sh list               the backups, newest first
       ops/stack-db.sh restore [FILE] [--yes]
                                          restore FILE (without it: list the backups); asks
                                          for confirmation unless --yes
environment: BACKUP_DIR (default .work/backups), BACKUP_KEEP (14), BACKUP_COPY_DIR, TA_DB
USAGE
}

TA_DB=${TA_DB:-$DB_NAME} TA_OWNER=${TA_OWNER:-$DB_OWNER} TA_APP=${TA_APP:-$DB_APP}
TA_ADMIN=${TA_ADMIN-postgres}
BACKUP_DIR=${BACKUP_DIR:-$WORK/backups}

command=${1:-}
[ $# -gt 0 ] && shift
YES=0 file=
for arg in "$@"; do
    case $arg in
        --yes|-y) YES=1 ;;
        -*) usage; fail "unknown option $arg"; exit 2 ;;
        *) [ -z "$file" ] || { usage; fail "one FILE only"; exit 2; }; file=$arg ;;
    esac
done

case $command in
    backup|list)
        if [ -n "$file" ] || [ $YES = 1 ]; then usage; exit 2; fi ;;
    restore) ;;
    help|-h|--help) usage; exit 0 ;;
    *) usage; [ -z "$command" ] || fail "unknown command '$command'"; exit 2 ;;
esac

pg_running || { fail "the stack is not running: make up"; exit 1; }
case $command in
    backup) backup_create ;;
    list) backup_list ;;
    restore)
        if [ -z "$file" ]; then
            backup_list
            note "choose one: make restore FILE=<path>"
            exit 0
        fi
        JWT_SECRET=$(jwt_secret)
        restore_run "$file" ;;
esac
