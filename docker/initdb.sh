#!/usr/bin/env bash
# docker-entrypoint-initdb.d step of docker/postgres.Dockerfile (runs once, on an empty volume,
# as the postgres superuser over the socket): the 1 GB settings, the owner and application
# roles, the database, the extension created by its owner, the JWT secret and the api grant.
# Runs natively too (the tests point PGHOST at the local cluster).
set -euo pipefail
: "${TA_OWNER_PASSWORD:?set TA_OWNER_PASSWORD}" "${TA_APP_PASSWORD:?set TA_APP_PASSWORD}" "${JWT_SECRET:?set JWT_SECRET}"
db=${TA_DB:-therapyassistance} owner=${TA_OWNER:-ta_owner} app=${TA_APP:-ta_app}

if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postgresql.conf" ] && [ -f /etc/postgresql/therapyassistance.conf ] &&
   ! grep -q therapyassistance.conf "$PGDATA/postgresql.conf"; then
    echo "include '/etc/postgresql/therapyassistance.conf'" >> "$PGDATA/postgresql.conf"
fi

psql -X -q -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" -d postgres \
     -v db="$db" -v owner="$owner" -v app="$app" -v owner_pw="$TA_OWNER_PASSWORD" -v app_pw="$TA_APP_PASSWORD" \
     -f "${TA_ROLES_SQL:-$(dirname "$0")/../ops/roles-and-database.sql}"
# The extension must be created by the owner (row-level security does not bind superusers).
psql -X -q -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" -d "$db" -v secret="$JWT_SECRET" \
     -v owner="$owner" -v app="$app" <<'SQL'
SET client_min_messages = warning;
SET ROLE :"owner";
CREATE EXTENSION IF NOT EXISTS therapyassistance CASCADE;
SELECT ta.configure(:'secret');
SELECT ta.grant_api(:'app');
SQL
# The notifier's role (docker compose --profile reminders): it may call only the notifier functions.
if [ -n "${TA_NOTIFIER_PASSWORD:-}" ]; then
    psql -X -q -v ON_ERROR_STOP=1 -U "${POSTGRES_USER:-postgres}" -d "$db" -v pw="$TA_NOTIFIER_PASSWORD" \
         -v owner="$owner" -v role="${TA_NOTIFIER:-ta_notifier}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pw')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SET ROLE :"owner";
SELECT ta.grant_notifier(:'role');
SQL
fi
