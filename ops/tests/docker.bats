#!/usr/bin/env bats
# docker/ without a Docker engine: the compose file as docker-compose reads it, the
# Dockerfiles' shape (non-root, builds only through ops/build.sh), and the images' steps run
# natively: ops/build.sh and docker/initdb.sh against the local PostgreSQL.

setup() {
    load helpers
    COMPOSE=$ROOT/docker/compose.yml
    export POSTGRES_PASSWORD=pg-test TA_OWNER_PASSWORD=owner-test TA_APP_PASSWORD=app-test \
           JWT_SECRET=ops-test-secret-do-not-use-0123456789abcdef
}

# Reads no docker/.env that a developer may have: only the variables set here count.
compose_config() {
    : > "$BATS_TEST_TMPDIR/empty.env"
    (cd "$ROOT/docker" && docker-compose -f "$COMPOSE" --env-file "$BATS_TEST_TMPDIR/empty.env" config "$@")
}

@test "docker-compose accepts the compose file: three services and the schema step, health checks, memory for 1 GB" {
    run compose_config
    echo "$output"
    [ "$status" -eq 0 ]
    config=$output
    run compose_config --services
    [ "$(sort <<<"$output" | tr '\n' ' ')" = "nginx postgres proxy schema " ]
    total=0
    for s in postgres proxy nginx; do
        block=$(awk -v s="  $s:" '$0 == s {on=1; next} /^  [a-z]/ {on=0} on' <<<"$config")
        grep -q 'healthcheck:' <<<"$block"
        limit=$(sed -n 's/^ *mem_limit: \([0-9]*\)m$/\1/p' <<<"$block")
        [ -n "$limit" ]
        total=$((total + limit))
    done
    # PostgreSQL, proxy and nginx together leave at least 300 MB of 1 GB to the host.
    [ "$total" -le 724 ]
    grep -q 'condition: service_healthy' <<<"$config"
    # The proxy waits for the schema upgrade to have succeeded.
    awk '$0 == "  proxy:" {on=1; next} /^  [a-z]/ {on=0} on' <<<"$config" | grep -A2 'schema:' |
        grep -q 'condition: service_completed_successfully'
}

@test "the compose file has no default secrets: missing ones are named" {
    unset JWT_SECRET
    run compose_config
    [ "$status" -ne 0 ]
    [[ $output == *"set JWT_SECRET in docker/.env"* ]]
    run grep -rhoE '(PASSWORD|SECRET)[A-Z_]*: *[^$ ]+$' "$COMPOSE"
    [ "$output" = "" ]
}

@test "the images run as non-root users and build only through ops/build.sh" {
    for f in postgres proxy nginx; do
        file=$ROOT/docker/$f.Dockerfile
        [ "$(grep -c '^FROM .* AS build$' "$file")" = 1 ]
        # Every build step in the image is the native one.
        other=$(grep -E '^RUN .*(make|npm|gcc|cc) ' "$file" | grep -vE '^RUN /src/ops/build.sh ' || true)
        [ -z "$other" ]
    done
    grep -qx 'USER postgres' "$ROOT/docker/postgres.Dockerfile"
    grep -qx 'USER 10001' "$ROOT/docker/proxy.Dockerfile"
    grep -q '^FROM nginxinc/nginx-unprivileged' "$ROOT/docker/nginx.Dockerfile"
    grep -q 'postgresql-1gb.conf /etc/postgresql/therapyassistance.conf' "$ROOT/docker/postgres.Dockerfile"
}

@test "the package sets of ops/build.sh exist in Debian" {
    for set in extension-build proxy-build proxy-runtime spa-build server; do
        for p in $(PG_MAJOR=15 "$ROOT/ops/build.sh" packages $set); do
            apt-cache show "$p" >/dev/null 2>&1 || { echo "no Debian package $p ($set)"; false; }
        done
    done
    run "$ROOT/ops/build.sh" packages nonsense
    [ "$status" -eq 2 ]
}

@test "the image's extension step runs natively: ops/build.sh extension, make install DESTDIR" {
    run "$ROOT/ops/build.sh" extension
    [ "$status" -eq 0 ]
    env -u MAKEFLAGS -u MAKELEVEL make -s -C "$ROOT" install DESTDIR="$BATS_TEST_TMPDIR/out" >/dev/null
    find "$BATS_TEST_TMPDIR/out" -name therapyassistance.so | grep -q .
    find "$BATS_TEST_TMPDIR/out" -name 'therapyassistance--1.0.sql' | grep -q .
}

@test "the image's proxy step runs natively: ops/build.sh proxy" {
    [ -f "$ROOT/proxy/Makefile" ] || skip "proxy/ is not in this checkout yet (the proxy branch brings it)"
    run "$ROOT/ops/build.sh" proxy "$BATS_TEST_TMPDIR/out"
    echo "$output"
    [ "$status" -eq 0 ]
    [ -x "$BATS_TEST_TMPDIR/out/therapyassistance-proxy" ]
}

@test "docker/initdb.sh sets a database up as the image does, and again without harm" {
    pg_running || skip "PostgreSQL is not running: make up"
    psql_super -d postgres -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ops_test_docker WITH (FORCE)"
    for run in 1 2; do
        TA_DB=ops_test_docker TA_OWNER=ops_test_docker_owner TA_APP=ops_test_docker_app \
            PGDATA= "$ROOT/docker/initdb.sh"
    done
    [ "$(psql_super -d ops_test_docker -tA -c "SELECT extowner::regrole FROM pg_extension WHERE extname = 'therapyassistance'")" = ops_test_docker_owner ]
    [ "$(psql_super -d ops_test_docker -tA -c "SELECT jwt_secret FROM ta.settings")" = "$JWT_SECRET" ]
    [ "$("$PGBIN/psql" -X -U ops_test_docker_app -d ops_test_docker -tA -c \
        "SELECT api.register('{\"email\": \"a@example.com\", \"password\": \"haslo-testowe\"}') ->> 'email'")" = a@example.com ]
    psql_super -d postgres -q -c "DROP DATABASE ops_test_docker WITH (FORCE)"
}

@test "docker/upgrade.sh (the schema service) upgrades a 1.0 database before the proxy starts, and refuses a newer one" {
    pg_running || skip "PostgreSQL is not running: make up"
    psql_super -d postgres -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS ops_test_docker_up WITH (FORCE)"
    TA_DB=ops_test_docker_up TA_OWNER=ops_test_docker_owner TA_APP=ops_test_docker_app PGDATA= "$ROOT/docker/initdb.sh"
    psql_super -d ops_test_docker_up -q -c "SET client_min_messages = warning" -c "DROP EXTENSION therapyassistance CASCADE"
    "$PGBIN/psql" -X -q -U ops_test_docker_owner -d ops_test_docker_up -c "SET client_min_messages = warning" \
        -c "CREATE EXTENSION therapyassistance VERSION '1.0' CASCADE"
    need=$(sed -n "s/^default_version = '\(.*\)'$/\1/p" "$ROOT/therapyassistance.control")
    PGDATABASE=ops_test_docker_up PGUSER=ops_test_docker_owner run "$ROOT/docker/upgrade.sh"
    echo "$output"
    [ "$status" -eq 0 ] && [[ $output == *"upgrading from 1.0 to $need"* ]]
    [ "$(psql_super -d ops_test_docker_up -tA -c "SELECT extversion FROM pg_extension WHERE extname = 'therapyassistance'")" = "$need" ]
    PGDATABASE=ops_test_docker_up PGUSER=ops_test_docker_owner run "$ROOT/docker/upgrade.sh"
    [ "$status" -eq 0 ] && [[ $output == *"$need, as this image ships"* ]]
    psql_super -d ops_test_docker_up -q -c "UPDATE pg_extension SET extversion = '9.0' WHERE extname = 'therapyassistance'"
    PGDATABASE=ops_test_docker_up PGUSER=ops_test_docker_owner run "$ROOT/docker/upgrade.sh"
    [ "$status" -ne 0 ] && [[ $output == *"holds 9.0, newer than this image's $need"* ]]
    psql_super -d postgres -q -c "DROP DATABASE ops_test_docker_up WITH (FORCE)"
}
