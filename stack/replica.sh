#!/usr/bin/env bash
# stack/replica.sh start|stop: a streaming replica of the local cluster (`make up REPLICA=1`): a hot standby in
# $WORK/replica on port DB_PORT+1 (Unix socket $WORK/run-replica, no TCP), made once with pg_basebackup and
# following the primary from then on. Read-only: the proxy does not use it unless told to (see bench/README.md).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

RDATA=$WORK/replica
RSOCK=$WORK/run-replica
RPORT=$((DB_PORT + 1))

running() { [ -s "$RDATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$RDATA" status >/dev/null 2>&1; }

case "${1:-}" in
start)
    pg_running || { say "the primary is not running: make up first"; exit 1; }
    if [ ! -s "$RDATA/PG_VERSION" ]; then
        say "making a streaming replica in $RDATA (pg_basebackup of the primary)"
        mkdir -p "$RDATA" "$RSOCK"
        chmod 700 "$RDATA"
        [ "$(id -u)" = 0 ] && chown postgres: "$RDATA" "$RSOCK"
        # -R writes primary_conninfo (this socket and port) and standby.signal.
        as_pg "$PGBIN/pg_basebackup" -h "$PGSOCK" -p "$DB_PORT" -U postgres -D "$RDATA" -X stream -R -c fast
        cat >>"$RDATA/postgresql.conf" <<CONF
# the replica of stack/replica.sh: its own socket and port
port = $RPORT
unix_socket_directories = '$RSOCK'
hot_standby = on
hot_standby_feedback = on
CONF
    fi
    running || pg_start "$RDATA" "$RSOCK"
    say "replica streaming from the primary on socket $RSOCK (port $RPORT)"
    ;;
stop)
    if running; then
        as_pg "$PGBIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null
        say "replica stopped"
    fi
    ;;
*)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
