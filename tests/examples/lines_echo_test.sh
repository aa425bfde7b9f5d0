#!/usr/bin/env bash
# Drives the built lines_echo server with OpenBSD netcat on 127.0.0.1: round trips with "\n"
# and "\r\n", many clients at once, a line over the maximum length (an error line, then the
# connection goes on), and a half-close with many lines in flight (all are answered, a last
# line without "\n" too, then the server closes).
# Usage: lines_echo_test.sh LINES_ECHO
set -euo pipefail
server_bin=$1
source "$(dirname "$0")/lib.sh"

# A maximum line length of 64 bytes.
start_server "" 0 64
talk() { timeout 20 nc -N 127.0.0.1 "$port"; }

# 1. Round trips, "\n" and "\r\n" endings, an empty line.
got=$(printf 'hello tako\r\nsecond line\n\nlast\n' | talk)
want=$(printf 'HELLO TAKO\nSECOND LINE\n\nLAST')
[ "$got" = "$want" ] || fail "round trip: got '$got'"

# 2. 100 clients at once, each with its own three lines.
clients=()
for i in $(seq 100); do
    (printf 'client %s a\nclient %s b\nclient %s c\n' "$i" "$i" "$i" | talk >"$work/many.$i") &
    clients+=($!)
done
wait_all
for i in $(seq 100); do
    want=$(printf 'CLIENT %s A\nCLIENT %s B\nCLIENT %s C' "$i" "$i" "$i")
    [ "$(cat "$work/many.$i")" = "$want" ] || fail "client $i got '$(cat "$work/many.$i")'"
done

# 3. A line over the maximum: an error line, the rest of that line is skipped, and the
# connection goes on. 64 bytes is still fine; 65 is not.
long=$(head -c 5000 /dev/zero | tr '\0' x)
ok64=$(head -c 64 /dev/zero | tr '\0' y)
got=$(printf 'short\n%s\n%s\nafter\n%sz\n' "$long" "$ok64" "$ok64" | talk)
want=$(printf 'SHORT\nERROR: line too long (max 64 bytes)\n%s\nAFTER\nERROR: line too long (max 64 bytes)' \
    "$(echo "$ok64" | tr a-z A-Z)")
[ "$got" = "$want" ] || fail "long line: got '$got'"

# 4. Half-close with 20000 lines in flight and a last line without "\n": every line is
# answered before the server closes.
seq -f 'line number %g of many' 20000 >"$work/lines"
printf 'no newline at the end' >>"$work/lines"
talk <"$work/lines" >"$work/lines.back"
tr a-z A-Z <"$work/lines" >"$work/lines.want"
echo >>"$work/lines.want" # the reply to the last line ends in "\n"
cmp -s "$work/lines.want" "$work/lines.back" ||
    fail "half-close: $(wc -l <"$work/lines.back") lines back, want $(wc -l <"$work/lines.want")"

kill -0 "$server_pid" 2>/dev/null || fail "server died"
echo "lines_echo: all client scenarios passed"
