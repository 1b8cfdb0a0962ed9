#!/usr/bin/env bash
# stack/notifier.sh start|stop: the reminder sender (notifier/) against the local database, as
# the notifier role. start does nothing unless SMTP_URL or SMSAPI_TOKEN is set (see README,
# Reminders); it restarts the notifier when it was rebuilt or its settings changed.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

PIDFILE=$WORK/notifier.pid
LOG=$WORK/notifier.log
BIN=$ROOT/notifier/therapyassistance-notifier

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
# What it was started with, secrets only as a hash (the file is mode 600 anyway).
settings() {
    printf '%s\n' "${SMTP_URL:-}" "${MAIL_FROM:-}" "${APP_URL:-}" "${SMSAPI_TOKEN:-}" "${SMSAPI_URL:-}" \
        "${SMSAPI_FROM:-}" | sha256sum | cut -d' ' -f1
}

case "${1:-}" in
start)
    if [ -z "${SMTP_URL:-}" ] && [ -z "${SMSAPI_TOKEN:-}" ]; then
        if running; then "$0" stop; fi
        exit 0
    fi
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT/notifier" all >/dev/null
    if running; then
        if [ ! "$BIN" -nt "$PIDFILE" ] && [ "$(settings)" = "$(cat "$WORK/notifier.settings" 2>/dev/null)" ]; then
            exit 0
        fi
        say "the notifier was rebuilt or its settings changed: restarting it"
        "$0" stop
    fi
    mkdir -p "$WORK"
    (umask 077; settings >"$WORK/notifier.settings")
    NOTIFIER_DATABASE_URL=$NOTIFIER_DATABASE_URL APP_URL=${APP_URL:-http://127.0.0.1:$WEB_PORT} \
        MAIL_FROM=${MAIL_FROM:-} SMTP_URL=${SMTP_URL:-} SMSAPI_TOKEN=${SMSAPI_TOKEN:-} \
        SMSAPI_URL=${SMSAPI_URL:-} SMSAPI_FROM=${SMSAPI_FROM:-} \
        nohup "$BIN" >>"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
    # up when it has connected (its log says so) and is still running
    for _ in $(seq 100); do
        running || break
        if tail -n 20 "$LOG" | grep -q 'notifier: connected'; then
            say "notifier sending reminders (log $LOG)"
            exit 0
        fi
        sleep 0.1
    done
    say "the notifier did not start; see $LOG"
    tail -5 "$LOG" >&2
    exit 1
    ;;
stop)
    if running; then
        kill -TERM "$(cat "$PIDFILE")"
        for _ in $(seq 350); do running || break; sleep 0.1; done
        say "notifier stopped"
    fi
    rm -f "$PIDFILE"
    ;;
*)
    say "usage: $0 start|stop"
    exit 2
    ;;
esac
