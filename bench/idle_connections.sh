#!/usr/bin/env bash
# Memory per idle connection: a server's VmRSS growth while N connections (default 10,000)
# are open and parked on a read, each having echoed one byte, divided by N. Runs tako's
# echo server (bench/tako_server) and, when the anchors are built, Tokio's (tokio_echo)
# under the same client (bench/hold_connections), each RUNS times; prints the medians.
# Usage: bench/idle_connections.sh BUILD_DIR [N=10000] [RUNS=3] [ANCHOR_BIN=~/.cache/tako-anchors/bin]
set -euo pipefail
build=$1
n=${2:-10000}
runs=${3:-3}
anchor_bin=${4:-$HOME/.cache/tako-anchors/bin}
holder=$build/bench/hold_connections
ulimit -n $((n + 1024))
port=$((20000 + RANDOM % 20000))

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

measure() { # measure NAME CMD...: prints RSS bytes per connection
    local name=$1
    shift
    "$@" >/dev/null 2>&1 &
    local server=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    sleep 0.2
    local before after
    before=$(rss_kb "$server")
    coproc HOLD { "$holder" "$port" "$n"; }
    read -r line <&"${HOLD[0]}"
    [ "$line" = ready ] || { echo "$name: client failed" >&2; exit 1; }
    sleep 0.3
    after=$(rss_kb "$server")
    eval "exec ${HOLD[1]}>&-"
    wait "$HOLD_PID" 2>/dev/null || true
    kill "$server"
    wait "$server" 2>/dev/null || true
    port=$((port + 1))
    echo $(( (after - before) * 1024 / n ))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

for workers in 1 2; do
    tako=$(for _ in $(seq "$runs"); do
        WORKERS=$workers measure tako "$build/bench/tako_server" echo "$port" 60
    done | median)
    line="workers=$workers n=$n  tako: $tako B/conn"
    if [ -x "$anchor_bin/tokio_echo" ]; then
        tokio=$(for _ in $(seq "$runs"); do
            WORKERS=$workers measure tokio "$anchor_bin/tokio_echo" "$port" 60
        done | median)
        line="$line  tokio: $tokio B/conn"
    fi
    echo "$line"
done
