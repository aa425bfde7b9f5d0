#!/usr/bin/env bash
# Builds (release) and runs the demo: tako's runtime at work, then the TCP echo server
# driven by tako's echo client and by OpenBSD netcat.
set -euo pipefail
cd "$(dirname "$0")/.."
TAKO_NEED_CLANG=0 scripts/ensure-deps.sh
# clang 19 where it is installed (g++ 12 has coroutine bugs around lambda temporaries,
# see the tutorial's chapter 7); g++ otherwise.
preset=release
command -v clang++-19 >/dev/null 2>&1 && preset=release-clang
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target demo echo_server echo_client -j "$(nproc)" >/dev/null
bin=./build/$preset/examples
"$bin/demo"

echo
echo "== the echo server (examples/echo_server.cpp) =="
out=$(mktemp)
"$bin/echo_server" 127.0.0.1:0 >"$out" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
addr=$(sed -n 's/^listening on //p' "$out")
echo "echo_server: listening on $addr"
echo "\$ echo_client $addr hello from tako"
"$bin/echo_client" "$addr" hello from tako
echo "\$ printf 'hello from netcat\\n' | nc -N ${addr%:*} ${addr##*:}"
printf 'hello from netcat\n' | timeout 10 nc -N "${addr%:*}" "${addr##*:}"
