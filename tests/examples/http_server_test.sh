#!/usr/bin/env bash
# Drives the built http_server with real clients on 127.0.0.1: curl (GET, HEAD, POST bodies
# up to 3 MiB with Expect: 100-continue, keep-alive reuse, chunked responses, HTTP/1.0,
# Connection: close) and OpenBSD netcat or bash's /dev/tcp for raw bytes (malformed
# requests, over-long heads, pipelining, clients that vanish or reset mid-request).
# Usage: http_server_test.sh HTTP_SERVER
set -euo pipefail
server_bin=$1
source "$(dirname "$0")/lib.sh"
# The /static/ document root is the server's working directory.
mkdir -p "$work/www/sub"
printf 'hello from a file\n' >"$work/www/hello.txt"
head -c $((5 << 20)) /dev/urandom >"$work/www/sub/big.bin"
: >"$work/www/empty.txt"
start_server "cd '$work/www'"
url=http://$addr
c() { curl -sS --max-time 20 "$@"; }
# Sends raw bytes (stdin) and prints everything the server sends until it closes.
raw() { timeout 10 nc -N 127.0.0.1 "${addr##*:}"; }
# The status codes of the responses in a byte stream, in order, on one line.
statuses() { grep -a -o 'HTTP/1\.1 [0-9][0-9][0-9] ' | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//'; }

step "1. GET / and HEAD /"
body=$(c -D "$work/h1" "$url/")
[ "$body" = "Hello, World!" ] || fail "GET / body: '$body'"
tr -d '\r' <"$work/h1" >"$work/h1.txt"
grep -qx 'HTTP/1.1 200 OK' "$work/h1.txt" || fail "GET / status: $(cat "$work/h1.txt")"
grep -qx 'Content-Length: 13' "$work/h1.txt" || fail "GET / length: $(cat "$work/h1.txt")"
grep -qx 'Content-Type: text/plain' "$work/h1.txt" || fail "GET / type: $(cat "$work/h1.txt")"
head=$(c -I "$url/" | tr -d '\r')
grep -qx 'Content-Length: 13' <<<"$head" || fail "HEAD /: $head"

step "2. POST /echo: small, 1 MiB, 3 MiB (Expect: 100-continue), empty"
[ "$(c --data-binary 'ping pong' "$url/echo")" = "ping pong" ] || fail "small echo"
head -c $((1 << 20)) /dev/urandom >"$work/1m"
c --data-binary @"$work/1m" -o "$work/1m.back" "$url/echo"
cmp -s "$work/1m" "$work/1m.back" || fail "1 MiB echo differs"
head -c $((3 << 20)) /dev/urandom >"$work/3m"
c -v --data-binary @"$work/3m" -o "$work/3m.back" "$url/echo" 2>"$work/3m.log"
cmp -s "$work/3m" "$work/3m.back" || fail "3 MiB echo differs"
grep -q '^< HTTP/1.1 100 Continue' "$work/3m.log" || fail "no 100 Continue: $(cat "$work/3m.log")"
[ "$(c -X POST -o /dev/null -w '%{http_code} %{size_download}' "$url/echo")" = "200 0" ] ||
    fail "empty echo"

step "3. keep-alive: two URLs on one connection; Connection: close and HTTP/1.0 do not reuse"
got=$(c -o /dev/null -o /dev/null -w '%{num_connects} ' "$url/" "$url/chunked")
[ "$got" = "1 0 " ] || fail "keep-alive reuse: num_connects '$got'"
got=$(c -H 'Connection: close' -o /dev/null -o /dev/null -w '%{num_connects} ' "$url/" "$url/")
[ "$got" = "1 1 " ] || fail "Connection: close reused: '$got'"
got=$(c -0 -o /dev/null -o /dev/null -w '%{num_connects} ' "$url/" "$url/")
[ "$got" = "1 1 " ] || fail "HTTP/1.0 reused: '$got'"
got=$(c -0 -H 'Connection: keep-alive' -o /dev/null -o /dev/null -w '%{num_connects} ' \
    "$url/" "$url/")
[ "$got" = "1 0 " ] || fail "HTTP/1.0 keep-alive not reused: '$got'"
printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | raw >"$work/close.out"
tr -d '\r' <"$work/close.out" | grep -qx 'Connection: close' || fail "no Connection: close"

step "4. chunked response (HTTP/1.1), the same body ended by the close for HTTP/1.0"
expected=$(printf 'chunk %d of 5\n' 1 2 3 4 5)
[ "$(c -D "$work/h4" "$url/chunked")" = "$expected" ] || fail "chunked body"
tr -d '\r' <"$work/h4" | grep -qix 'Transfer-Encoding: chunked' || fail "not chunked"
c --raw "$url/chunked" >"$work/raw4"
{ for i in 1 2 3 4 5; do printf 'd\r\nchunk %d of 5\n\r\n' "$i"; done; printf '0\r\n\r\n'; } >"$work/raw4.want"
cmp -s "$work/raw4" "$work/raw4.want" || fail "chunk framing: $(od -c "$work/raw4" | head)"
[ "$(c -0 -D "$work/h4b" "$url/chunked")" = "$expected" ] || fail "HTTP/1.0 streamed body"
! tr -d '\r' <"$work/h4b" | grep -qi 'Transfer-Encoding' || fail "chunked to HTTP/1.0"

step "5. routes: 404, 405 with Allow, static files"
[ "$(c -o /dev/null -w '%{http_code}' "$url/missing")" = 404 ] || fail "404"
got=$(c -X DELETE -D - -o /dev/null "$url/echo" | tr -d '\r')
grep -qx 'HTTP/1.1 405 Method Not Allowed' <<<"$got" || fail "405: $got"
grep -qx 'Allow: POST' <<<"$got" || fail "405 Allow: $got"
[ "$(c "$url/static/hello.txt")" = "hello from a file" ] || fail "static small file"
got=$(c -I "$url/static/hello.txt" | tr -d '\r')
grep -qx 'Content-Length: 18' <<<"$got" || fail "static HEAD length: $got"
grep -qx 'Content-Type: text/plain; charset=utf-8' <<<"$got" || fail "static type: $got"
c -o "$work/big.back" "$url/static/sub/big.bin"
cmp -s "$work/www/sub/big.bin" "$work/big.back" || fail "static 5 MiB file differs"
[ "$(c -o /dev/null -w '%{http_code} %{size_download}' "$url/static/empty.txt")" = "200 0" ] ||
    fail "static empty file"
# Keep-alive across a file and the hello route on one connection.
[ "$(c -o /dev/null -o /dev/null -w '%{num_connects} ' "$url/static/hello.txt" "$url/")" = "1 0 " ] ||
    fail "static keep-alive"
[ "$(c -o /dev/null -w '%{http_code}' "$url/static/missing.txt")" = 404 ] || fail "static 404"
[ "$(c -o /dev/null -w '%{http_code}' "$url/static/sub")" = 404 ] || fail "static directory"
[ "$(c --path-as-is -o /dev/null -w '%{http_code}' "$url/static/../hello.txt")" = 400 ] ||
    fail "static .. escapes"
[ "$(c --path-as-is -o /dev/null -w '%{http_code}' "$url/static/sub/../../x")" = 400 ] ||
    fail "static nested .."

step "6. malformed requests: one answer, then the server closes"
bad() { # $1: expected status, $2: printf format of the request
    local got
    got=$(printf "$2" | raw | statuses)
    [ "$got" = "$1" ] || fail "request $(printf '%q' "$2"): statuses '$got', want '$1'"
}
bad 400 'GARBAGE\r\n\r\n'
bad 400 'GET /\r\nHost: x\r\n\r\n'
bad 400 'GET / HTTP/1.1\nHost: x\n\n'
bad 400 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'
bad 400 'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n'
bad 400 'GET / HTTP/1.1\r\nHost: x\001y\r\n\r\n'
bad 400 'GET / HTTP/1.1\r\n\r\n'
bad 400 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
bad 400 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n'
bad 400 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc'
bad 400 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
bad 501 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
bad 505 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'
bad 417 'GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n'
bad 413 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n'
# Requests before the bad one are answered first, in order.
bad "200 400" 'GET / HTTP/1.1\r\nHost: x\r\n\r\nBAD REQUEST LINE\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n'

step "7. over-long heads: 431 for headers, 414 for the request line"
long=$(head -c 9000 /dev/zero | tr '\0' a)
[ "$(c -H "X-Long: $long" -o /dev/null -w '%{http_code}' "$url/")" = 431 ] || fail "431"
many=()
for i in $(seq 70); do many+=(-H "X-$i: v"); done
[ "$(c "${many[@]}" -o /dev/null -w '%{http_code}' "$url/")" = 431 ] || fail "431 (count)"
[ "$(c -o /dev/null -w '%{http_code}' "$url/$long")" = 414 ] || fail "414"
# A head that never ends is cut off at the cap, not buffered without bound.
got=$( (printf 'GET / HTTP/1.1\r\nHost: x\r\n'; for _ in $(seq 100); do printf 'X-Pad: %s\r\n' "$long"; done) |
    raw | statuses)
[ "$got" = 431 ] || fail "endless head: '$got'"

step "8. pipelining: several requests in one write, answered in order"
req='GET / HTTP/1.1\r\nHost: x\r\n\r\n'
req+='POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nping'
req+='GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n'
req+='GET /missing HTTP/1.1\r\nHost: x\r\n\r\n'
req+='GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
req+='GET / HTTP/1.1\r\nHost: x\r\n\r\n'
printf "$req" | raw >"$work/pipe.out"
got=$(statuses <"$work/pipe.out")
[ "$got" = "200 200 200 404 200" ] || fail "pipelined statuses '$got' (the 6th follows a close)"
grep -aq 'ping' "$work/pipe.out" || fail "pipelined echo body missing"
[ "$(grep -ac 'Hello, World!' "$work/pipe.out")" = 2 ] || fail "pipelined hellos"
# 100 pipelined hellos in one write.
{ for _ in $(seq 99); do printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'; done
  printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'; } | raw >"$work/pipe100"
[ "$(grep -ao 'HTTP/1.1 200 OK' "$work/pipe100" | wc -l)" = 100 ] || fail "100 pipelined"
# A request split across writes, byte by byte through the head.
(for part in 'G' 'ET / HT' 'TP/1.1\r' '\nHost: x\r\nConnection: close\r\n' '\r\n'; do
    printf "$part"; sleep 0.05; done) | raw >"$work/split.out"
[ "$(statuses <"$work/split.out")" = 200 ] || fail "split request"

step "9. clients that vanish: FIN mid-head, FIN mid-body, reset mid-body"
port=${addr##*:}
printf 'GET / HTTP/1.1\r\nHo' | raw >/dev/null || true
printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly part' | raw >/dev/null || true
# The answer to the GET is never read: the close resets while the server waits for the body.
reset_clients 20 'GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial'
wait_all
alive
[ "$(c "$url/")" = "Hello, World!" ] || fail "after resets"

step "10. 50 clients at once, each with its own body"
for i in $(seq 50); do
    (c --data-binary "client $i" "$url/echo" >"$work/many.$i") &
    clients+=($!)
done
wait_all
for i in $(seq 50); do
    [ "$(cat "$work/many.$i")" = "client $i" ] || fail "client $i got '$(cat "$work/many.$i")'"
done
alive
echo "http_server: all client scenarios passed"
