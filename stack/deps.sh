#!/usr/bin/env bash
# stack/deps.sh [bench]: installs the Debian packages the stack and its tests need (with bench: and make bench's
# tools), only those missing.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

packages=(make gcc postgresql-15 postgresql-server-dev-15 libpq-dev
          libmicrohttpd-dev libjansson-dev libjwt-dev check pkg-config
          nginx chromium curl ca-certificates
          bats shellcheck docker-compose openssl systemd pgbackrest jq age
          clang libclang-rt-14-dev
          libcurl4-openssl-dev python3-aiosmtpd)
command -v node >/dev/null || packages+=(nodejs npm)
if [ "${1:-}" = bench ]; then packages+=(wrk hey pgbouncer linux-perf); fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        say "missing Debian packages: ${missing[*]}"
        say "install them with: sudo apt-get install -y ${missing[*]}"
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a system cluster, nginx and pgbouncer on install; ours run from $WORK instead.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now nginx pgbouncer >/dev/null 2>&1 || true
    fi
fi
# Debian 12's Node.js is too old for the SPA's tools: ops/build.sh fetches a newer one if so.
exec "$ROOT/ops/build.sh" node
