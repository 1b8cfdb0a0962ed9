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
if [ "$PG_STATE" != "$WORK" ] && [ ! -L "$WORK/pgdata" ]; then
    # Out of the checkout (stack/env.sh says why): the checkout links to it, the folder names its checkout; made
    # again when .work went and the cluster stayed.
    printf '%s\n' "$ROOT" > "$PG_STATE/checkout"
    # (the empty folders an earlier initdb left there, when it failed on this very problem, go first)
    rmdir "$WORK/pgdata" "$WORK/run" 2>/dev/null || true
    ln -sfn "$PGDATA" "$WORK/pgdata"
    say "(PostgreSQL cannot reach $WORK: the cluster's folders are in $PG_STATE, linked from $WORK/pgdata)"
fi
# The extension's audit writer (extension/audit_writer.c) needs the library preloaded and
# therapyassistance.audit_defer on (the local cluster, so make test runs the regress suite on it);
# without them every read writes its own audit row. Only once it is installed: PostgreSQL refuses to start
# without a preloaded library. A running cluster takes it at its next start.
if [ -f "$(pg_config --pkglibdir)/therapyassistance.so" ] && ! grep -q '^shared_preload_libraries' "$PGDATA/postgresql.conf"; then
    printf '%s\n' "shared_preload_libraries = 'therapyassistance'" "therapyassistance.audit_defer = on" >> "$PGDATA/postgresql.conf"
fi
# DB_PORT may differ from the port the cluster was made with: the configuration follows it, and a cluster
# running on another port is restarted on this one.
if ! grep -qx "port = $DB_PORT" "$PGDATA/postgresql.conf"; then
    sed -i "s/^port = .*/port = $DB_PORT/" "$PGDATA/postgresql.conf"
    if pg_running; then pg_stop "$PGDATA"; fi
fi
if ! pg_running; then
    pg_start "$PGDATA" "$PGSOCK"
    say "PostgreSQL running on socket $PGSOCK (port $DB_PORT)"
fi
# Never the values of a statement's parameters in the server log, slow or failed (passwords,
# notes): set on every start, so clusters made before this line get it too (ops/tests/logs.bats).
psql_super -d postgres -tA <<'SQL' >/dev/null
SELECT format('ALTER SYSTEM SET %I = 0', name) FROM pg_settings
 WHERE name IN ('log_parameter_max_length', 'log_parameter_max_length_on_error') AND setting <> '0' \gexec
SELECT pg_reload_conf();
SQL

# Roles: the owner owns the database and everything in it; the application may only
# call the api functions.
psql_super -d postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['$DB_OWNER', '$DB_APP', '$DB_NOTIFIER']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_OWNER')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \gexec
SQL
"$ROOT/stack/install-db.sh" "$DB_NAME" "$DB_OWNER" "$DB_APP" "$(jwt_secret)"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$DB_OWNER" -d "$DB_NAME" \
    -c "SELECT ta.grant_notifier('$DB_NOTIFIER')" >/dev/null

seeded=$(psql_super -d "$DB_NAME" -tA -c "SELECT count(*) FROM ta.users WHERE email = 'terapeuta@example.com'")
if [ "$seeded" = 0 ]; then
    say "seeding the demo practice (terapeuta@example.com / haslo123)"
    psql_super -d "$DB_NAME" -f "$ROOT/stack/seed.sql" >/dev/null
fi
