#!/usr/bin/env bash
# ops/build.sh: the build steps that deploy-mikrus.sh runs on a VPS and the docker/ images run
# in their build stages, kept in one place so the two cannot drift apart.
#   ops/build.sh packages NAME   the Debian packages of a step (extension-build, proxy-build,
#                                proxy-runtime, server), one line
#   ops/build.sh extension       builds the extension and the plain-SQL install (make install
#                                installs the extension into PostgreSQL; run it as root)
#   ops/build.sh proxy DEST      builds the proxy and installs the binary into DEST
#   ops/build.sh notifier DEST   builds the reminder sender (notifier/) and installs it into DEST
#   ops/build.sh spa DEST        builds the SPA and copies it into DEST/web
#   ops/build.sh node            makes sure the SPA's tools find Node.js 20.19 or newer (see below)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The SPA's tools (Vite) need Node.js 20.19 or newer; Debian 12 and Ubuntu 24.04 ship 18. Where
# the system's is older, the official binary comes from the npm registry (package
# node-linux-<arch>) into the checkout's ignored .work/node/bin, which goes first on PATH for
# every build step here and for the local stack (stack/env.sh). The system's Node.js is untouched.
NODE_DIR=$ROOT/.work/node
NODE_MAJOR=22
if [ -x "$NODE_DIR/bin/node" ]; then PATH=$NODE_DIR/bin:$PATH; fi

node_new_enough() {
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

ensure_node() {
    node_new_enough && return 0
    local arch tmp
    case $(uname -m) in
        x86_64) arch=x64 ;;
        aarch64) arch=arm64 ;;
        *) echo "ops/build.sh: Node.js 20.19 or newer is needed to build the SPA; install it for $(uname -m)" >&2
           return 1 ;;
    esac
    echo "ops/build.sh: Node.js $(node -v 2>/dev/null || echo "(none)") is too old for the SPA's tools;" \
         "fetching Node.js $NODE_MAJOR (node-linux-$arch) from the npm registry into $NODE_DIR" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_MAJOR" >/dev/null)
    mkdir -p "$NODE_DIR"
    tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$NODE_DIR" --strip-components=1 package/bin/node
    rm -rf "$tmp"
    PATH=$NODE_DIR/bin:$PATH
    node_new_enough
}

packages() {
    case $1 in
        # PG_MAJOR: set by the postgres images; on a VPS the distribution's one version.
        extension-build) echo "make gcc libc6-dev postgresql-server-dev-${PG_MAJOR:-all}" ;;
        proxy-build)     echo "make gcc libc6-dev libpq-dev libmicrohttpd-dev libjansson-dev libjwt-dev pkg-config nodejs npm" ;;
        proxy-runtime)   echo "libpq5 libmicrohttpd12 libjansson4 libjwt0" ;;
        notifier-build)  echo "make gcc libc6-dev libpq-dev libcurl4-openssl-dev pkg-config" ;;
        notifier-runtime) echo "libpq5 libcurl4 ca-certificates" ;;
        spa-build)       echo "nodejs npm" ;;
        server)          echo "nginx postgresql-client gzip age curl ca-certificates git" ;;
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
    notifier)
        dest=${2:?destination folder}
        [ -f "$ROOT/notifier/Makefile" ] || { echo "ops/build.sh: notifier/ is not in this checkout" >&2; exit 1; }
        submake -C "$ROOT/notifier"
        install -D -m 755 "$ROOT/notifier/therapyassistance-notifier" "$dest/therapyassistance-notifier" ;;
    spa)
        dest=${2:?destination folder}
        [ -f "$ROOT/frontend/package.json" ] || { echo "ops/build.sh: frontend/ is not in this checkout" >&2; exit 1; }
        ensure_node
        (cd "$ROOT/frontend" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
        mkdir -p "$dest/web" && cp -a "$ROOT/frontend/dist/." "$dest/web/" ;;
    node) ensure_node ;;
    *) sed -n '2,11s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
