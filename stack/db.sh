#!/usr/bin/env bash
# Starts the local PostgreSQL cluster in $WORK and makes sure the application
# database exists, installed (extension or fallback), configured and seeded.
# Running it again on a running stack changes nothing.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

mkdir -p "$WORK"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    say "creating a PostgreSQL cluster in $PGDATA"
    mkdir -p "$PGDATA" "$PGSOCK"
    if [ "$PG_STATE" != "$WORK" ]; then
        # Out of the checkout (stack/env.sh says why): the checkout links to it, the folder names its checkout.
        printf '%s\n' "$ROOT" > "$PG_STATE/checkout"
        # (the empty folders an earlier initdb left there, when it failed on this very problem, go first)
        rmdir "$WORK/pgdata" "$WORK/run" 2>/dev/null || true
        ln -sfn "$PGDATA" "$WORK/pgdata"
        say "(PostgreSQL cannot reach $WORK: the cluster's folders are in $PG_STATE, linked from $WORK/pgdata)"
    fi
    [ "$(id -u)" = 0 ] && chown postgres: "$PGDATA" "$PGSOCK"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
    cat >> "$PGDATA/postgresql.conf" <<CONF
# therapyassistance local stack: socket only, inside the project's work folder
listen_addresses = ''
unix_socket_directories = '$PGSOCK'
unix_socket_permissions = 0770
port = $DB_PORT
max_connections = 100
logging_collector = off
lc_messages = 'C'
timezone = 'Europe/Warsaw'
CONF
fi
if ! pg_running; then
    pg_start "$PGDATA" "$PGSOCK"
    say "PostgreSQL running on socket $PGSOCK (port $DB_PORT)"
fi

# Roles: the owner owns the database and everything in it; the application may only
# call the api functions.
psql_super -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['$DB_OWNER', '$DB_APP']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
"$ROOT/stack/install-db.sh" "$DB_NAME" "$DB_OWNER" "$DB_APP" "$(jwt_secret)"

seeded=$(psql_super -d "$DB_NAME" -tA -c "SELECT count(*) FROM ta.users WHERE email = 'terapeuta@example.com'")
if [ "$seeded" = 0 ]; then
    say "seeding the demo practice (terapeuta@example.com / haslo123)"
    psql_super -d "$DB_NAME" -f "$ROOT/stack/seed.sql" >/dev/null
fi
