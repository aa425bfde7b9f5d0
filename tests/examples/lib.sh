# Shared by the scripts that drive the example servers: sourced after `server_bin` is set.
# Gives a scratch directory ($work, removed at exit with every server started), fail/step,
# start_server (sets $server_pid, $addr, $port), wait_all for the clients started since the
# last call, and alive (fails if the last server died).

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "$(date +%s.%N | cut -c1-14) $*"; }

# Starts the server (extra shell setup in $1, e.g. a ulimit; the server's arguments after
# it, default 127.0.0.1:0); sets $server_pid, $addr and $port.
start_server() {
    local setup=${1:-} out=$work/server.$RANDOM
    shift || true
    [ $# -gt 0 ] || set -- 127.0.0.1:0
    bash -c "${setup:-true}; exec \"\$0\" \"\$@\"" "$server_bin" "$@" >"$out" 2>&1 &
    pids+=($!)
    server_pid=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$out" 2>/dev/null && break
        sleep 0.05
    done
    addr=$(sed -n 's/^listening on //p' "$out")
    [ -n "$addr" ] || fail "server did not start: $(cat "$out")"
    port=${addr##*:}
}

# Waits for the clients started since the last call (not for the server).
clients=()
wait_all() {
    for j in "${clients[@]}"; do wait "$j" || true; done
    clients=()
}

alive() { kill -0 "$server_pid" 2>/dev/null || fail "server died"; }

# Starts COUNT clients that connect to $port, send PAYLOAD (printf format) and close the
# socket with the server's reply unread after 0.2 s: the close sends a reset while the
# server waits for the rest of what PAYLOAD began. Wait for them with wait_all.
reset_clients() {
    local count=$1 payload=$2
    for _ in $(seq "$count"); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port"
         printf "$payload" >&3
         sleep 0.2
         exec 3>&-) &
        clients+=($!)
    done
}
