#!/usr/bin/env bash
# notifier/test/run.sh [bench [N]]: the notifier against real servers on loopback: an aiosmtpd SMTP
# server, an HTTP server answering as SMSAPI.pl, and a fresh database in the local stack's
# cluster (make up first; make test does). "bench" instead times 10,000 reminders due at once.
# Ports: NOTIFIER_TEST_PORT (default 2517) for SMTP and the next one for the SMS gateway.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../../stack/env.sh"
db=ta_notifier_test
role=ta_notifier_test
pg_running || { say "PostgreSQL is not running: make up (or make test) first"; exit 1; }
make -s -C "$ROOT/notifier" >/dev/null
psql_super -d postgres <<SQL
SET client_min_messages = warning;
DROP DATABASE IF EXISTS $db WITH (FORCE);
SELECT format('CREATE ROLE %I LOGIN', r) FROM unnest(ARRAY['$DB_OWNER', '$DB_APP', '$role']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
CREATE DATABASE $db OWNER $DB_OWNER;
SQL
"$ROOT/stack/install-db.sh" "$db" "$DB_OWNER" "$DB_APP" "notifier-test-secret-0123456789abcdef0123"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -U "$DB_OWNER" -d "$db" -c "SELECT ta.grant_notifier('$role')" >/dev/null
export NOTIFIER_TEST_DB=$db NOTIFIER_TEST_ROLE=$role NOTIFIER_TEST_OWNER=$DB_OWNER PGBIN PGSOCK DB_PORT
export NOTIFIER_BIN=$ROOT/notifier/therapyassistance-notifier NOTIFIER_TEST_WORK=$WORK/notifier-test
# Debian's python3 has python3-aiosmtpd (stack/deps.sh installs it).
exec /usr/bin/python3 "$ROOT/notifier/test/test_notifier.py" "$@"
