#!/usr/bin/env bash
# make up: installs what is missing, builds, and starts the local stack (PostgreSQL,
# then the proxy and nginx with the SPA when they are part of the checkout).
# Returns when everything answers; running it again changes nothing.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

"$ROOT/stack/deps.sh"
# A clean environment for the sub-make: PGXS must not see `make up`'s variables.
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT" all fallback-sql >/dev/null
# The extension's files go into PostgreSQL's directories (root's), only when they changed.
installed() {
    local f
    cmp -s "$ROOT/therapyassistance.so" "$(pg_config --pkglibdir)/therapyassistance.so" || return 1
    for f in $(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT" --no-print-directory extension-files); do
        cmp -s "$ROOT/$f" "$(pg_config --sharedir)/extension/$(basename "$f")" || return 1
    done
}
if [ "$TA_INSTALL" = extension ] && ! installed; then
    if [ "$(id -u)" = 0 ]; then
        env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT" install >/dev/null
    else
        say "the extension's files need installing as root: sudo make install, then make up again"
        exit 1
    fi
fi
"$ROOT/stack/db.sh"
# Point-in-time recovery: WAL archived into pgBackRest's repository, a full backup weekly, a differential daily.
"$ROOT/ops/stack-pitr.sh" setup
# make up REPLICA=1: a streaming replica next to it, which the proxy then reads from.
if [ "${REPLICA:-0}" = 1 ]; then "$ROOT/stack/replica.sh" start; fi
for part in proxy nginx; do
    if [ -x "$ROOT/stack/$part.sh" ]; then "$ROOT/stack/$part.sh" start; fi
done
say "database: make psql (socket $PGSOCK, database $DB_NAME, install: $TA_INSTALL)"
