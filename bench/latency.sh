# shellcheck shell=bash disable=SC2154  # token, seconds, LB_PORT, ... are bench/run.sh's, which sources this
# Sourced by bench/run.sh: latency of GET /patients at an offered rate (issue 18), direct and through nginx with
# the production site (nginx/site.conf: gzip, headers, /api/). bench/pacer.lua spaces the requests (open loop);
# hey, when Debian's package is installed, gives the same in bursts (-c 16 -q 60). Needs run.sh's functions and
# variables (BENCH, ROOT, seconds, token, proxy1, LB_PORT, port_free, started, say); writes $BENCH/latency.md.

# pace URL RATE BURST [PREFIX]: "req/s p50 p99 p99.9 errors non-2xx late" of the pacer (one wrk thread).
pace() {
    BENCH_TOKEN=$token BENCH_RATE=$2 BENCH_BURST=$3 BENCH_PREFIX=${4:-} \
        wrk -t1 -c64 -d"${seconds}s" --timeout 10s -s "$ROOT/bench/pacer.lua" "$1" 2>&1 |
        awk '$1 == "PACE" {print $2, $3, $4, $5, $6, $7, $8}'
}

# hey_run URL: "req/s p50 p99 errors" of hey -c 16 -q 60 (16 workers, each 60 requests a second: ~960 a second
# in bursts as the workers' tickers align).
hey_run() {
    hey -z "${seconds}s" -c 16 -q 60 -H "Authorization: Bearer $token" "$1" 2>&1 | awk '
        /Requests\/sec:/ {rps = $2}
        / 50% in / {p50 = $3 * 1000} / 99% in / {p99 = $3 * 1000}
        /^Status code distribution:/ {codes = 1; next}
        codes && /\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); if ($1 != 200) bad += $2}
        /^Error distribution:/ {codes = 0; errors = 1; next}
        errors && /\[[0-9]+\]/ {gsub(/[\[\]]/, "", $1); bad += $1}
        END {printf "%.1f %.2f %.2f %d\n", rps, p50, p99, bad}'
}

# site_nginx PORT: nginx with the production site (nginx/site.conf) on LB_PORT in front of the proxy on PORT,
# keeping as many idle connections to it as production does; sets site_pid.
site_nginx() {
    local dir=$BENCH/nginx-site keepalive
    keepalive=$(awk '/keepalive [0-9]+;/ {gsub(";", ""); print $2; exit}' "$ROOT/nginx/therapyassistance.conf")
    mkdir -p "$dir"
    ln -sfn "$ROOT/nginx" "$dir/therapyassistance"
    nginx_on_lb "$dir" 1 /api/health <<CONF
$(sed -n 's/^limit_req_zone /    &/p' "$ROOT/nginx/therapyassistance.conf")
    upstream ta_proxy { server 127.0.0.1:$1; keepalive ${keepalive:-8}; }
    server {
        listen 127.0.0.1:$LB_PORT;
        root $ROOT/frontend/dist;
        include therapyassistance/site.conf;
    }
CONF
    site_pid=$nginx_pid
}

# The steady rates tried for the highest one with p99 under 10 ms.
LATENCY_RATES=(250 500 1000 1500 2000 2500 3000 4000)

# The highest steady rate (of RATES) at which p99 stays under 10 ms with the pacer keeping up (under 1 % late):
# the rates are tried in order until one misses.
highest_rate() {  # highest_rate URL PREFIX RATES...
    local url=$1 prefix=$2 rate best=none rps p50 p99 p999 err non2xx late
    shift 2
    for rate in "$@"; do
        read -r rps p50 p99 p999 err non2xx late < <(pace "$url" "$rate" 1 "$prefix")
        say "pacer $url$prefix at $rate/s: $rps req/s, p99 $p99 ms, late $late"
        if awk -v p="$p99" -v l="$late" -v e="$((err + non2xx))" -v r="$rate" -v s="$seconds" \
               'BEGIN {exit !(p < 10 && e == 0 && l < 0.01 * r * s)}'; then
            best="$rate/s (p99 $p99 ms)"
        else
            break
        fi
    done
    echo "$best"
}

latency_rows() {  # latency_rows LABEL URL PREFIX: the pacer and hey rows of one setup
    local label=$1 url=$2 prefix=$3 rps p50 p99 p999 err non2xx late
    # warm-up, not reported: the first seconds of a new proxy or nginx (connections opened, statements prepared)
    pace "$url" 1000 1 "$prefix" >/dev/null
    read -r rps p50 p99 p999 err non2xx late < <(pace "$url" 1000 1 "$prefix")
    echo "| $label | steady 1000/s (pacer) | $rps | $p50 | $p99 | $p999 | $((err + non2xx)) | $late |"
    read -r rps p50 p99 p999 err non2xx late < <(pace "$url" 1000 16 "$prefix")
    echo "| $label | bursts of 16, 1000/s (pacer) | $rps | $p50 | $p99 | $p999 | $((err + non2xx)) | $late |"
    if command -v hey >/dev/null; then
        read -r rps p50 p99 err < <(hey_run "$url$prefix/patients")
        echo "| $label | hey -c 16 -q 60 | $rps | $p50 | $p99 | - | $err | - |"
    fi
}

# latency_section URL: the table of both setups and the highest rates, into $BENCH/latency.md.
latency_section() {
    local url=$1 best_direct best_nginx
    {
        latency_rows "direct" "$url" ""
        site_nginx "${url##*:}"
        latency_rows "nginx (site.conf) → proxy" "http://127.0.0.1:$LB_PORT" "/api"
    } >"$BENCH/latency-rows.md"
    best_nginx=$(highest_rate "http://127.0.0.1:$LB_PORT" /api "${LATENCY_RATES[@]}")
    stop_pid "$site_pid"
    best_direct=$(highest_rate "$url" "" "${LATENCY_RATES[@]}")
    cat >"$BENCH/latency.md" <<EOF2
GET /patients (100 rows) at an offered rate, not at a fixed number of connections: \`bench/pacer.lua\` (wrk, one
thread, 64 connections) sends each request at its slot whatever the answers take (*late*: slots that found every
connection busy and went out late, i.e. the offered rate was not kept), evenly spaced or 16 at a time;
\`hey -c 16 -q 60\` is 16 workers each sending 60 a second. Latency is from sending a request to its answer.
*nginx* is the production site (\`nginx/site.conf\`, gzip and headers as deployed, the local site's keepalive
pool to the proxy) in front of the same proxy. ${seconds} s per row; load $(load) at the end.

| setup | offered load | req/s | p50 ms | p99 ms | p99.9 ms | errors | late |
|---|---|---|---|---|---|---|---|
$(cat "$BENCH/latency-rows.md")

Highest steady rate with p99 under 10 ms, no errors and the pacer keeping up (tried ${LATENCY_RATES[*]} a
second, up to the first that missed): direct **$best_direct**, through nginx **$best_nginx**.
EOF2
}
