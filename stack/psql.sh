#!/usr/bin/env bash
# make psql: psql on the local database as its owner (SQL on standard input works too).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

pg_running || { say "the stack is not running: make up"; exit 1; }
exec "$PGBIN/psql" -X -U "$DB_OWNER" -d "$DB_NAME" "$@"
