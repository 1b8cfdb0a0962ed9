#!/usr/bin/env bash
# stack/nginx.sh start|stop: nginx with the built SPA on $WEB_PORT, /api/ → the proxy on $PORT.
# nginx/local.sh does the work (and builds the SPA with npm ci when it is missing or stale).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"
export PORT WEB_PORT WORK_DIR=$WORK/nginx
exec "$ROOT/nginx/local.sh" "$@"
