#!/usr/bin/env bash
# Upstream health: the first upstream stops answering (SIGSTOP: real timeouts, no ICMP) -> queries fail over
# to the second, the first is marked down and skipped, and health checks bring it back when it answers
# again; every upstream dead -> SERVFAIL within the configured time, and expired cached names are served
# stale (RFC 8767, TTL 30); a dead port (ICMP refused) fails over at once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init

start_responder a --ip 192.0.2.1 --ttl 2
A=$RESP_PORT A_PID=$RESP_PID
start_responder b --ip 192.0.2.2 --ttl 2
B=$RESP_PORT B_PID=$RESP_PID
test_resolv_conf "options timeout:1 attempts:2"
start_server main --source "file:$EXAMPLES" --upstream "127.0.0.1:$A" --upstream "127.0.0.1:$B" \
  --upstream-timeout-ms 300 --resolv-conf "$RESOLV"
E2E_CLEANUP+=("kill -CONT $A_PID $B_PID")  # never leave a stopped process behind

# timed [DIG ARGS] NAME: OUT = the answers' addresses, MS = dig's own "Query time" (not process start-up).
timed() {
  local out
  out=$(q "$@")
  OUT=$(dig_section "$out" ANSWER | awk '{print $5}')
  MS=$(sed -n 's/^;; Query time: \([0-9]*\) msec$/\1/p' <<<"$out")
}

timed www1.example.test
expect_eq "both up: the first upstream answers" 192.0.2.1 "$OUT"

# 1. The first upstream hangs: fail over after one timeout, then mark it down and skip it --------------------
kill -STOP "$A_PID"
timed www2.example.test
expect_eq "first upstream silent: the second answers" 192.0.2.2 "$OUT"
# dig truncates its own clock to whole ms and the server's timer runs on another clock: 299 is one timeout.
expect_match "... after one attempt's timeout (${MS} ms)" '^(29[0-9]|[3-9][0-9]{2}|1[0-4][0-9]{2})$' "$MS"
timed www3.example.test
wait_for "first upstream marked down" 20 0.1 grep -q "upstream 127.0.0.1:$A is down" "$SRV_LOG"
expect_match "log: marked down, with the reason" "upstream 127\.0\.0\.1:$A is down after 2 failures in a row \(last: timeout\)" "$(cat "$SRV_LOG")"
timed www4.example.test
expect_eq "down upstream skipped: the second answers" 192.0.2.2 "$OUT"
expect_match "... without waiting for the first (${MS} ms)" '^[0-9]{1,2}$' "$MS"

# 2. It answers again: a health check brings it back --------------------------------------------------------
kill -CONT "$A_PID"
if wait_for "first upstream back" 50 0.1 grep -q "upstream 127.0.0.1:$A answers again" "$SRV_LOG"; then
  ok "health check brought it back after ${WAITED_MS} ms"
else
  bad "first upstream never came back"
fi
timed www5.example.test
expect_eq "back in use: the first upstream answers" 192.0.2.1 "$OUT"

# 3. Every upstream dead: SERVFAIL within the configured time; expired names served stale --------------------
timed stale.example.test
expect_eq "cached before the outage" 192.0.2.1 "$OUT"
sleep 2.2  # its TTL (2 s) runs out
kill -STOP "$A_PID" "$B_PID"
timed never-seen.example.test
out=$(q never-seen2.example.test)
expect_eq "all upstreams silent: SERVFAIL" SERVFAIL "$(dig_status "$out")"
timed -t A never-seen3.example.test
expect_match "all upstreams down: SERVFAIL at once (${MS} ms)" '^[0-9]{1,2}$' "$MS"
out=$(q stale.example.test)
expect_eq "expired answer served stale" "stale.example.test. 30 IN A 192.0.2.1" "$(dig_section "$out" ANSWER | tr -s ' \t' '  ')"
kill -CONT "$A_PID" "$B_PID"
wait_for "upstreams back" 50 0.1 bash -c "[ \$(grep -c 'answers again' '$SRV_LOG') -ge 3 ]"
expect_eq "after the outage: answered again" 192.0.2.1 "$(q +short after.example.test)"

# 4. A dead port (ICMP port unreachable) fails over at once ----------------------------------------------------
kill_pid "$A_PID"
timed dead-port.example.test
expect_eq "dead first upstream: the second answers" 192.0.2.2 "$OUT"
expect_match "... at once, no timeout (${MS} ms)" '^[0-9]{1,2}$' "$MS"

kill -0 "$SRV_PID" && ok "server still running" || bad "server died"
finish
