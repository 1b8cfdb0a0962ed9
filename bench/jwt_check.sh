#!/usr/bin/env bash
# bench/jwt_check.sh [SECONDS] [ROUNDS]: what verifying the JWT inside the database costs GET /patients
# (100 rows), side by side IN ONE pgbench RUN, on both installs (make up first). In one database per
# install, one pgbench run (-M prepared, two scripts of equal weight, so that every client alternates
# between them at random and the machine's load falls on both alike) runs:
#   verified  the proxy's statement for GET /patients: the raw token in request.jwt, api.list_patients,
#             whose ta.caller verifies it (signature, exp, live user, token version, not logged out)
#   trusted   the same query path with 1.0's caller check: bench.list_patients is api.list_patients'
#             own definition with ta.caller() replaced by 1.0's (request.jwt.claims trusted, user looked up)
# pgbench reports each script's own tps; the median of ROUNDS runs of SECONDS each (default 20 s, 3
# rounds) is printed with verified/trusted and the load average (uptime) before each install's runs.
# shellcheck source=stack/env.sh
. "$(dirname "$0")/../stack/env.sh"
seconds=${1:-20} rounds=${2:-3}
secret="bench-secret-0123456789abcdef-0123456789"
owner=ta_owner app=ta_app
scripts=$WORK/bench/jwt_check
mkdir -p "$scripts"
pg_running || { say "PostgreSQL is not running: make up first"; exit 1; }

setup() {  # setup INSTALL: a fresh database with one practice of 100 patients, and bench.list_patients
    local db=ta_bench_jwt_$1
    psql_super -d postgres -q -c "SET client_min_messages = warning" \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER $owner"
    TA_INSTALL=$1 "$ROOT/stack/install-db.sh" "$db" "$owner" "$app" "$secret"
    psql_super -d "$db" -q -v owner="$owner" -v app="$app" >/dev/null <<'SQL'
SELECT api.register('{"email": "bench@example.com", "password": "haslo-bench"}');
SELECT set_config('request.jwt', ta.issue_token(u) ->> 'access_token', false) FROM ta.users u WHERE email = 'bench@example.com';
SELECT count(api.create_patient(json_build_object('name', 'Pacjent ' || i, 'phone', '+48 600 000 ' || lpad(i::text, 3, '0'),
                                                  'email', 'p' || i || '@example.com', 'notes', 'Notatka ' || i)))
  FROM generate_series(1, 100) i;
CREATE SCHEMA bench AUTHORIZATION :owner;
GRANT USAGE ON SCHEMA bench TO :app;
-- 1.0's caller check: the claims the session set are believed; only the user is looked up.
CREATE FUNCTION bench.caller_trusted() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    claims json := nullif(current_setting('request.jwt.claims', true), '')::json;
    sub text := claims ->> 'sub';
    pid text := claims ->> 'pid';
    uid bigint;
BEGIN
    IF sub ~ '^[0-9]{1,18}$' AND pid ~ '^[0-9]{1,18}$' THEN
        SELECT u.id INTO uid FROM ta.users u
         WHERE u.id = sub::bigint AND u.practice_id = pid::bigint AND u.deleted_at IS NULL;
    END IF;
    IF uid IS NULL THEN
        PERFORM ta.raise('28000', 'Could not validate credentials');
    END IF;
    RETURN uid;
END $$;
-- GET /patients' function as it ships, with only its caller check swapped.
SELECT replace(replace(pg_get_functiondef('api.list_patients(json)'::regprocedure),
                       'FUNCTION api.list_patients(', 'FUNCTION bench.list_patients('),
               'ta.caller()', 'bench.caller_trusted()') AS def \gset
:def;
SELECT format('ALTER FUNCTION %s OWNER TO %I', f, :'owner') FROM unnest(ARRAY['bench.caller_trusted()', 'bench.list_patients(json)']) f \gexec
GRANT EXECUTE ON FUNCTION bench.list_patients(json) TO :app;
SQL
    [ "$(psql_super -d "$db" -tA -c "SELECT pg_get_functiondef('bench.list_patients(json)'::regprocedure) ~ 'bench.caller_trusted\(\)'
                                       AND pg_get_functiondef('bench.list_patients(json)'::regprocedure) !~ 'ta.caller\(\)'")" = t ] ||
        { say "bench.list_patients does not call the trusted caller"; exit 1; }
}

# run INSTALL CLIENTS: one pgbench run of both scripts; prints "verified_tps trusted_tps".
run() {
    "$PGBIN/pgbench" -n -M prepared -c "$2" -j 2 -T "$seconds" -U "$app" \
        -f "$scripts/verified_$1.sql@1" -f "$scripts/trusted_$1.sql@1" "ta_bench_jwt_$1" 2>&1 |
        awk '/^SQL script [0-9]+:/ { s = $3 } /transactions .*tps = / { gsub(/[()]/, ""); t[s] = $NF }
             END { printf "%.0f %.0f\n", t["1:"], t["2:"] }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)) }'; }

echo "| install | clients | load (1 min) | token verified in the database tx/s | 1.0's trusted claims tx/s | verified / trusted | each round (verified/trusted) |"
echo "|---|---|---|---|---|---|---|"
for install in extension fallback; do
    setup "$install"
    read -r token claims < <(psql_super -d "ta_bench_jwt_$install" -tA -F ' ' -c \
        "SELECT ta.issue_token(u) ->> 'access_token', json_build_object('sub', id::text, 'pid', practice_id)
           FROM ta.users u WHERE email = 'bench@example.com'")
    # The proxy's statement for GET /patients (proxy/src/route_table.c) ...
    cat > "$scripts/verified_$install.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '127.0.0.1', true),
    set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$token', true)),
answer AS MATERIALIZED (SELECT api.list_patients('{"limit": "100"}')::text AS body FROM request)
SELECT body, current_setting('response.status', true) FROM answer;
SQL
    # ... and 1.0's: the claims in request.jwt.claims (both set both, so the statements differ in the function only).
    cat > "$scripts/trusted_$install.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '127.0.0.1', true),
    set_config('request.route', 'GET /patients', true), set_config('request.jwt', '$token', true),
    set_config('request.jwt.claims', '$claims', true)),
answer AS MATERIALIZED (SELECT bench.list_patients('{"limit": "100"}')::text AS body FROM request)
SELECT body, current_setting('response.status', true) FROM answer;
SQL
    # Both answer the same 100 patients.
    for s in verified trusted; do
        n=$("$PGBIN/psql" -X -U "$app" -d "ta_bench_jwt_$install" -tA -F ' ' -f "$scripts/${s}_$install.sql" |
            sed 's/ [^ ]*$//' | jq length) || n='?'
        [ "$n" = 100 ] || { say "the $s statement on $install did not answer 100 patients ($n)"; exit 1; }
    done
    for clients in 8 32; do
        load=$(uptime | sed 's/.*load average: \([0-9.]*\),.*/\1/')
        v=() t=() each=''
        for ((r = 0; r < rounds; r++)); do
            read -r a b < <(run "$install" "$clients")
            v+=("$a") t+=("$b") each+="$a/$b "
        done
        mv=$(printf '%s\n' "${v[@]}" | median) mt=$(printf '%s\n' "${t[@]}" | median)
        echo "| $install | $clients | $load | $mv | $mt |" \
             "$(awk -v a="$mv" -v b="$mt" 'BEGIN {printf "%.3f (%+.1f %%)", (b > 0 ? a / b : 0), (b > 0 ? 100 * (a / b - 1) : 0)}') | ${each% } |"
    done
done
