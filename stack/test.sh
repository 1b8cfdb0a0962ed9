#!/usr/bin/env bash
# make test: every test suite, against a local stack that this starts (and stops again
# if it was not running before). Prints one line per suite and a closing count.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/env.sh"

was_running=0
pg_running 2>/dev/null && was_running=1
"$ROOT/stack/up.sh"
cleanup() { [ $was_running = 1 ] || "$ROOT/stack/down.sh"; }
trap cleanup EXIT

passed=0 failed=0 failures=()
# Each suite's result line gives its time: make test must stay under 30 minutes on 2 cores.
suite() {
    local name=$1 start=$SECONDS; shift
    say "=== $name"
    if "$@"; then
        passed=$((passed + 1)); say "=== $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1)); failures+=("$name"); say "=== $name: FAILED ($((SECONDS - start)) s)"
    fi
}

suite "pg_regress + isolation (extension)" "$ROOT/regress/run.sh" extension
suite "pg_regress + isolation (fallback)" "$ROOT/regress/run.sh" fallback
suite "extension <-> fallback: tokens and pg_dump" "$ROOT/regress/interchange.sh"
# The C install's audit writer on a cluster of its own: queued reads, back-pressure, shutdown and kill -9.
suite "audit writer: queued read rows, back-pressure, shutdown, kill -9" "$ROOT/regress/audit_queue.sh"
# Schema upgrades: every released version, filled through its api, upgrades to this code's with every
# row kept and the schema a fresh install has; the regress suite passes on an upgraded database.
for install in extension fallback; do
    suite "schema upgrades: rows kept, schema as fresh, bad input refused ($install)" "$ROOT/regress/upgrade.sh" $install
    suite "pg_regress + isolation on a database upgraded from 1.0 ($install)" \
        env UPGRADE_FROM=1.0 "$ROOT/regress/run.sh" $install
done
suite "shellcheck (every shell script)" "$ROOT/ops/test.sh" scripts
suite "ops: backup/restore logic" "$ROOT/ops/test.sh" logic
suite "ops: backup -> damage -> restore round trips" "$ROOT/ops/test.sh" restore
suite "ops: deploy-mikrus.sh" "$ROOT/ops/test.sh" deploy
suite "ops: nothing secret in the server log" "$ROOT/ops/test.sh" logs
suite "ops: docker/" "$ROOT/ops/test.sh" docker
suite "ops: point-in-time recovery drill (pgBackRest, SIGKILL, refusals)" "$ROOT/ops/test.sh" pitr
suite "ops: make up in fresh clones (root in /root, a user's \$HOME, a path with spaces, another DB_PORT)" "$ROOT/ops/test.sh" clones
if [ -f "$ROOT/proxy/Makefile" ]; then
    # The proxy: Check unit tests, then the black-box HTTP suite (it starts its own proxy on a free port)
    # against this stack's database, once as built and once under AddressSanitizer/UBSan.
    JWT_SECRET=$(jwt_secret)
    PG_RESTART_COMMAND="$([ "$(id -u)" = 0 ] && echo runuser -u postgres --) $PGBIN/pg_ctl -D $PGDATA -l $PGDATA/postgresql.log -m fast -w restart"
    PG_CTL_COMMAND="$([ "$(id -u)" = 0 ] && echo runuser -u postgres --) $PGBIN/pg_ctl -D $PGDATA -l $PGDATA/postgresql.log"
    export DATABASE_URL JWT_SECRET PG_RESTART_COMMAND PG_CTL_COMMAND
    suite "proxy: unit tests" make -s -C "$ROOT/proxy" test
    suite "proxy: HTTP black-box" make -s -C "$ROOT/proxy" check-http
    suite "proxy: HTTP black-box under ASan+UBSan" \
        make -s -C "$ROOT/proxy" asan check-http PROXY_BIN="$ROOT/proxy/therapyassistance-proxy-asan"
    # The same HTTP suite against the plain-SQL install, in a fresh second database of this cluster.
    http_on_fallback() {
        local db=ta_http_fallback
        psql_super -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $DB_OWNER" &&
        TA_INSTALL=fallback "$ROOT/stack/install-db.sh" $db "$DB_OWNER" "$DB_APP" "$JWT_SECRET" &&
        DATABASE_URL="postgresql:///$db?host=$PGSOCK&port=$DB_PORT&user=$DB_APP" make -s -C "$ROOT/proxy" check-http
    }
    suite "proxy: HTTP black-box (fallback install)" http_on_fallback
    # Reads on a real streaming replica of this cluster (DB_READ_URL), under the sanitizers. A replica that
    # make up REPLICA=1 made is left as it was; one made here is removed again (with its slot, which would
    # otherwise keep WAL on the primary).
    replica_reads() {
        local rc had_replica=0 made=0
        "$ROOT/stack/replica.sh" status && had_replica=1
        [ -s "$REPLICA_DATA/PG_VERSION" ] || made=1
        "$ROOT/stack/replica.sh" start || return 1
        DB_READ_URL=$DATABASE_READ_URL REPLICA_PGHOST=$REPLICA_SOCK REPLICA_PGPORT=$REPLICA_PORT \
            REPLICA_COMMAND="$ROOT/stack/replica.sh" \
            make -s -C "$ROOT/proxy" asan check-replica PROXY_BIN="$ROOT/proxy/therapyassistance-proxy-asan"
        rc=$?
        if [ $made = 1 ]; then
            "$ROOT/stack/replica.sh" remove
        elif [ $had_replica = 0 ]; then
            "$ROOT/stack/replica.sh" stop
        fi
        return $rc
    }
    suite "proxy: reads on a streaming replica" replica_reads
    # Issue 9, security: attack and fault suites against the sanitizer build (see SECURITY.md), then a short
    # pass of every fuzzing harness (make fuzz runs them longer).
    export PROXY_BIN="$ROOT/proxy/therapyassistance-proxy-asan"
    security() { make -s -C "$ROOT/proxy" asan && node --test --test-reporter=spec "$ROOT/security/$1.test.mjs"; }
    suite "security: tenant isolation matrix" security tenancy
    suite "security: JWT attacks" security jwt
    suite "security: hostile input corpus" security hostile
    suite "security: slow and half-open clients" security slow
    suite "security: faults (kill -9, database restart, terminated connections)" security faults
fi
if [ -f "$ROOT/frontend/package.json" ]; then
    suite "SPA: lint, types, unit tests, bundle budget" \
        bash -c "cd '$ROOT/frontend' && npm run -s lint && npm run -s typecheck && npm test && npm run -s budget"
    suite "SPA: browser end-to-end through nginx" \
        env BASE_URL="http://127.0.0.1:$WEB_PORT" npm --prefix "$ROOT/frontend" run -s e2e
    suite "nginx: production config (nginx -t)" "$ROOT/nginx/local.sh" check
    suite "nginx: headers, caching, gzip, SPA fallback, /api/" "$ROOT/nginx/test.sh" "http://127.0.0.1:$WEB_PORT"
fi
# Issue 17: the notifier against a real SMTP server (aiosmtpd) and an SMSAPI-like gateway on loopback,
# SIGKILL in a loop included (about a minute).
suite "notifier: reminders through real SMTP and SMS servers" "$ROOT/notifier/test/run.sh"
suite "fuzz: short pass of every harness" make -s -C "$ROOT/fuzz" run FUZZ_SECONDS="${FUZZ_SECONDS:-4}"

[ $failed = 0 ] || say "failed suites: ${failures[*]}"
echo "suites: $passed passed, $failed failed, in $((SECONDS / 60)) min $((SECONDS % 60)) s"
[ $failed = 0 ]
