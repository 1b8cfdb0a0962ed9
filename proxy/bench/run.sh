#!/usr/bin/env bash
# Benchmarks authenticated GET /patients (100 rows) through the proxy with wrk, next to pgbench running the
# same SQL the proxy prepares. Usage: PROXY_URL=http://127.0.0.1:8100 DATABASE_URL=... bench/run.sh [seconds]
# Needs a running proxy and database (make up). Creates one practice with 100 patients on first use.
set -euo pipefail
SECONDS_PER_RUN=${1:-10}
PROXY_URL=${PROXY_URL:-http://127.0.0.1:8000}
: "${DATABASE_URL:?DATABASE_URL must point at the database the proxy uses}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

email=bench-proxy@example.com
password=bench-haslo-123
curl -fs -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$PROXY_URL/auth/register" || true
token=$(curl -fs -d "username=$email" -d "password=$password" "$PROXY_URL/auth/login" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).access_token))')
auth="Authorization: Bearer $token"
have=$(curl -fs -H "$auth" "$PROXY_URL/patients?limit=500" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')
for i in $(seq $((have + 1)) 100); do
    curl -fs -o /dev/null -H "$auth" -H 'content-type: application/json' \
        -d "{\"name\":\"Pacjent $i\",\"phone\":\"+48 600 000 $i\",\"email\":\"p$i@example.com\",\"notes\":\"Notatka $i\"}" \
        "$PROXY_URL/patients"
done
rows=$(curl -fs -H "$auth" "$PROXY_URL/patients" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')
bytes=$(curl -fs -H "$auth" "$PROXY_URL/patients" | wc -c)
claims=$(printf '%s' "$token" | cut -d. -f2 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Buffer.from(s.trim(),"base64url").toString()))')
echo "GET /patients: $rows rows, $bytes bytes"

# The statement the proxy prepares for this route, with the same claims.
cat >"$WORK/patients.sql" <<SQL
WITH request AS MATERIALIZED (SELECT set_config('request.client_addr', '127.0.0.1', true), set_config('request.route', 'GET /patients', true), set_config('request.jwt.claims', '$claims', true)), answer AS MATERIALIZED (SELECT api.list_patients('{}'::json)::text AS body FROM request) SELECT body, current_setting('response.status', true) FROM answer;
SQL

proxy_pid=$(ss -ltnpH "sport = :${PROXY_URL##*:}" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)
printf '\n| connections | proxy req/s | p50 ms | p99 ms | errors | pgbench clients | pgbench tps | proxy RSS MB |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for c in 1 8 32 128; do
    threads=$(( c < 2 ? 1 : 2 ))
    out=$(wrk -t"$threads" -c"$c" -d"${SECONDS_PER_RUN}s" --latency -H "$auth" "$PROXY_URL/patients")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    errors=$(awk '/Socket errors|Non-2xx/ {print}' <<<"$out" | tr '\n' ' ')
    rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$proxy_pid/status" 2>/dev/null || echo '?')
    # PostgreSQL here allows 100 connections; pgbench at 128 would be refused.
    pc=$(( c > 90 ? 90 : c ))
    tps=$(pgbench -n -M prepared -c "$pc" -j "$threads" -T "$SECONDS_PER_RUN" -f "$WORK/patients.sql" "$DATABASE_URL" 2>&1 |
        awk '/^tps/ {print $3}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$rps" "$p50" "$p99" "${errors:-none}" "$pc" "$tps" "$rss"
done
