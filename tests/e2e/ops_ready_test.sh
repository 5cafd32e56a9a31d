#!/usr/bin/env bash
# /ready: 503 naming the source while the registry has not synced (a manifest that does not parse), 200 once
# it does; then SIGTERM: /ready 503 at once ("lameduck") while /health stays 200 and queries are still
# answered (UDP, new TCP connections, and an open TCP connection), until --lameduck (4s) ends and the process
# exits 0. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

MANIFESTS=$WORK/manifests
mkdir -p "$MANIFESTS"
printf 'apiVersion: v1\nkind: Service\nmetadata: [this is not\n' >"$MANIFESTS/broken.yaml"

ops_start ready --source "file:$MANIFESTS" --lameduck 4s
http_get /ready
expect_eq "/ready before sync: 503" 503 "$HTTP_CODE"
expect_eq "/ready names the source" "not ready: waiting for the first sync of file:$MANIFESTS" "$HTTP_BODY"
http_get /readiness
expect_eq "/readiness before sync: 503" 503 "$HTTP_CODE"
http_get /health
expect_eq "/health while unsynced: 200 OK" "200 OK" "$HTTP_CODE $HTTP_BODY"
http_get /healthcheck/kubedns
expect_eq "/healthcheck/kubedns before sync: 503" 503 "$HTTP_CODE"
expect_match "cluster names answer SERVFAIL before sync" 'status: SERVFAIL' "$(q A my-nginx.default.svc.cluster.local)"
expect_eq "metric: source not synced" 0 "$(metric '^clusterdns_source_synced\{')"

# Good files arrive beside the broken one: still no first state (every file must parse first). Then the broken
# file goes: the source syncs with everything at once, /ready turns 200.
cp "$EXAMPLES"/*.yaml "$MANIFESTS/"
sleep 0.3
http_get /ready
expect_eq "/ready while one file is still broken: 503" 503 "$HTTP_CODE"
rm "$MANIFESTS/broken.yaml"
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
if wait_for "/ready 200 after the fix" 50 0.1 ready; then ok "/ready 200 after sync (${WAITED_MS} ms)"; else bad "/ready after sync"; fi
expect_eq "/ready body" OK "$HTTP_BODY"
expect_eq "answers after sync" 10.0.162.149 "$(qs A my-nginx.default.svc.cluster.local)"

# A TCP connection opened before SIGTERM, used during the lameduck.
exec {TCP}<>"/dev/tcp/127.0.0.1/$SRV_PORT" || die "tcp connect"
tcp_query() {  # one A query for my-nginx on the open connection; prints the answer's rcode
  python3 - "$1" <<'PY'
import os, struct, sys
fd = int(sys.argv[1])
name = b"".join(bytes([len(l)]) + l.encode() for l in "my-nginx.default.svc.cluster.local".split(".")) + b"\0"
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
os.write(fd, struct.pack(">H", len(q)) + q)
def rd(n):
    b = b""
    while len(b) < n:
        c = os.read(fd, n - len(b))
        if not c: sys.exit("closed")
        b += c
    return b
r = rd(struct.unpack(">H", rd(2))[0])
print(["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN"][r[3] & 0x0F] if (r[3] & 0x0F) < 4 else r[3] & 0x0F)
PY
}
expect_eq "open TCP connection answers" NOERROR "$(tcp_query $TCP)"

t0=$(now_ms)
kill -TERM "$SRV_PID"
not_ready() { http_get /ready; [ "$HTTP_CODE" = 503 ]; }
wait_for "/ready 503 after SIGTERM" 20 0.02 not_ready
expect_eq "/ready during lameduck" "503 lameduck: shutting down" "$HTTP_CODE $HTTP_BODY"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 1000 ] && ok "/ready failed ${ms} ms after SIGTERM" || bad "/ready took ${ms} ms to fail"
http_get /health
expect_eq "/health during lameduck" "200 OK" "$HTTP_CODE $HTTP_BODY"
expect_eq "metric: lameduck" 1 "$(metric '^clusterdns_lameduck$')"
for i in 1 2 3; do
  expect_eq "UDP answer during lameduck ($i)" 10.0.162.149 "$(qs A my-nginx.default.svc.cluster.local)"
  expect_eq "new TCP connection during lameduck ($i)" 10.0.162.149 "$(qs A my-nginx.default.svc.cluster.local +tcp)"
  sleep 0.2
done
ms=$(($(now_ms) - t0))
expect_eq "the open TCP connection still answers (${ms} ms after SIGTERM)" NOERROR "$(tcp_query $TCP)"
if [ "$ms" -lt 3500 ]; then
  kill -0 "$SRV_PID" 2>/dev/null && ok "still running during the lameduck" || bad "exited before the lameduck ended"
fi

# The end: the process exits 0 about 4 s after SIGTERM.
for i in $(seq 1 150); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$SRV_PID" 2>/dev/null; then bad "still running 4 s + 3 s after SIGTERM"; else
  wait "$SRV_PID"; rc=$?
  ms=$(($(now_ms) - t0))
  expect_eq "exit status" 0 "$rc"
  [ "$ms" -ge 3900 ] && ok "exited after the 4 s lameduck (${ms} ms)" || bad "exited after ${ms} ms, before the lameduck ended"
fi
exec {TCP}>&-
expect_match "log: lameduck" 'received SIGTERM: lameduck for 4s' "$(cat "$SRV_LOG")"
expect_match "log: sockets closed after it" 'lameduck over: closing the DNS sockets' "$(cat "$SRV_LOG")"
finish
