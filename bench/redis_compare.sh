#!/usr/bin/env bash
# mini-redis against Debian's redis-server, side by side in one run on this machine:
# redis-benchmark -q -t set,get -n N -c 50, without pipelining and with -P 16, against
# redis-server (persistence off) and mini_redis_server at 1 and 2 workers. Each cell is
# the median of RUNS runs, each against a fresh server. Server CPU per operation comes from
# the server's utime+stime (/proc/PID/stat) across the run, divided by the 2N operations.
# Usage: bench/redis_compare.sh MINI_REDIS_SERVER [N=500000] [RUNS=3]
set -euo pipefail
mini=$1
n=${2:-500000}
runs=${3:-3}
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get install -y -q redis-server redis-tools >/dev/null
fi
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))
ticks=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start() { # start NAME: a fresh server on $port
    case $1 in
    redis-server) redis-server --port "$port" --save '' --appendonly no >"$work/log" 2>&1 & ;;
    mini_1w) "$mini" --port "$port" --workers 1 >"$work/log" 2>&1 & ;;
    mini_2w) "$mini" --port "$port" --workers 2 >"$work/log" 2>&1 & ;;
    esac
    server_pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$port" PING >/dev/null 2>&1 && return
        sleep 0.05
    done
    echo "server $1 did not start: $(cat "$work/log")" >&2
    exit 1
}

stop() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
    port=$((port + 1))
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

printf '%-13s %-3s %12s %12s %14s\n' server P SET_ops/s GET_ops/s cpu_us/op
for pipeline in 1 16; do
    for server in redis-server mini_1w mini_2w; do
        : >"$work/set"; : >"$work/get"; : >"$work/cpu"
        for _ in $(seq "$runs"); do
            start "$server"
            before=$(cpu_ticks "$server_pid")
            redis-benchmark -p "$port" -t set,get -n "$n" -c 50 -P "$pipeline" --csv \
                >"$work/csv" 2>/dev/null
            after=$(cpu_ticks "$server_pid")
            stop
            awk -F'"' '$2 == "SET" {print $4}' "$work/csv" >>"$work/set"
            awk -F'"' '$2 == "GET" {print $4}' "$work/csv" >>"$work/get"
            echo "$before $after" | awk -v t="$ticks" -v n="$n" \
                '{printf "%.3f\n", ($2 - $1) / t * 1e6 / (2 * n)}' >>"$work/cpu"
        done
        printf '%-13s %-3s %12s %12s %14s\n' "$server" "$pipeline" "$(median <"$work/set")" \
            "$(median <"$work/get")" "$(median <"$work/cpu")"
    done
done
