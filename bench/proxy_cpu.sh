# shellcheck shell=bash
# The proxy's own CPU time per request: sourced by bench/run.sh (`bench/run.sh cpu [BINARY...]`, `make bench-cpu`,
# and a section of `make bench`). Needs run.sh's start_proxy, proc_sample, per_request, load and $BENCH_TOKEN.
#
# proxy_cpu_section DATABASE_URL BINARY...: each binary runs as a proxy of its own (on PROXY_PORT+2, +3, ...), and
# PROXY_CPU_ROUNDS (3) rounds of GET /patients (100 rows) at 32 connections for PROXY_CPU_SECONDS (5) each take
# turns between them, so that the machine's load falls on all alike. Per request: the proxy process's CPU time
# (utime+stime from /proc/PID/stat before and after, divided by the requests wrk completed; the median of the
# rounds and each round), context switches (all threads; of them involuntary: preempted, mostly by the backend or
# wrk that the thread has just woken), and, in one more run counted by `perf stat`, system
# calls (raw_syscalls:sys_enter) and the ones that matter. Writes $BENCH/proxy_cpu.md and prints it.
PROXY_CPU_ROUNDS=${PROXY_CPU_ROUNDS:-3}
PROXY_CPU_SECONDS=${PROXY_CPU_SECONDS:-5}

# proxy_cpu_preempted PID: the involuntary context switches of all the process's threads so far.
proxy_cpu_preempted() { cat "/proc/$1"/task/*/status 2>/dev/null | awk '/^nonvoluntary_ctxt_switches/ {n += $2} END {print n + 0}'; }

# median of the numbers given
proxy_cpu_median() { printf '%s\n' "$@" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# proxy_cpu_wrk PORT PID SECONDS: "requests non-2xx" of one wrk run at 32 connections on GET /patients.
proxy_cpu_wrk() {
    BENCH_ROUTE=patients BENCH_THREADS=2 wrk -t2 -c32 -d"$3s" --timeout 10s -s "$ROOT/bench/wrk.lua" \
        "http://127.0.0.1:$1" | awk '$1 == "WRK" {print $7, $6}'
}

proxy_cpu_section() {
    local url=$1 i port before user_before preempted_before requests non2xx out name syscalls c f s rounds
    shift
    local -a bins=("$@") pids=() ports=()
    local -A pc_cpu pc_user pc_switches pc_preempted pc_faults pc_errors
    for i in "${!bins[@]}"; do
        port=$((PROXY_PORT + 2 + i))
        PROXY_BIN=${bins[i]} start_proxy "$port" "$url"
        # shellcheck disable=SC2154  # start_proxy (bench/run.sh) sets proxy_pid
        pids[i]=$proxy_pid ports[i]=$port
        proxy_cpu_wrk "$port" "$proxy_pid" 1 >/dev/null   # warm: connections, prepared statements, token cache
    done
    for _ in $(seq "$PROXY_CPU_ROUNDS"); do
        for i in "${!bins[@]}"; do
            before=$(proc_sample "${pids[i]}") user_before=$(awk '{print $14}' "/proc/${pids[i]}/stat")
            preempted_before=$(proxy_cpu_preempted "${pids[i]}")
            read -r requests non2xx < <(proxy_cpu_wrk "${ports[i]}" "${pids[i]}" "$PROXY_CPU_SECONDS")
            read -r c f s < <(per_request "$before" "$(proc_sample "${pids[i]}")" "$requests")
            pc_cpu[$i]+="$c " pc_faults[$i]+="$f " pc_switches[$i]+="$s "
            pc_preempted[$i]+="$(awk -v b="$preempted_before" -v a="$(proxy_cpu_preempted "${pids[i]}")" -v n="$requests" \
                'BEGIN {if (n > 0) printf "%.2f", (a - b) / n; else print 0}') "
            pc_user[$i]+="$(awk -v b="$user_before" -v n="$requests" -v hz="$(getconf CLK_TCK)" \
                '{if (n > 0) printf "%.0f", ($14 - b) * 1e6 / hz / n; else print 0}' "/proc/${pids[i]}/stat") "
            pc_errors[$i]=$(( ${pc_errors[$i]:-0} + non2xx ))
        done
    done
    out=$BENCH/proxy_cpu.md
    local floors
    floors=$(proxy_cpu_floors "${ports[0]}")
    {
        echo "GET /patients (100 rows) at 32 connections, ${PROXY_CPU_ROUNDS} rounds of ${PROXY_CPU_SECONDS} s taking turns; load $(load) on $(nproc) CPUs (\`uptime\` at the end)."
        echo
        echo "| build | CPU µs/request (median; each round) | of it user space (median) | context switches/request (of them involuntary) | minor faults/request | system calls/request (perf stat) | of them poll, recvfrom, sendto, sendmsg, epoll_wait, futex | non-2xx |"
        echo "|---|---|---|---|---|---|---|---|"
        for i in "${!bins[@]}"; do
            name=${bins[i]#"$ROOT/"}
            syscalls=$(proxy_cpu_syscalls "${ports[i]}" "${pids[i]}")
            rounds=${pc_cpu[$i]% }
            # shellcheck disable=SC2086  # the lists are words
            echo "| \`$name\` | **$(proxy_cpu_median ${pc_cpu[$i]})** (${rounds// /, }) | $(proxy_cpu_median ${pc_user[$i]}) | $(proxy_cpu_median ${pc_switches[$i]}) ($(proxy_cpu_median ${pc_preempted[$i]})) | $(proxy_cpu_median ${pc_faults[$i]}) | $syscalls | ${pc_errors[$i]} |"
        done
        echo
        echo "$floors"
    } >"$out"
    for i in "${!pids[@]}"; do stop_pid "${pids[i]}"; done
    cat "$out"
}

# proxy_cpu_syscalls PORT PID: "total | poll, recvfrom, ..." per request of a 3 s run under `perf stat`, or "- | -".
proxy_cpu_syscalls() {
    local port=$1 pid=$2 stat=$BENCH/perf-syscalls.txt requests events=raw_syscalls:sys_enter
    local call
    for call in poll recvfrom sendto sendmsg epoll_wait futex; do events+=",syscalls:sys_enter_$call"; done
    command -v perf >/dev/null || { echo "- | -"; return; }
    perf stat -x, -e "$events" -p "$pid" -o "$stat" -- sleep 4 2>/dev/null &
    local perf_pid=$!
    sleep 0.5
    read -r requests _ < <(proxy_cpu_wrk "$port" "$pid" 3)
    wait "$perf_pid" 2>/dev/null
    awk -F, -v n="$requests" '/sys_enter/ && $1 ~ /^[0-9]+$/ && n > 0 {v[++k] = sprintf("%.2f", $1 / n)}
        END {if (k < 7) {print "- | -"; exit}
             printf "%s | %s, %s, %s, %s, %s, %s\n", v[1], v[2], v[3], v[4], v[5], v[6], v[7]}' "$stat"
}

# proxy_cpu_floors PORT: what the two halves of a request cost other C programs on this machine, in the same run:
# nginx (1 worker) sending the very body of GET /patients from a file at 32 connections (HTTP alone, no waiting),
# and pgbench running the proxy's statement at 32 clients (the database client alone: its CPU time per
# transaction, connecting included).
proxy_cpu_floors() {
    local port=$1 dir=$BENCH/nginx-static worker before requests pgb_times
    mkdir -p "$dir/www" "$dir/tmp"
    curl -fsS -H "Authorization: Bearer $BENCH_TOKEN" "http://127.0.0.1:$port/patients" >"$dir/www/patients"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$LB_PORT; root $dir/www; default_type application/json; }
}
CONF
    local nginx_text="nginx: not run (not installed, or port $LB_PORT taken)"
    if [ -x /usr/sbin/nginx ] && port_free "$LB_PORT"; then
        /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
        for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$LB_PORT/patients" && break; sleep 0.1; done
        worker=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -1)
        before=$(proc_sample "$worker")
        read -r requests _ < <(proxy_cpu_wrk "$LB_PORT" "$worker" "$PROXY_CPU_SECONDS")
        read -r c _ s < <(per_request "$before" "$(proc_sample "$worker")" "$requests")
        kill -TERM "$(cat "$dir/nginx.pid")"
        # LB_PORT is the next section's: wait until this nginx has let it go.
        for _ in $(seq 100); do port_free "$LB_PORT" && break; sleep 0.1; done
        nginx_text="nginx sending the same $(wc -c <"$dir/www/patients") bytes from a file (1 worker, 32 connections): **$c µs** CPU and $s context switches per request"
    fi
    # The subshell's children's user and system time, then the transactions pgbench counted.
    pgb_times=$( { "$PGBIN/pgbench" -n -M prepared -c 32 -j 2 -T "$PROXY_CPU_SECONDS" -U "$DB_APP" \
                      -f "$SQLDIR/patients_app.sql" ta_bench_small 2>&1 | awk '/actually processed/ {print $NF}'
                   times; } | awk 'NR == 1 {n = $1} NR == 3 {print n, $1, $2}')
    echo "Floors, same run: $nginx_text; pgbench running the proxy's statement (32 clients, 2 threads): $(
        awk -v t="$pgb_times" 'BEGIN {split(t, v, " "); n = v[1];
            m = v[2]; sub(/s$/, "", m); split(m, a, "m"); s = v[3]; sub(/s$/, "", s); split(s, b, "m");
            if (n > 0) printf "**%.0f µs** of its CPU per transaction (connecting included)", (a[1] * 60 + a[2] + b[1] * 60 + b[2]) * 1e6 / n;
            else printf "-"}')."
}
