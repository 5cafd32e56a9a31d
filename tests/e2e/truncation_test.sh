#!/usr/bin/env bash
# UDP truncation and the TCP retry: a headless service with 60 ready endpoints (about 1 KB of A records).
# Without EDNS the UDP answer is cut at an RR boundary within 512 bytes with TC set; dig and kdig then retry
# over TCP and get all 60. With EDNS 1232 it fits; a 4096-byte client buffer is still capped at 1232.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
need_tool kdig knot-dnsutils

N=60
BIG=big.default.svc.cluster.local
EXPECTED=$(for i in $(seq 1 $N); do echo "10.1.0.$i"; done | sort)

start_server big --source "file:$SOURCE_DIR/tests/e2e/fixtures/headless60.yaml"

msg_size() { grep -Eo 'MSG SIZE +rcvd: [0-9]+' <<<"$1" | grep -Eo '[0-9]+$'; }
ancount() { grep -Eo 'ANSWER: [0-9]+' <<<"$1" | head -n1 | grep -Eo '[0-9]+'; }

# 1. No EDNS, UDP only: TC, at most 512 bytes, whole RRs --------------------------------------------------------
out=$(q +noedns +ignore +notcp A $BIG)
n=$(ancount "$out")
expect_eq "UDP no EDNS: NOERROR" NOERROR "$(dig_status "$out")"
expect_eq "UDP no EDNS: tc set" 0 "$(has_flag "$out" tc; echo $?)"
expect_eq "UDP no EDNS: aa set" 0 "$(has_flag "$out" aa; echo $?)"
expect_eq "UDP no EDNS: reply <= 512 bytes" 1 "$([ "$(msg_size "$out")" -le 512 ] && echo 1 || echo "0 ($(msg_size "$out"))")"
expect_eq "UDP no EDNS: some but not all answers (cut at an RR boundary)" 1 "$([ "${n:-0}" -gt 0 ] && [ "$n" -lt $N ] && echo 1 || echo "0 (ANSWER: $n)")"
expect_eq "UDP no EDNS: every counted RR is present and whole" "$n" "$(dig_section "$out" ANSWER | grep -cE "^$BIG\.[[:space:]]+30[[:space:]]+IN[[:space:]]+A[[:space:]]+10\.1\.0\.[0-9]+$")"
expect_nomatch "UDP no EDNS: no OPT" 'OPT PSEUDOSECTION' "$out"

# 2. Plain dig +noedns: retries over TCP and gets all 60 -------------------------------------------------------
out=$(q +noedns A $BIG)
expect_match "dig +noedns: saw the truncation" 'Truncated, retrying in TCP mode' "$out"
expect_match "dig +noedns: final answer over TCP" "^;; SERVER: 127\.0\.0\.1#$SRV_PORT\(127\.0\.0\.1\) \(TCP\)" "$out"
expect_eq "dig +noedns: no tc on the TCP answer" 1 "$(has_flag "$(sed -n '/retrying in TCP/,$p' <<<"$out")" tc; echo $?)"
expect_eq "dig +noedns: all $N ready endpoints, no not-ready one" "$EXPECTED" "$(dig_section "$out" ANSWER | awk '{print $5}' | sort)"
expect_eq "dig +tcp: all $N" "$EXPECTED" "$(qs A $BIG +tcp)"

# 3. kdig: no EDNS by default; retries over TCP unless +ignore --------------------------------------------------
out=$(kq A $BIG)
expect_match "kdig: truncated UDP reply retried over TCP" 'truncated reply from 127\.0\.0\.1@[0-9]+\(UDP\), retrying over TCP' "$out"
expect_match "kdig: final answer from TCP" "^;; From 127\.0\.0\.1@$SRV_PORT\(TCP\)" "$out"
expect_eq "kdig: all $N" "$EXPECTED" "$(grep -E "^$BIG\." <<<"$out" | awk '{print $5}' | sort)"
out=$(kq +ignore A $BIG)
expect_match "kdig +ignore: tc flag" '^;; Flags: qr aa tc rd;' "$out"
expect_match "kdig +ignore: <= 512 bytes over UDP" '^;; Received ([1-4][0-9]{2}|50[0-9]|51[0-2]) B' "$out"
expect_eq "kdig +ignore +short: fewer than $N" 1 "$(c=$(kq +ignore +short A $BIG | grep -c .); [ "$c" -gt 0 ] && [ "$c" -lt $N ] && echo 1 || echo "0 ($c)")"

# 4. EDNS buffer sizes ----------------------------------------------------------------------------------------------
out=$(q +bufsize=1232 +ignore +notcp A $BIG)
expect_eq "EDNS 1232: no tc" 1 "$(has_flag "$out" tc; echo $?)"
expect_eq "EDNS 1232: all $N over UDP" "$EXPECTED" "$(dig_section "$out" ANSWER | awk '{print $5}' | sort)"
expect_match "EDNS 1232: answered over UDP" '\(UDP\)$' "$(grep '^;; SERVER' <<<"$out")"
out=$(q +bufsize=512 +ignore +notcp A $BIG)
expect_eq "EDNS 512: tc" 0 "$(has_flag "$out" tc; echo $?)"
expect_eq "EDNS 512: <= 512 bytes" 1 "$([ "$(msg_size "$out")" -le 512 ] && echo 1 || echo "0 ($(msg_size "$out"))")"
expect_match "EDNS 512: OPT still echoed" '^; EDNS: version: 0' "$out"
out=$(q +bufsize=100 +ignore +notcp A $BIG)
expect_eq "EDNS 100 (treated as 512): tc, 100 < size <= 512" 1 \
  "$(s=$(msg_size "$out"); has_flag "$out" tc && [ "$s" -gt 100 ] && [ "$s" -le 512 ] && echo 1 || echo "0 ($s)")"

# SRV for 60 endpoints with their A records is about 5 KB: a 4096-byte client buffer is capped at 1232.
out=$(q +bufsize=4096 +ignore +notcp SRV $BIG)
expect_eq "SRV, EDNS 4096 over UDP: tc (answer alone > 1232)" 0 "$(has_flag "$out" tc; echo $?)"
expect_eq "SRV, EDNS 4096 over UDP: capped at 1232 bytes" 1 "$([ "$(msg_size "$out")" -le 1232 ] && echo 1 || echo "0 ($(msg_size "$out"))")"
out=$(q +bufsize=4096 SRV $BIG)
expect_match "SRV: TCP retry" "\(TCP\)$" "$(grep '^;; SERVER' <<<"$out")"
expect_eq "SRV over TCP: $N SRV RRs" $N "$(dig_section "$out" ANSWER | grep -c ' IN	SRV	0 ')"
expect_eq "SRV over TCP: port 8080 (endpoint port) on all" $N "$(dig_section "$out" ANSWER | awk '$7 == 8080' | wc -l)"
expect_eq "SRV over TCP: $N additional A RRs" "$EXPECTED" "$(dig_section "$out" ADDITIONAL | awk '$4 == "A" {print $5}' | sort)"

kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?
finish
