#!/usr/bin/env bash
# make down: stops everything make up started. The data stays in $WORK.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

for part in nginx notifier proxy replica; do
    if [ -x "$ROOT/stack/$part.sh" ]; then "$ROOT/stack/$part.sh" stop; fi
done
if [ -s "$PGDATA/PG_VERSION" ] && pg_running; then
    pg_stop "$PGDATA"
    say "PostgreSQL stopped"
fi
