#!/usr/bin/env bash
# Against a counting test responder: a truncated upstream answer is retried over TCP; --upstream-tcp asks over
# TCP only; search-path names (X.<ns>.svc.<zone>, X.svc.<zone>, X.<zone>) are answered NXDOMAIN
# authoritatively and never forwarded; SERVFAIL passes through and is cached 5 s; --upstream none answers
# REFUSED; a loopback nameserver in the resolv.conf is refused at start with a clear message.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init

start_responder up --ip 192.0.2.1
UP=$RESP_PORT UP_LOG=$RESP_LOG
test_resolv_conf
start_server main --source "file:$EXAMPLES" --upstream "127.0.0.1:$UP" --resolv-conf "$RESOLV"

# 1. TC from upstream -> c-ares asks again over TCP; the client gets the whole answer over UDP --------------
out=$(q tc-one.example.test)
expect_eq "truncated upstream answer: full answer to the client" 192.0.2.1 "$(dig_section "$out" ANSWER | awk '{print $5}')"
expect_eq "client's answer not truncated" 1 "$(has_flag "$out" tc; echo $?)"
expect_eq "upstream asked over UDP, then over TCP" "udp tcp" \
  "$(grep ' tc-one\.example\.test ' "$UP_LOG" | awk '{print $1}' | paste -sd' ')"

# 2. The search path never leaves the server ----------------------------------------------------------------
before=$(wc -l <"$UP_LOG")
for name in www.example.test.default.svc.cluster.local www.example.test.svc.cluster.local www.example.test.cluster.local; do
  for t in A AAAA; do
    out=$(q $t $name)
    expect_eq "$t $name: NXDOMAIN, authoritative" "NXDOMAIN aa" "$(dig_status "$out") $(has_flag "$out" aa && echo aa)"
  done
done
expect_eq "search-path names: no upstream query" "$before" "$(wc -l <"$UP_LOG")"
expect_eq "www.example.test itself is forwarded" 192.0.2.1 "$(q +short www.example.test)"
expect_eq "... once" 1 "$(resp_count "$UP_LOG" ' www\.example\.test A$')"

# 3. SERVFAIL and REFUSED come through (ARES_FLAG_NOCHECKRESP); SERVFAIL is cached for 5 s -----------------
expect_eq "upstream SERVFAIL passed on" SERVFAIL "$(dig_status "$(q servfail-x.example.test)")"
expect_eq "upstream SERVFAIL: cached" SERVFAIL "$(dig_status "$(q servfail-x.example.test)")"
expect_eq "upstream asked once for it" 1 "$(resp_count "$UP_LOG" ' servfail-x\.example\.test A$')"
expect_eq "upstream REFUSED passed on" REFUSED "$(dig_status "$(q refused-x.example.test)")"

# 4. --upstream-tcp: the upstream sees TCP only ------------------------------------------------------------
start_responder tcponly --ip 192.0.2.2
start_server tcp --source "file:$EXAMPLES" --upstream "127.0.0.1:$RESP_PORT" --upstream-tcp --resolv-conf "$RESOLV"
expect_eq "--upstream-tcp: answered" 192.0.2.2 "$(q +short www.example.test)"
expect_eq "--upstream-tcp: big answer" 40 "$(dig_section "$(q +tcp big-x.example.test TXT)" ANSWER | grep -c TXT)"
expect_eq "--upstream-tcp: every upstream query over TCP" "tcp" "$(grep -v probe "$RESP_LOG" | awk '{print $1}' | sort -u | paste -sd' ')"

# 5. --upstream none: REFUSED outside the zones, as before forwarding existed --------------------------------
start_server off --source "file:$EXAMPLES" --upstream none --resolv-conf "$RESOLV"
expect_eq "--upstream none: REFUSED" REFUSED "$(dig_status "$(q www.example.test)")"

# 6. A loopback resolver in the resolv.conf is a loop in a pod: skipped, and said so -------------------------
test_resolv_conf "nameserver 127.0.0.53" "search corp.test" "options edns0 trust-ad"
start_server loop --source "file:$EXAMPLES" --resolv-conf "$RESOLV"
expect_match "start-up names the loopback resolver and the fix" \
  "nameserver 127\.0\.0\.53 is a loopback address.*forwarding loop.*--upstream" "$(cat "$SRV_LOG")"
expect_eq "no upstream left: REFUSED" REFUSED "$(dig_status "$(q www.example.test)")"
finish
