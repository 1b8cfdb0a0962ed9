#!/usr/bin/env bash
# stack/proxy.sh start|stop: the C REST proxy on $PORT against the local database.
# start builds it, starts it in the background (restarts it when the build is newer than the
# running process) and waits for /health; stop sends SIGTERM (in-flight requests finish).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

PIDFILE=$WORK/proxy.pid
LOG=$WORK/proxy.log

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
start)
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT/proxy" all >/dev/null
    # With the replica of make up REPLICA=1 running, reads go to it (bench/README.md, *Scaling out*).
    read_url=
    if "$ROOT/stack/replica.sh" status; then read_url=$DATABASE_READ_URL; fi
    if running; then
        # Still the binary and the replica it was started with: nothing to do. Otherwise it is replaced.
        if [ ! "$ROOT/proxy/therapyassistance-proxy" -nt "$PIDFILE" ] &&
           [ "$read_url" = "$(cat "$WORK/proxy.read_url" 2>/dev/null)" ]; then
            exit 0
        fi
        say "the proxy was rebuilt or the replica came or went: restarting it"
        "$0" stop
    fi
    mkdir -p "$WORK"
    printf '%s' "$read_url" >"$WORK/proxy.read_url"
    DATABASE_URL=$DATABASE_URL DB_READ_URL=$read_url JWT_SECRET=$(jwt_secret) PORT=$PORT \
        ALLOWED_ORIGINS=${ALLOWED_ORIGINS:-http://localhost:$WEB_PORT,http://127.0.0.1:$WEB_PORT} \
        PROXY_ENV_FILE=/dev/null nohup "$ROOT/proxy/therapyassistance-proxy" >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    for _ in $(seq 100); do
        if curl -fs "http://127.0.0.1:$PORT/health" >/dev/null; then
            say "proxy answering on http://127.0.0.1:$PORT (log $LOG)"
            exit 0
        fi
        running || break
        sleep 0.1
    done
    say "the proxy did not become healthy; see $LOG"
    tail -5 "$LOG" >&2
    exit 1
    ;;
stop)
    if running; then
        kill -TERM "$(cat "$PIDFILE")"
        for _ in $(seq 150); do running || break; sleep 0.1; done
        say "proxy stopped"
    fi
    rm -f "$PIDFILE"
    ;;
*)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
