#!/usr/bin/env bash
# Drives the built echo_server with real clients (OpenBSD netcat and echo_client) on
# 127.0.0.1: round trips, many connections at once, half-close with a large payload, a slow
# reader, abrupt disconnects, and a descriptor limit far below the number of clients.
# Usage: echo_server_test.sh ECHO_SERVER ECHO_CLIENT
set -euo pipefail
server_bin=$1
client_bin=$2
source "$(dirname "$0")/lib.sh"

start_server ""

step "1."
# 1. A round trip with nc (-N: shut down the write side at end of input).
got=$(printf 'hello tako\n' | timeout 10 nc -N 127.0.0.1 "$port")
[ "$got" = "hello tako" ] || fail "round trip: got '$got'"

step "2."
# 2. 200 connections at once, each with its own message.
for i in $(seq 200); do
    (printf 'client %s\n' "$i" | timeout 20 nc -N 127.0.0.1 "$port" >"$work/many.$i") &
    clients+=($!)
done
wait_all
for i in $(seq 200); do
    [ "$(cat "$work/many.$i")" = "client $i" ] || fail "connection $i got '$(cat "$work/many.$i")'"
done

step "3."
# 3. Half-close with 8 MiB: the server echoes everything sent before the client's FIN.
head -c $((8 << 20)) /dev/urandom >"$work/big"
timeout 30 "$client_bin" "$addr" <"$work/big" >"$work/big.back" || fail "echo_client failed"
cmp -s "$work/big" "$work/big.back" || fail "8 MiB echo differs"

step "4."
# 4. A slow reader: the client reads nothing for a second while it sends 8 MiB, so the
# server's writes fill the socket buffers and wait; nothing is lost.
timeout 30 nc -N 127.0.0.1 "$port" <"$work/big" | (sleep 1; cat) >"$work/slow.back"
cmp -s "$work/big" "$work/slow.back" || fail "slow reader lost data"

step "5."
# 5. Clients that vanish mid-stream (killed while data is in flight): the server survives.
for i in $(seq 20); do
    (head -c 1000000 /dev/zero | timeout 0.2 nc 127.0.0.1 "$port" >/dev/null 2>&1 || true) &
    clients+=($!)
done
wait_all
alive
got=$(printf 'still here\n' | timeout 10 nc -N 127.0.0.1 "$port")
[ "$got" = "still here" ] || fail "after disconnects: got '$got'"
kill "$server_pid"

step "6."
# 6. A starved descriptor limit: 64 descriptors, 150 concurrent clients. Accept waits for a
# free descriptor instead of failing or spinning; every client is served.
start_server "ulimit -n 64"
for i in $(seq 150); do
    (printf 'limited %s\n' "$i" | timeout 30 nc -N 127.0.0.1 "$port" >"$work/lim.$i") &
    clients+=($!)
done
wait_all
for i in $(seq 150); do
    [ "$(cat "$work/lim.$i")" = "limited $i" ] || fail "limited client $i got '$(cat "$work/lim.$i")'"
done
alive
echo "echo_server: all client scenarios passed"
