#!/usr/bin/env bash
# The compose file's one-shot `schema` service (the PostgreSQL image, run once before the proxy
# starts): upgrades the database's extension to the version this image ships, as its owner, in
# one transaction; a database newer than the image is refused and the proxy does not start.
# Runs natively too (the tests point PGHOST at the local cluster). libpq's PG* variables say
# where: PGHOST, PGDATABASE, PGUSER (the owner role), PGPASSWORD.
set -euo pipefail
q() { psql -X -q -tA -v ON_ERROR_STOP=1 "$@"; }
for _ in $(seq 60); do pg_isready -q && break; sleep 1; done
have=$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'therapyassistance'")
need=$(q -c "SELECT default_version FROM pg_available_extensions WHERE name = 'therapyassistance'")
[ -n "$have" ] || { echo "schema: therapyassistance is not installed in ${PGDATABASE:-the database}" >&2; exit 1; }
if [ "$have" = "$need" ]; then
    echo "schema: $have, as this image ships"
elif [ "$(printf '%s\n' "$have" "$need" | sort -V | tail -n 1)" = "$have" ]; then
    echo "schema: the database holds $have, newer than this image's $need: nothing was changed" >&2
    exit 1
else
    echo "schema: upgrading from $have to $need, in one transaction"
    q -c "ALTER EXTENSION therapyassistance UPDATE TO '$need'" ||
        { echo "schema: the upgrade failed (see above): the database still holds $have, unchanged" >&2; exit 1; }
    echo "schema: $need"
fi
