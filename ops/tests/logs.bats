#!/usr/bin/env bats
# Nothing secret in the server log. A throwaway PostgreSQL runs with the configuration we ship
# (ops/postgresql-1gb.conf, which docker/ and deploy-mikrus.sh use), every statement of the
# application role counted as slow (log_min_duration_statement = 0 for it: "slow" without
# waiting), and the real proxy in front: a login, a failed login, a password change refused
# with an error, and a session note leave their text in no line of the log, while the log does
# hold the statements (so the test can fail). The same with log_parameter_max_length at its
# default (-1) shows the passwords: what the setting protects against.

setup_file() {
    load helpers
    # In the project's work folder: the postgres user cannot reach bats' own temporary folder.
    export LOGS_WORK=$WORK/logs-test
    if [ -f "$LOGS_WORK/data/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$LOGS_WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$LOGS_WORK"
    export LOGS_SOCK=$LOGS_WORK/run LOGS_PORT=5599
    export LOGS_OWNER=logs_test_owner LOGS_APP=logs_test_app
    mkdir -p "$LOGS_WORK/data" "$LOGS_SOCK"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$LOGS_WORK"; fi
    as_pg "$PGBIN/initdb" -D "$LOGS_WORK/data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >/dev/null
    cp "$ROOT/ops/postgresql-1gb.conf" "$LOGS_WORK/data/therapyassistance.conf"
    cat >>"$LOGS_WORK/data/postgresql.conf" <<CONF
include 'therapyassistance.conf'
listen_addresses = ''
unix_socket_directories = '$LOGS_SOCK'
port = $LOGS_PORT
logging_collector = off
lc_messages = 'C'
CONF
    if [ "$(id -u)" = 0 ]; then chown postgres: "$LOGS_WORK/data/therapyassistance.conf"; fi
    as_pg "$PGBIN/pg_ctl" -D "$LOGS_WORK/data" -l "$LOGS_WORK/server.log" -w -t 60 start >/dev/null
    logs_psql -d postgres <<SQL
CREATE ROLE $LOGS_OWNER LOGIN;
CREATE ROLE $LOGS_APP LOGIN;
CREATE DATABASE therapyassistance OWNER $LOGS_OWNER;
ALTER ROLE $LOGS_APP SET log_min_duration_statement = 0;
SQL
    WORK=$LOGS_WORK DB_PORT=$LOGS_PORT PGHOST=$LOGS_SOCK PGPORT=$LOGS_PORT \
        "$ROOT/stack/install-db.sh" therapyassistance "$LOGS_OWNER" "$LOGS_APP" "$JWT_SECRET" >/dev/null
    [ -x "$ROOT/proxy/therapyassistance-proxy" ] || make -s -C "$ROOT/proxy" >/dev/null
}

setup() {
    load helpers
}

teardown_file() {
    load helpers
    as_pg "$PGBIN/pg_ctl" -D "$LOGS_WORK/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$LOGS_WORK"
}

logs_psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$LOGS_SOCK" -p "$LOGS_PORT" -U postgres "$@"; }

# with_proxy CMD...: runs CMD with the proxy listening on $PROXY_URL, against the throwaway cluster.
with_proxy() {
    local port pid rc=0
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    DATABASE_URL="postgresql:///therapyassistance?host=$LOGS_SOCK&port=$LOGS_PORT&user=$LOGS_APP" \
        PORT=$port LISTEN_ADDRESS=127.0.0.1 PROXY_ENV_FILE=/dev/null "$ROOT/proxy/therapyassistance-proxy" \
        >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    PROXY_URL=http://127.0.0.1:$port "$@" || rc=$?
    kill "$pid"; wait "$pid" || true
    return $rc
}

# requests SECRET...: a registration and login with SECRET[0] as the password, a wrong password
# (SECRET[1]), a refused password change to SECRET[2] (too short: an error, logged as one) and a
# note whose text is SECRET[3].
requests() {
    local email token
    email="logi-$RANDOM$RANDOM@example.com"
    curl -fsS -H 'Content-Type: application/json' -d "{\"email\": \"$email\", \"password\": \"$1\"}" \
        "$PROXY_URL/auth/register" >/dev/null
    token=$(curl -fsS -d "username=$email&password=$1" "$PROXY_URL/auth/login" |
            sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
    [ -n "$token" ]
    curl -sS -o /dev/null -d "username=$email&password=$2" "$PROXY_URL/auth/login"
    curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"current_password\": \"$1\", \"new_password\": \"$3\"}" "$PROXY_URL/auth/password"
    local patient
    patient=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"name": "Pacjent Logów"}' "$PROXY_URL/patients" | sed -n 's/.*"id" *: *\([0-9]*\).*/\1/p')
    curl -fsS -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"patient_id\": $patient, \"content\": \"$4\"}" "$PROXY_URL/session_notes"
}

@test "the shipped configuration logs no parameter values, slow or failed" {
    grep -Eq '^log_parameter_max_length = 0( |$)' "$ROOT/ops/postgresql-1gb.conf"
    grep -Eq '^log_parameter_max_length_on_error = 0( |$)' "$ROOT/ops/postgresql-1gb.conf"
    grep -q 'COPY ops/postgresql-1gb.conf' "$ROOT/docker/postgres.Dockerfile"
    [ "$(logs_psql -d postgres -tAc 'SHOW log_parameter_max_length')" = 0 ]
    [ "$(logs_psql -d postgres -tAc 'SHOW log_parameter_max_length_on_error')" = 0 ]
    # The local stack's cluster (make up) too.
    [ "$(psql_super -d postgres -tAc 'SHOW log_parameter_max_length')" = 0 ]
    [ "$(psql_super -d postgres -tAc 'SHOW log_parameter_max_length_on_error')" = 0 ]
}

@test "a slow login, a refused password change and a note leave no secret in the server log" {
    local secrets=("Haslo-$RANDOM-$RANDOM" "Zle-$RANDOM-$RANDOM" "k$RANDOM" "Notatka-poufna-$RANDOM-$RANDOM")
    with_proxy requests "${secrets[@]}"
    sleep 0.5
    # The statements are there: logged as slow (duration) and as an error.
    grep -q 'duration: .*api.login' "$LOGS_WORK/server.log"
    grep -q 'ERROR:  Hasło musi mieć co najmniej 8 znaków' "$LOGS_WORK/server.log"
    for s in "${secrets[@]}"; do
        run grep -c -- "$s" "$LOGS_WORK/server.log"
        [ "$output" = 0 ] || { echo "secret '$s' found in the server log"; return 1; }
    done
}

@test "with parameters logged (the default), the same requests would leak the password" {
    logs_psql -d postgres -c "ALTER ROLE $LOGS_APP SET log_parameter_max_length = -1" \
        -c "ALTER ROLE $LOGS_APP SET log_parameter_max_length_on_error = -1"
    local secrets=("Haslo-$RANDOM-$RANDOM" "Zle-$RANDOM-$RANDOM" "k$RANDOM" "Notatka-poufna-$RANDOM-$RANDOM")
    with_proxy requests "${secrets[@]}"
    logs_psql -d postgres -c "ALTER ROLE $LOGS_APP RESET log_parameter_max_length" \
        -c "ALTER ROLE $LOGS_APP RESET log_parameter_max_length_on_error"
    sleep 0.5
    grep -q -- "${secrets[0]}" "$LOGS_WORK/server.log"
    grep -q -- "${secrets[3]}" "$LOGS_WORK/server.log"
}
