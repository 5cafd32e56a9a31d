#!/usr/bin/env bash
# SIGTERM under a steady query load: no query sent before the lameduck ended may fail. A bounded python load
# (2 UDP workers + 1 TCP worker, one query in flight each, 1 s timeout) runs for 10 s; SIGTERM at ~1 s with
# --lameduck 3s; the sockets close at ~4 s. Every query is classified by its send time against the log line
# "lameduck over" (written just before the sockets close): before it, every query must succeed (see
# CLOSE_MARGIN_MS below for the last instant); after it, failures are expected (nothing listens). Prints the
# failed queries. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

ops_start lameduck --source "file:$EXAMPLES" --lameduck 3s
expect_eq "serving" 10.0.162.149 "$(qs A my-nginx.default.svc.cluster.local)"

loadgen "$WORK/load.txt" 10 --udp 2 --tcp 1 --interval-ms 2
sleep 1
sigterm_ms=$(now_ms)
kill -TERM "$SRV_PID"
wait "$LOAD_PID"
for i in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.05; done
wait "$SRV_PID" 2>/dev/null
expect_eq "server exit status" 0 "$?"

end_ms=$(log_ms 'lameduck over') || { cat "$SRV_LOG"; die "no 'lameduck over' line"; }
echo "     SIGTERM at +0 ms, lameduck over at +$((end_ms - sigterm_ms)) ms (log clock)"
# The sockets close right after "lameduck over". dns::Server::stop() answers the datagrams still queued on a
# UDP socket and the connections waiting in a TCP backlog, but a query can still reach the kernel between that
# last read and the close (seen before the drain: 0 or 1 lost per run at ~1,000 queries/s). So the strict check
# covers queries sent up to CLOSE_MARGIN_MS before the close; the few in that window are reported.
CLOSE_MARGIN_MS=${CLOSE_MARGIN_MS:-50}
strict_ms=$((end_ms - CLOSE_MARGIN_MS))
total=$(wc -l <"$WORK/load.txt")
read -r before_n before_fail during_n window_n window_fail after_n after_ok < <(awk -v t="$sigterm_ms" -v s="$strict_ms" -v e="$end_ms" '
  $1 < s { n++; if ($3 != "ok") f++; if ($1 >= t) d++ }
  $1 >= s && $1 < e { w++; if ($3 != "ok") wf++ }
  $1 >= e { a++; if ($3 == "ok") ao++ }
  END { printf "%d %d %d %d %d %d %d\n", n, f, d, w, wf, a, ao }' "$WORK/load.txt")
echo "     $total queries: $before_n sent before the lameduck ended ($during_n of them during it), $window_n in the last ${CLOSE_MARGIN_MS} ms before the close, $after_n after"
awk -v e="$end_ms" '$1 < e && $3 != "ok"' "$WORK/load.txt" | head -20 | sed 's/^/     failed: /'
expect_eq "failed queries sent before the lameduck ended (up to ${CLOSE_MARGIN_MS} ms before the close)" 0 "$before_fail"
echo "     in the last ${CLOSE_MARGIN_MS} ms before the close: $window_fail of $window_n failed"
[ "$during_n" -gt 300 ] && ok "steady load during the lameduck ($during_n queries)" || bad "too few queries during the lameduck: $during_n"
grep -q ' tcp ok ' <(awk -v t="$sigterm_ms" -v e="$end_ms" '$1 >= t && $1 < e' "$WORK/load.txt") &&
  ok "TCP answered during the lameduck" || bad "no TCP answer during the lameduck"
echo "     after the sockets closed: $after_n queries, $after_ok answered (in flight at the close), the rest refused"
[ "$after_n" -gt 0 ] && ok "the load outlived the server (the test saw the close)" || bad "the load ended before the close"
finish
