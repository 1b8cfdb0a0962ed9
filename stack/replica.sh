#!/usr/bin/env bash
# stack/replica.sh start|stop: a streaming replica of the local cluster (`make up REPLICA=1`): a hot standby in
# $WORK/replica on port DB_PORT+1 (Unix socket $WORK/run-replica, no TCP), made once with pg_basebackup and
# following the primary through replication slot ta_replica (so a stopped replica catches up when started again).
# The local proxy reads from it (DB_READ_URL) while it runs; bench/README.md, *Scaling out*, says how.
#   stack/replica.sh status: exit 0 when it runs; remove: stop it, drop its slot and delete its files
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

RDATA=$WORK/replica
RSOCK=$WORK/run-replica
RPORT=$((DB_PORT + 1))
SLOT=ta_replica

running() { [ -s "$RDATA/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$RDATA" status >/dev/null 2>&1; }

case "${1:-}" in
start)
    pg_running || { say "the primary is not running: make up first"; exit 1; }
    # The slot keeps the WAL the replica has not received yet, while it is stopped too, but never more than
    # this: a replica left behind for good must not fill the primary's disk (it is then made again below).
    psql_super -d postgres -c "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'" -c "SELECT pg_reload_conf()" >/dev/null
    slot=$(psql_super -d postgres -tA -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'")
    if [ -s "$RDATA/PG_VERSION" ] && { [ -z "$slot" ] || [ "$slot" = lost ]; }; then
        say "the replica has lost the primary's WAL it still needed: making it again"
        if running; then as_pg "$PGBIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null; fi
        rm -rf "$RDATA"
    fi
    if [ ! -s "$RDATA/PG_VERSION" ]; then
        say "making a streaming replica in $RDATA (pg_basebackup of the primary)"
        mkdir -p "$RDATA" "$RSOCK"
        chmod 700 "$RDATA"
        [ "$(id -u)" = 0 ] && chown postgres: "$RDATA" "$RSOCK"
        psql_super -d postgres -tA -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots
                                        WHERE slot_name = '$SLOT'" >/dev/null
        # -R writes primary_conninfo (this socket and port), primary_slot_name and standby.signal.
        as_pg "$PGBIN/pg_basebackup" -h "$PGSOCK" -p "$DB_PORT" -U postgres -D "$RDATA" -X stream -R -c fast \
            -C -S "$SLOT"
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
status)
    running
    ;;
remove)
    # Gone for good: stopped, its slot dropped (the primary keeps no WAL for it any more), its files deleted.
    if running; then as_pg "$PGBIN/pg_ctl" -D "$RDATA" -m fast -w stop >/dev/null; fi
    if pg_running; then
        psql_super -d postgres -tA -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots
                                        WHERE slot_name = '$SLOT'" >/dev/null
    fi
    rm -rf "$RDATA" "$RSOCK"
    ;;
*)
    say "usage: $0 start|stop|status|remove"
    exit 2
    ;;
esac
