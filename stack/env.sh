# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Sourced by the stack scripts: where the local stack lives and how to reach it.
# Everything a run creates stays in $WORK (ignored by git).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$ROOT/.work}
# PG_STATE: the folders PostgreSQL itself writes (the cluster, its sockets, the replica, the pgBackRest
# repository). They are $WORK's unless PostgreSQL could not reach $WORK: as root, PostgreSQL runs as postgres, which
# cannot enter a checkout under /root (mode 700) or another user's home; and a socket's path may not be longer than
# 107 bytes. Then they live in /var/lib/therapyassistance/<checkout>-<hash of $WORK's path> (as a normal user, in
# ~/.local/state/therapyassistance/...), and $WORK/pgdata is a symbolic link to that cluster: the checkout says where
# its data is, and its own `make down`, `make up` and a move of the checkout keep finding it.
pg_state_outside() {
    local name
    name=$(printf %s "${ROOT##*/}" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-24)-$(printf %s "$WORK" | sha256sum | cut -c1-10)
    if [ "$(id -u)" = 0 ]; then
        echo "/var/lib/therapyassistance/$name"
    else
        echo "${XDG_STATE_HOME:-$HOME/.local/state}/therapyassistance/$name"
    fi
}
pg_reaches_work() {
    local d=$WORK
    [ $((${#WORK} + ${#DB_PORT} + 24)) -le 107 ] || return 1
    while [ ! -e "$d" ]; do d=$(dirname "$d"); done
    [ "$(id -u)" != 0 ] || (cd / && runuser -u postgres -- test -x "$d") 2>/dev/null
}
DB_PORT=${DB_PORT:-5433}
if [ -L "$WORK/pgdata" ]; then
    PG_STATE=$(dirname "$(readlink "$WORK/pgdata")")
elif [ -s "$WORK/pgdata/PG_VERSION" ] || pg_reaches_work; then
    PG_STATE=$WORK
else
    PG_STATE=$(pg_state_outside)
fi
PGDATA=$PG_STATE/pgdata
PGSOCK=$PG_STATE/run
PORT=${PORT:-8000}
WEB_PORT=${WEB_PORT:-8080}
TA_INSTALL=${TA_INSTALL:-extension}
DB_NAME=therapyassistance
DB_OWNER=ta_owner
DB_APP=ta_app
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
export PGHOST=$PGSOCK PGPORT=$DB_PORT
# A Node.js newer than the system's, when ops/build.sh had to fetch one for the SPA's tools.
if [ -x "$ROOT/.work/node/bin/node" ]; then PATH=$ROOT/.work/node/bin:$PATH; fi
# The database as the application (the proxy) reaches it.
DATABASE_URL="postgresql:///$DB_NAME?host=$PGSOCK&port=$DB_PORT&user=$DB_APP"
# The streaming replica of stack/replica.sh (make up REPLICA=1), and the same database on it.
REPLICA_DATA=$PG_STATE/replica
REPLICA_SOCK=$PG_STATE/run-replica
REPLICA_PORT=$((DB_PORT + 1))
DATABASE_READ_URL="postgresql:///$DB_NAME?host=$REPLICA_SOCK&port=$REPLICA_PORT&user=$DB_APP"

say() { printf '%s\n' "$*" >&2; }

# PostgreSQL refuses to run as root: as root, its programs run as the postgres user.
# From /: the current folder may be one postgres cannot enter (a checkout under /root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# psql as the cluster's superuser (named postgres whoever runs it).
psql_super() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U postgres "$@"; }

# cluster_running DATA, pg_stop DATA: whether the cluster in DATA runs; stop it. pg_running: the stack's.
cluster_running() { as_pg "$PGBIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null; }
pg_running() { cluster_running "$PGDATA"; }

# pg_start DATA SOCKETS: starts the cluster in DATA, its socket folder made (and given to postgres) first.
pg_start() {
    mkdir -p "$2"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$2"; fi
    as_pg "$PGBIN/pg_ctl" -D "$1" -l "$1/postgresql.log" -w -t 60 start >/dev/null
}

# The JWT secret: JWT_SECRET from the environment, else one generated once into $WORK.
jwt_secret() {
    if [ -n "${JWT_SECRET:-}" ]; then
        printf '%s' "$JWT_SECRET"
    else
        if [ ! -s "$WORK/jwt_secret" ]; then
            (umask 077; head -c 48 /dev/urandom | base64 -w0 | tr '+/' '-_' > "$WORK/jwt_secret")
        fi
        cat "$WORK/jwt_secret"
    fi
}
