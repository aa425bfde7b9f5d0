#!/usr/bin/env bash
# Drives the built graceful_shutdown example: for SIGTERM and for SIGINT, a client (bash's
# /dev/tcp) connects and gets an echo, the signal is sent, and the client must be told
# "server shutting down" and then see the connection closed, while the server exits 0 in
# bounded time. A second client that connected but sent nothing is told too.
# Usage: graceful_shutdown_test.sh GRACEFUL_SHUTDOWN
set -euo pipefail
server_bin=$1
if [ "${TAKO_TSAN:-0}" = 1 ]; then
    # Under ThreadSanitizer a signal's handler waits until its thread enters an intercepted
    # call; the runtime's threads sleep in raw futex waits (tests/CMakeLists.txt).
    echo "skipped under ThreadSanitizer: signal handlers are deferred"
    exit 77
fi
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

run_with_signal() {
    local sig=$1 out=$work/server.$1
    "$server_bin" 0 >"$out" 2>&1 &
    server_pid=$!
    for _ in $(seq 200); do
        grep -q "^listening on" "$out" 2>/dev/null && break
        sleep 0.05
    done
    local port
    port=$(sed -n 's/^listening on //p' "$out")
    [ -n "$port" ] || fail "server did not start: $(cat "$out")"

    exec 3<>"/dev/tcp/127.0.0.1/$port"
    exec 4<>"/dev/tcp/127.0.0.1/$port"
    printf 'hello\n' >&3
    local line=
    read -r -t 10 line <&3 || fail "$sig: no echo"
    [ "$line" = "hello" ] || fail "$sig: echo was '$line'"

    kill -s "$sig" "$server_pid"

    for fd in 3 4; do
        line=
        read -r -t 10 line <&"$fd" || fail "$sig: client $fd was not told (got '$line')"
        [ "$line" = "server shutting down" ] || fail "$sig: client $fd got '$line'"
        # Then end of stream (read fails at once with nothing), not a timeout (status > 128).
        local rc=0
        read -r -t 10 line <&"$fd" || rc=$?
        [ "$rc" -ne 0 ] && [ "$rc" -le 128 ] && [ -z "$line" ] ||
            fail "$sig: client $fd: connection not closed (rc $rc, '$line')"
    done
    exec 3<&- 4<&-

    for _ in $(seq 200); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$server_pid" 2>/dev/null && fail "$sig: server still running 10 s after the signal"
    local status=0
    wait "$server_pid" || status=$?
    server_pid=
    [ "$status" -eq 0 ] || fail "$sig: server exited with $status: $(cat "$out")"
    grep -q "^shutting down" "$out" || fail "$sig: no 'shutting down' in $(cat "$out")"
    echo "graceful_shutdown: SIG$sig: clients told, connections closed, exit 0"
}

run_with_signal TERM
run_with_signal INT
