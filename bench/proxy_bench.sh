#!/usr/bin/env bash
# Proxy cost: BYTES (default 4 GiB) through examples/proxy in front of the anchors' C epoll
# echo server, driven by the anchors' `echo_load bulk` client, for the splice path, the
# buffered path (`proxy --buffered`) and the direct run without a proxy, alternating the
# three in each round. Prints, per configuration, the median GB/s (echo_load's figure: bytes
# echoed per second of wall time) and the proxy's CPU seconds (user+sys) per GiB.
#
# Usage: ANCHORS_BIN=<dir with epoll_server and echo_load> bench/proxy_bench.sh [rounds=3]
# Env: PROXY (default build/release/examples/proxy), BYTES (default 4294967296),
#      WORKERS (proxy worker threads, default 2), SERVER_THREADS (epoll_server, default 1).
set -euo pipefail
rounds=${1:-3}
bin=${ANCHORS_BIN:?set ANCHORS_BIN to the directory holding epoll_server and echo_load}
proxy=${PROXY:-build/release/examples/proxy}
bytes=${BYTES:-4294967296}
export WORKERS=${WORKERS:-2}
server_threads=${SERVER_THREADS:-1}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }

wait_listening() { # port
    for _ in $(seq 200); do
        (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on $1" >&2
    exit 1
}

# CPU seconds (user+sys) of a running process, from /proc/PID/stat.
cpu_s() {
    local f
    read -ra f <"/proc/$1/stat"
    echo "scale=3; (${f[13]} + ${f[14]}) / $(getconf CLK_TCK)" | bc
}

run_one() { # mode: direct | splice | buffered; prints "GB/s cpu_s_per_GiB"
    local mode=$1 sport pport target gbs cpu=0
    sport=$(free_port)
    "$bin/epoll_server" echo "$sport" "$server_threads" 120 >/dev/null 2>&1 &
    local server=$!
    pids+=("$server")
    wait_listening "$sport"
    target=$sport
    local proxy_pid=""
    if [ "$mode" != direct ]; then
        local flag=()
        [ "$mode" = buffered ] && flag=(--buffered)
        "$proxy" 0 "127.0.0.1:$sport" "${flag[@]}" >"$work/proxy.out" 2>"$work/proxy.err" &
        proxy_pid=$!
        pids+=("$proxy_pid")
        for _ in $(seq 200); do
            grep -q "listening on" "$work/proxy.out" 2>/dev/null && break
            sleep 0.05
        done
        pport=$(sed -n 's/^listening on //p' "$work/proxy.out")
        target=$pport
    fi
    gbs=$("$bin/echo_load" bulk "$target" "$bytes" | sed -n 's/^GB_per_s //p')
    if [ -n "$proxy_pid" ]; then
        cpu=$(cpu_s "$proxy_pid")
        kill "$proxy_pid"
        wait "$proxy_pid" 2>/dev/null || true
    fi
    kill "$server"
    wait "$server" 2>/dev/null || true
    echo "$gbs $(echo "scale=3; $cpu * 1073741824 / $bytes" | bc)"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for r in $(seq "$rounds"); do
    for mode in direct splice buffered; do
        read -r g c < <(run_one "$mode")
        echo "round $r $mode GB_per_s $g proxy_cpu_s_per_GiB $c"
        echo "$g" >>"$work/$mode.gbs"
        echo "$c" >>"$work/$mode.cpu"
    done
done
echo
printf '%-10s %10s %22s\n' config GB_per_s proxy_cpu_s_per_GiB
for mode in direct splice buffered; do
    printf '%-10s %10s %22s\n' "$mode" "$(median <"$work/$mode.gbs")" "$(median <"$work/$mode.cpu")"
done
