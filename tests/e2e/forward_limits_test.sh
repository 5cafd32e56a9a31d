#!/usr/bin/env bash
# Limits and loops: beyond --max-inflight queries waiting for upstreams, REFUSED (and counted); an upstream
# that is clusterdns itself, and two servers forwarding to each other, are detected at run time: the
# looping upstream is refused and queries get SERVFAIL quickly, the server keeps running.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init
test_resolv_conf

# stop_int PID: SIGINT (no lameduck), bounded wait; the server logs its forwarding summary on the way out.
stop_int() {
  local i
  kill -INT "$1" 2>/dev/null
  for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  kill_pid "$1"
}
forwarded_in() { grep -Eo '[0-9]+ forwarded' "$1" | cut -d' ' -f1 | tail -n1; }

# burst PORT COUNT PREFIX: COUNT queries at once from one socket; prints the RCODE names, sorted and counted.
burst() {
  python3 - "$@" <<'PY'
import socket, struct, sys, time, collections
port, count, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
for i in range(count):
    name = b"".join(bytes([len(l)]) + l.encode() for l in f"{prefix}{i}.example.test".split(".")) + b"\0"
    s.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + b"\0\x01\0\x01", ("127.0.0.1", port))
names = {0: "NOERROR", 2: "SERVFAIL", 5: "REFUSED"}
got, deadline = {}, time.time() + 5
while len(got) < count and time.time() < deadline:
    try:
        m = s.recv(4096)
    except socket.timeout:
        continue
    got[struct.unpack("!H", m[:2])[0]] = names.get(m[3] & 15, str(m[3] & 15))
c = collections.Counter(got.values()); c["TIMEOUT"] = count - len(got)
print(" ".join(f"{k}={c[k]}" for k in sorted(c) if c[k]))
PY
}

# 1. --max-inflight: 5 may wait for a slow upstream (2 s); of 20 at once, the other 15 are REFUSED ------------
start_responder slow --delay 2
start_server limit --source "file:$EXAMPLES" --upstream "127.0.0.1:$RESP_PORT" --resolv-conf "$RESOLV" \
  --max-inflight 5 --upstream-timeout-ms 3000
result=$(burst "$SRV_PORT" 20 slow-)
echo "     20 queries at once, --max-inflight 5: $result"
expect_eq "5 answered, 15 REFUSED" "NOERROR=5 REFUSED=15" "$result"
expect_match "log: the limit, rate-limited" "5 queries in flight to upstreams \(--max-inflight\): answering REFUSED" "$(cat "$SRV_LOG")"
stop_int "$SRV_PID"
expect_match "refusals counted (shutdown summary)" "15 refused over --max-inflight" "$(cat "$SRV_LOG")"

# 2. An upstream that is this very server ---------------------------------------------------------------------
SELF=$(free_port)
start_server self --source "file:$EXAMPLES" --listen "127.0.0.1:$SELF" --upstream "127.0.0.1:$SELF" --resolv-conf "$RESOLV"
out=$(q www.example.test)
expect_eq "upstream is ourselves: SERVFAIL" SERVFAIL "$(dig_status "$out")"
expect_match "... quickly ($(sed -n 's/^;; Query time: //p' <<<"$out"))" '^;; Query time: [0-9]{1,3} msec' "$out"
expect_match "log: the loop, named" "forwarding loop: a query we sent to upstream 127\.0\.0\.1:$SELF came back to us" "$(cat "$SRV_LOG")"
for i in 1 2 3; do out=$(q loop$i.example.test); done
expect_eq "later queries: SERVFAIL at once" "SERVFAIL" "$(dig_status "$out")"
expect_eq "cluster names unaffected" 10.0.162.149 "$(q +short my-nginx.default.svc.cluster.local)"
kill -0 "$SRV_PID" && ok "server still running (no exit on a loop)" || bad "server died"
stop_int "$SRV_PID"
forwarded=$(forwarded_in "$SRV_LOG")
expect_match "the loop did not multiply queries ($forwarded forwarded for 4 asked)" '^[1-9]$' "$forwarded"

# 3. Two servers forwarding to each other (A -> B -> A): A's loop probe comes back to A -------------------------
PA=$(free_port) PB=$(free_port)
start_server a --source "file:$EXAMPLES" --listen "127.0.0.1:$PA" --upstream "127.0.0.1:$PB" --resolv-conf "$RESOLV"
A_LOG=$SRV_LOG A_PID=$SRV_PID
start_server b --source "file:$EXAMPLES" --listen "127.0.0.1:$PB" --upstream "127.0.0.1:$PA" --resolv-conf "$RESOLV"
B_LOG=$SRV_LOG B_PID=$SRV_PID
out=$(PORT=$PA q www.example.test)
expect_match "A -> B -> A: an error, not a hang ($(dig_status "$out"))" '^(SERVFAIL|REFUSED)$' "$(dig_status "$out")"
wait_for "loop named in a log" 30 0.1 bash -c "grep -q 'forwarding loop' '$A_LOG' '$B_LOG'"
expect_match "A or B names the loop" "forwarding loop: a query we sent to upstream 127\.0\.0\.1:($PA|$PB)" "$(cat "$A_LOG" "$B_LOG")"
sleep 1
out=$(PORT=$PA q www2.example.test)
expect_match "afterwards: fails fast ($(sed -n 's/^;; Query time: //p' <<<"$out"))" '^;; Query time: [0-9]{1,2} msec' "$out"
kill -0 "$A_PID" && kill -0 "$B_PID" && ok "both still running" || bad "a server died"
stop_int "$A_PID"
stop_int "$B_PID"
total=$(($(forwarded_in "$A_LOG") + $(forwarded_in "$B_LOG")))
echo "     queries forwarded by A and B together: $total"
expect_match "the ping-pong stopped early ($total forwarded)" '^[0-9]{1,3}$' "$total"
finish
