#!/usr/bin/env bash
# nginx/test.sh BASE_URL: what the site promises, asked of a running nginx (make up's):
# security headers on every answer, caching by kind of file, gzip, the SPA fallback,
# /api/ reaching the proxy, and the body limit answering in the contract's JSON shape.
set -euo pipefail
base=${1:?usage: nginx/test.sh http://127.0.0.1:8080}
failures=0

check() {  # check DESCRIPTION COMMAND...: one line per promise
    if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
headers() { curl -sS -o /dev/null -D - "$@" | tr -d '\r'; }
has() { grep -qi "^$1" <<<"$2"; }

index=$(headers "$base/")
asset=$(curl -sS "$base/" | grep -o '/assets/index-[^"]*\.js' | head -1)
asset_headers=$(headers -H 'Accept-Encoding: gzip' "$base$asset")
route=$(headers "$base/pacjenci/7")
api=$(headers "$base/api/health")

for h in 'Strict-Transport-Security: max-age=' "Content-Security-Policy: default-src 'self'" \
         'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' 'Referrer-Policy: '; do
    check "index.html sends $h" has "$h" "$index"
    check "hashed asset sends $h" has "$h" "$asset_headers"
    check "API answer sends $h" has "$h" "$api"
done
check "index.html is revalidated on every visit" has 'Cache-Control: no-cache' "$index"
check "hashed asset is cached for a year" has 'Cache-Control: public, max-age=31536000, immutable' "$asset_headers"
check "JavaScript is gzipped" has 'Content-Encoding: gzip' "$asset_headers"
check "a client-side route answers 200 with the SPA" has 'HTTP/1.1 200' "$route"
check "a client-side route is the SPA's index.html" \
    bash -c "curl -sS '$base/pacjenci/7' | grep -q '<div id=\"root\">'"
check "a missing asset is 404, not the SPA" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$base/assets/missing.js")" = 404
check "/api/health reaches the proxy" bash -c "curl -sS '$base/api/health' | tr -d ' ' | grep -q '^{\"status\":\"healthy\"'"
check "server version is not disclosed" bash -c "! grep -qi '^Server: nginx/' <<<'$index'"
big=$(mktemp)
trap 'rm -f "$big"' EXIT
head -c 2097152 /dev/zero | tr '\0' a > "$big"
too_large=$(curl -sS -H 'Content-Type: application/json' --data-binary @"$big" -w '\n%{http_code}' "$base/api/patients/")
check "a 2 MiB body is refused with 413" test "${too_large##*$'\n'}" = 413
check "the 413 carries a JSON detail" grep -q '"detail"' <<<"$too_large"
docs=$(headers "$base/api/docs")
check "the API docs page gets its own CSP" has "Content-Security-Policy: default-src 'self'; script-src 'self' 'unsafe-inline'" "$docs"
redoc=$(headers "$base/api/redoc")
check "the ReDoc page answers 200" has 'HTTP/1.1 200' "$redoc"
check "the ReDoc page gets its own CSP, workers from blobs included" \
    has "Content-Security-Policy: default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:" "$redoc"

# burst N PATH CURL-ARGS...: N requests at once from one address; prints every answer, headers
# included, each followed by a blank line. The 429s are read from the burst itself: a request sent
# after it could find the limit's bucket refilled on a slow machine.
burst() {
    local urls=() n=$1 url=$base$2
    for _ in $(seq "$n"); do urls+=("$url"); done
    curl -sS -i -w '\n' -X POST "${@:3}" "${urls[@]}" | tr -d '\r'
}
codes() { awk '/^HTTP\//{print $2}' <<<"$1"; }
first_429() { awk '/^HTTP\//{p = $2 == 429 && !seen; if (p) seen = 1} p' <<<"$1"; }

# 40 logins at once from one address: nginx lets 11 through (1 + burst 10), refuses the rest
# with 429 in the contract's shape; the empty forms fail in the proxy (422) before any
# password is checked, so the database's failure count stays untouched.
answers=$(burst 40 /api/auth/login -d '')
check "a burst of 40 logins from one address is cut to at most 21" test "$(codes "$answers" | grep -cv '^429$')" -le 21
check "the logins over the limit answer 429" test "$(codes "$answers" | grep -c '^429$')" -ge 19
limited=$(first_429 "$answers")
check "the 429 says when to retry" has 'Retry-After: 1' "$limited"
check "the 429 carries a JSON detail" grep -q '"detail": "Zbyt wiele' <<<"$limited"
# 30 registrations at once from one address: nginx lets at most 21 through (1 + burst 20); the
# empty bodies fail in the proxy (422), so no practice is made and the database's count is untouched.
answers=$(burst 30 /api/auth/register -H 'Content-Type: application/json' -d '')
check "a burst of 30 registrations from one address is cut to at most 21" test "$(codes "$answers" | grep -cv '^429$')" -le 21
check "the registrations over the limit answer 429" test "$(codes "$answers" | grep -c '^429$')" -ge 9
limited=$(first_429 "$answers")
check "the registration 429 says when to retry" has 'Retry-After: 60' "$limited"
check "the registration 429 carries a JSON detail" grep -q '"detail": "Zbyt wiele rejestracji' <<<"$limited"
health=()
for _ in $(seq 40); do health+=(-o /dev/null "$base/api/health"); done
check "other API routes are not limited" \
    test "$(curl -sS -w '%{http_code}\n' "${health[@]}" | grep -c '^200$')" = 40
sleep 2.5
check "logins are let through again after a pause" \
    test "$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '' "$base/api/auth/login")" = 422

[ $failures = 0 ] || { echo "$failures failed"; exit 1; }
