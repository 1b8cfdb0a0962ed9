#!/usr/bin/env bash
# bench/pgbench.sh [SECONDS]: the database alone, with pgbench (-M prepared) on the local
# cluster (make up first), for both installs side by side:
#   list 100 patients through the api (the token verified in the database, RLS on) vs the bare
#   json_agg as superuser,
#   sign a token, verify a token, create an appointment through the api.
# Prints a Markdown table; loopback only, bounded by SECONDS per run (default 10).
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-10}
secret="bench-secret-0123456789abcdef-0123456789"
owner=ta_owner app=ta_app
scripts=$WORK/bench/pgbench
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

setup() {  # setup INSTALL: a fresh database with one practice of 100 patients
    local db=ta_bench_$1
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $owner"
    TA_INSTALL=$1 "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" "$secret"
    psql_super -d "$db" -q >/dev/null <<'SQL'
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}');
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false) FROM ta.users u WHERE email = 'bench@example.com';
SELECT count(api.create_patient(json_build_object('name', 'Pacjent ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'notes', 'Notatka ' || i)))
  FROM generate_series(1, 100) i;
CREATE SEQUENCE public.bench_slot;
GRANT USAGE ON SEQUENCE public.bench_slot TO ta_app;
SQL
}

# A bearer token of the bench user, as the proxy passes it (request.jwt); valid in both databases (one secret).
bearer() { psql_super -d "ta_bench_$1" -tA -c "SELECT ta.issue_token(u) ->> 'access_token' FROM ta.users u WHERE email = 'bench@example.com'"; }

tps() {  # tps INSTALL USER CLIENTS SCRIPT
    "$PGBIN/pgbench" -n -M prepared -c "$3" -j 2 -T "$seconds" -U "$2" -f "$4" "ta_bench_$1" 2>&1 |
        awk '/^tps/ {printf "%.0f", $3}'
}

echo "| measure | clients | extension tx/s | fallback tx/s | extension / fallback |"
echo "|---|---|---|---|---|"
for install in extension fallback; do setup "$install"; done
pid=$(psql_super -d ta_bench_extension -tA -c "SELECT practice_id FROM ta.users WHERE email = 'bench@example.com'")
patient=$(psql_super -d ta_bench_extension -tA -c "SELECT min(id) FROM ta.patients")
token=$(psql_super -d ta_bench_extension -tA -c "SELECT ta.jwt_sign('{\"sub\":\"1\",\"pid\":1,\"exp\":4102444800}', '$secret')")
token_of_user=$(bearer extension)
# The statement the proxy prepares for GET /patients (proxy/src/route_table.c), as ta_app.
request="request AS MATERIALIZED (SELECT set_config('request.client_addr', '127.0.0.1', true),
    set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$token_of_user', true))"
cat > "$scripts/list_api.sql" <<SQL
WITH $request, answer AS MATERIALIZED (SELECT api.list_patients('{"limit": "100"}')::text AS body FROM request)
SELECT body, current_setting('response.status', true) FROM answer;
SQL
# Its parts, as the owner: the caller check alone, and the query-string parsing alone.
cat > "$scripts/caller.sql" <<SQL
WITH $request SELECT ta.caller() FROM request;
SQL
cat > "$scripts/parse.sql" <<SQL
SELECT ta.query_int(q, 'skip', 0, 0, 1000000000), ta.query_int(q, 'limit', 100, 1, 1000),
       lower(nullif(btrim(ta.field_text(q, 'search')), '')) FROM ta.query_params('{"limit": "100"}') q;
SQL
cat > "$scripts/list_bare.sql" <<SQL
SELECT json_agg(p) FROM (SELECT id, name, phone, email, notes, created_at FROM ta.patients
 WHERE practice_id = $pid AND deleted_at IS NULL ORDER BY id LIMIT 100) p;
SQL
cat > "$scripts/sign.sql" <<SQL
SELECT ta.jwt_sign('{"sub":"1","email":"bench@example.com","pid":1,"iat":1700000000,"exp":4102444800}', '$secret');
SQL
cat > "$scripts/verify.sql" <<SQL
SELECT ta.jwt_verify('$token', '$secret');
SQL
cat > "$scripts/create_appointment.sql" <<SQL
WITH $request, s AS (SELECT nextval('public.bench_slot') AS n)
SELECT api.create_appointment(json_build_object(
    'patient_id', $patient,
    'date', date '2100-01-01' + (s.n / 20)::int, 'start_time', make_time((s.n % 20)::int, 0, 0),
    'end_time', make_time((s.n % 20)::int, 50, 0), 'price', 150)) FROM request, s;
SQL

row() {  # row LABEL CLIENTS USER SCRIPT
    local e f
    e=$(tps extension "$3" "$2" "$scripts/$4")
    f=$(tps fallback "$3" "$2" "$scripts/$4")
    echo "| $1 | $2 | $e | $f | $(awk -v a="$e" -v b="$f" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') |"
}
for clients in 8 32; do
    row "GET /patients: api.list_patients, 100 rows" $clients $app list_api.sql
    row "the bare json_agg of the same rows (superuser, no RLS)" $clients postgres list_bare.sql
done
row "the caller check (ta.caller: token verified, user looked up)" 8 $owner caller.sql
row "parsing the query string of GET /patients" 8 $owner parse.sql
row "sign a token (ta.jwt_sign)" 8 postgres sign.sql
row "verify a token (ta.jwt_verify)" 8 postgres verify.sql
row "POST /appointments: api.create_appointment" 8 $app create_appointment.sql
