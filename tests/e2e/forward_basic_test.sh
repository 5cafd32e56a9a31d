#!/usr/bin/env bash
# Forwarding through a real upstream (Knot serving example.test on a loopback port): A, AAAA, MX, TXT, a CNAME,
# a 4.5 KB answer (TC to the UDP client, whole over TCP), NXDOMAIN; the cache: the second answer comes from
# it with a lower TTL, negative answers too; the client's ID and 0x20 case come back; cluster names are
# still answered authoritatively.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init
command -v knotd >/dev/null || skip "knotd not installed (Debian package knot)"
norm() { tr -s ' \t' '  '; }

write_example_zone "$WORK/example.test.zone"
start_knot "$WORK/example.test.zone"
test_resolv_conf
start_server main --source "file:$EXAMPLES" --upstream "127.0.0.1:$KNOT_PORT" --resolv-conf "$RESOLV"

# 1. The Done-when line: through the upstream, then from the cache with a lower TTL ---------------------------
out=$(q www.example.test)
echo "$out" | sed -n '/ANSWER SECTION/,/^$/p' | sed 's/^/     first:  /'
expect_eq "www.example.test: NOERROR" NOERROR "$(dig_status "$out")"
expect_eq "www.example.test: the upstream's answer" "www.example.test. 300 IN A 192.0.2.10" "$(dig_section "$out" ANSWER | norm)"
sleep 1.3
out2=$(q www.example.test)
echo "$out2" | sed -n '/ANSWER SECTION/,/^$/p' | sed 's/^/     second: /'
ttl2=$(first_ttl "$out2")
expect_match "second answer from the cache: TTL below 300 ($ttl2)" '^(29[0-9])$' "$ttl2"
out3=$(q +tcp www.example.test)
expect_match "over TCP too, from the same cache (TTL $(first_ttl "$out3"))" '^29[0-9]$' "$(first_ttl "$out3")"

# 2. Record types ---------------------------------------------------------------------------------------------
expect_eq "AAAA" "2001:db8::10" "$(qs AAAA www.example.test)"
expect_eq "MX" "10 mail.example.test." "$(qs MX example.test)"
expect_eq "TXT" '"hello from knot"' "$(qs TXT txt.example.test)"
expect_eq "CNAME chain" $'192.0.2.10\nwww.example.test.' "$(qs A alias.example.test)"
out=$(q +ignore +notcp big.example.test TXT)
expect_eq "4.5 KB TXT over UDP: TC set for the client" 0 "$(has_flag "$out" tc; echo $?)"
out=$(q big.example.test TXT)  # dig retries over TCP
expect_eq "4.5 KB TXT: 40 records over TCP" 40 "$(dig_section "$out" ANSWER | grep -c TXT)"
expect_match "4.5 KB TXT: whole message" 'MSG SIZE  rcvd: 4[0-9]{3}' "$out"

# 3. Negative answers, cached per RFC 2308 (SOA MINIMUM 60 here) ------------------------------------------------
out=$(q nx.example.test)
expect_eq "NXDOMAIN from upstream" NXDOMAIN "$(dig_status "$out")"
expect_match "NXDOMAIN carries the SOA" 'example\.test\. 60 IN SOA' "$(dig_section "$out" AUTHORITY | norm)"
sleep 1.2
out=$(q nx.example.test)
expect_match "NXDOMAIN from the cache: SOA TTL aged" 'example\.test\. (5[0-9]) IN SOA' "$(dig_section "$out" AUTHORITY | norm)"
out=$(q AAAA mail.example.test)
expect_eq "NODATA from upstream" "NOERROR/0" "$(dig_status "$out")/$(dig_section "$out" ANSWER | grep -c .)"

# 4. The client's ID and its 0x20 case come back unchanged ------------------------------------------------------
out=$(q WwW.ExAmPlE.TeSt)
expect_match "question echoed in the client's case" '^;WwW\.ExAmPlE\.TeSt\.[[:space:]]+IN[[:space:]]+A$' "$out"
expect_eq "answer with the client's case kept in the question" 192.0.2.10 "$(q +short WwW.ExAmPlE.TeSt)"
expect_nomatch "dig saw no ID mismatch" 'ID mismatch|reply from unexpected source' "$out"

# 5. Cluster names: authoritative as before, never through the upstream ----------------------------------------
out=$(q my-nginx.default.svc.cluster.local)
expect_eq "cluster name: aa, no upstream" "qr aa rd" "$(dig_flags "$out")"
expect_eq "search-path name: NXDOMAIN with aa" NXDOMAIN/0 \
  "$(out=$(q www.example.test.default.svc.cluster.local); echo "$(dig_status "$out")/$(has_flag "$out" aa; echo $?)")"

kill -0 "$SRV_PID" && ok "server still running" || bad "server died"
finish
