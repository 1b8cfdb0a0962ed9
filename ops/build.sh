#!/usr/bin/env bash
# ops/build.sh: the build steps that deploy-mikrus.sh runs on a VPS and the docker/ images run
# in their build stages, kept in one place so the two cannot drift apart.
#   ops/build.sh packages NAME   the Debian packages of a step (extension-build, proxy-build,
#                                proxy-runtime, server), one line
#   ops/build.sh extension       builds the extension and the plain-SQL install (make install
#                                installs the extension into PostgreSQL; run it as root)
#   ops/build.sh proxy DEST      builds the proxy and installs the binary into DEST
#   ops/build.sh spa DEST        builds the SPA and copies it into DEST/web
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

packages() {
    case $1 in
        # PG_MAJOR: set by the postgres images; on a VPS the distribution's one version.
        extension-build) echo "make gcc libc6-dev postgresql-server-dev-${PG_MAJOR:-all}" ;;
        proxy-build)     echo "make gcc libc6-dev libpq-dev libmicrohttpd-dev libjansson-dev libjwt-dev pkg-config nodejs npm" ;;
        proxy-runtime)   echo "libpq5 libmicrohttpd12 libjansson4 libjwt0" ;;
        spa-build)       echo "nodejs npm" ;;
        server)          echo "nginx postgresql-client gzip curl ca-certificates git" ;;
        *) echo "ops/build.sh: unknown package set '$1'" >&2; return 2 ;;
    esac
}

# A clean environment for make: a calling make's variables must not reach PGXS.
submake() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s "$@"; }

case ${1:-} in
    packages) packages "${2:?package set}" ;;
    extension) submake -C "$ROOT" all fallback-sql ;;
    proxy)
        dest=${2:?destination folder}
        [ -f "$ROOT/proxy/Makefile" ] || { echo "ops/build.sh: proxy/ is not in this checkout" >&2; exit 1; }
        submake -C "$ROOT/proxy"
        install -D -m 755 "$ROOT/proxy/therapyassistance-proxy" "$dest/therapyassistance-proxy" ;;
    spa)
        dest=${2:?destination folder}
        [ -f "$ROOT/frontend/package.json" ] || { echo "ops/build.sh: frontend/ is not in this checkout" >&2; exit 1; }
        (cd "$ROOT/frontend" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
        mkdir -p "$dest/web" && cp -a "$ROOT/frontend/dist/." "$dest/web/" ;;
    *) sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
