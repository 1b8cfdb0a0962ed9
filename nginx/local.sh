#!/usr/bin/env bash
# The site as `make up` runs it: Debian's nginx as a plain process (not the system service)
# on 127.0.0.1:$WEB_PORT, serving frontend/dist and sending /api/ to the proxy on
# 127.0.0.1:$PORT, with site.conf exactly as production uses it, minus TLS.
#
#   nginx/local.sh start   build the SPA if stale, start nginx, return once it answers
#   nginx/local.sh stop    stop it
#   nginx/local.sh build   npm ci when node_modules is missing or older than the lockfile,
#                          npm run build when a source is newer than dist
#   nginx/local.sh check   nginx -t on the production file (therapyassistance.conf) with a
#                          throwaway certificate
#
# Config, pid, logs and temp dirs live in $WORK_DIR (default .work/nginx of the checkout).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK_DIR=${WORK_DIR:-$ROOT/.work/nginx}
WEB_PORT=${WEB_PORT:-8080}
PORT=${PORT:-8000}
NGINX=${NGINX:-/usr/sbin/nginx}
FRONTEND=$ROOT/frontend
DIST=$FRONTEND/dist
PIDFILE=$WORK_DIR/nginx.pid

say() { printf 'nginx/local.sh: %s\n' "$*" >&2; }

running() { [ -s "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

build() {
    cd "$FRONTEND"
    # npm ci rewrites node_modules/.package-lock.json, so it is as new as the last install.
    if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        npm ci --no-audit --no-fund
    fi
    if [ ! -f dist/index.html ] || [ -n "$(find src public index.html package.json package-lock.json \
            vite.config.ts tsconfig.json -newer dist/index.html -print -quit 2>/dev/null)" ]; then
        npm run build
    fi
}

# As root, nginx hands its workers to an unprivileged user who can read dist: the checkout's
# owner, or www-data when root owns the checkout. Only if neither can read it do they stay root.
worker_user() {
    local who
    who=$(stat -c %U "$ROOT")
    if [ "$who" = root ] && id www-data >/dev/null 2>&1 \
            && runuser -u www-data -- test -r "$DIST/index.html"; then
        who=www-data
    fi
    echo "user $who $(id -gn "$who");"
}

# The rate-limit zones nginx/site.conf uses, as the production file defines them.
rate_zones() { sed -n 's/^limit_req_zone /    &/p' "$ROOT/nginx/therapyassistance.conf"; }

# The local nginx.conf, on stdout (paths quoted: the checkout's may hold spaces).
local_config() {
    if [ "$(id -u)" = 0 ]; then
        worker_user
    fi
    cat <<CONF
worker_processes 1;
pid "$PIDFILE";
error_log "$WORK_DIR/error.log" warn;
events { worker_connections 256; }
http {
    access_log "$WORK_DIR/access.log";
    client_body_temp_path "$WORK_DIR/tmp/body";
    proxy_temp_path "$WORK_DIR/tmp/proxy";
    fastcgi_temp_path "$WORK_DIR/tmp/fastcgi";
    uwsgi_temp_path "$WORK_DIR/tmp/uwsgi";
    scgi_temp_path "$WORK_DIR/tmp/scgi";
$(rate_zones)
    upstream ta_proxy {
        server 127.0.0.1:$PORT;
        # Idle connections kept to the proxy: more than the concurrent requests of a busy practice (16 in a
        # page's burst), or nginx opens and closes one per request beyond them; closed before the proxy's own
        # idle timeout (PROXY_CONNECTION_TIMEOUT, 30 s) so nginx never reuses one the proxy is closing.
        keepalive 32;
        keepalive_timeout 25s;
    }
    server {
        listen 127.0.0.1:$WEB_PORT;
        server_name localhost;
        root "$DIST";
        include therapyassistance/site.conf;
    }
}
CONF
}

answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$WEB_PORT/"; }

start() {
    build
    mkdir -p "$WORK_DIR/tmp"
    ln -sfn "$ROOT/nginx" "$WORK_DIR/therapyassistance"
    local conf=$WORK_DIR/nginx.conf next
    next=$(local_config)
    if running; then
        if [ "$next" = "$(cat "$conf")" ]; then
            return 0
        fi
        printf '%s\n' "$next" > "$conf"
        "$NGINX" -t -q -p "$WORK_DIR" -c "$conf" -e "$WORK_DIR/error.log"
        kill -HUP "$(cat "$PIDFILE")"
    else
        printf '%s\n' "$next" > "$conf"
        "$NGINX" -p "$WORK_DIR" -c "$conf" -e "$WORK_DIR/error.log"
    fi
    for _ in $(seq 50); do
        if answers; then
            say "SPA on http://127.0.0.1:$WEB_PORT/ (API: /api/ → 127.0.0.1:$PORT)"
            return 0
        fi
        sleep 0.1
    done
    say "nginx does not answer on 127.0.0.1:$WEB_PORT; $WORK_DIR/error.log says:"
    tail -n 20 "$WORK_DIR/error.log" >&2 || true
    exit 1
}

stop() {
    running || { rm -f "$PIDFILE"; return 0; }
    local pid
    pid=$(cat "$PIDFILE")
    kill -QUIT "$pid"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "nginx (pid $pid) did not stop"
    exit 1
}

# nginx -t on the production server block, with its certificate paths pointed at a
# self-signed pair made for the check.
check() {
    local dir=$WORK_DIR/check
    mkdir -p "$dir/therapyassistance" "$dir/tls"
    if [ ! -s "$dir/tls/privkey.pem" ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=therapyassistance.example \
            -keyout "$dir/tls/privkey.pem" -out "$dir/tls/fullchain.pem" 2>/dev/null
    fi
    cp "$ROOT"/nginx/*.conf "$dir/therapyassistance/"
    sed -i "s|/etc/letsencrypt/live/therapyassistance.example/|$dir/tls/|" "$dir/therapyassistance/therapyassistance.conf"
    cat > "$dir/nginx.conf" <<CONF
pid $dir/nginx.pid;
events {}
http { include therapyassistance/therapyassistance.conf; }
CONF
    "$NGINX" -t -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    build) build ;;
    check) check ;;
    *) echo "usage: $0 start|stop|build|check" >&2; exit 2 ;;
esac
