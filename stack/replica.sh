#!/usr/bin/env bash
# stack/replica.sh start|stop: a streaming replica of the local cluster (`make up REPLICA=1`): a hot standby in
# $REPLICA_DATA on port DB_PORT+1 (Unix socket only; stack/env.sh names them), made once with pg_basebackup and
# following the primary through replication slot ta_replica (so a stopped replica catches up when started again).
# The local proxy reads from it (DB_READ_URL) while it runs; bench/README.md, *Scaling out*, says how.
#   stack/replica.sh status: exit 0 when it runs; remove: stop it, drop its slot and delete its files
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

SLOT=ta_replica

running() { [ -s "$REPLICA_DATA/PG_VERSION" ] && cluster_running "$REPLICA_DATA"; }

case "${1:-}" in
start)
    pg_running || { say "the primary is not running: make up first"; exit 1; }
    # The slot keeps the WAL the replica has not received yet, while it is stopped too, but never more than
    # this: a replica left behind for good must not fill the primary's disk (it is then made again below).
    psql_super -d postgres -c "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'" -c "SELECT pg_reload_conf()" >/dev/null
    slot=$(psql_super -d postgres -tA -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'")
    if [ -s "$REPLICA_DATA/PG_VERSION" ] && { [ -z "$slot" ] || [ "$slot" = lost ]; }; then
        say "the replica has lost the primary's WAL it still needed: making it again"
        if running; then pg_stop "$REPLICA_DATA"; fi
        rm -rf "$REPLICA_DATA"
    fi
    if [ ! -s "$REPLICA_DATA/PG_VERSION" ]; then
        say "making a streaming replica in $REPLICA_DATA (pg_basebackup of the primary)"
        mkdir -p "$REPLICA_DATA" "$REPLICA_SOCK"
        chmod 700 "$REPLICA_DATA"
        [ "$(id -u)" = 0 ] && chown postgres: "$REPLICA_DATA" "$REPLICA_SOCK"
        psql_super -d postgres -tA -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots
                                        WHERE slot_name = '$SLOT'" >/dev/null
        # -R writes primary_conninfo (this socket and port), primary_slot_name and standby.signal.
        as_pg "$PGBIN/pg_basebackup" -h "$PGSOCK" -p "$DB_PORT" -U postgres -D "$REPLICA_DATA" -X stream -R -c fast \
            -C -S "$SLOT"
        cat >>"$REPLICA_DATA/postgresql.conf" <<CONF
# the replica of stack/replica.sh: its own socket and port
port = $REPLICA_PORT
unix_socket_directories = '$REPLICA_SOCK'
hot_standby = on
hot_standby_feedback = on
CONF
    fi
    running || pg_start "$REPLICA_DATA" "$REPLICA_SOCK"
    say "replica streaming from the primary on socket $REPLICA_SOCK (port $REPLICA_PORT)"
    ;;
stop)
    if running; then
        pg_stop "$REPLICA_DATA"
        say "replica stopped"
    fi
    ;;
status)
    running
    ;;
remove)
    # Gone for good: stopped, its slot dropped (the primary keeps no WAL for it any more), its files deleted.
    if running; then pg_stop "$REPLICA_DATA"; fi
    if pg_running; then
        psql_super -d postgres -tA -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots
                                        WHERE slot_name = '$SLOT'" >/dev/null
    fi
    rm -rf "$REPLICA_DATA" "$REPLICA_SOCK"
    ;;
*)
    say "usage: $0 start|stop|status|remove"
    exit 2
    ;;
esac
