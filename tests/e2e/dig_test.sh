#!/usr/bin/env bash
# build/clusterdns on examples/, queried with dig, kdig and nslookup over UDP and TCP: the README's demo lines,
# SRV with additional data, NXDOMAIN + SOA, REFUSED outside the zones, RD copied / RA clear, 0x20 case echo,
# EDNS (OPT echo, BADVERS), AXFR refused by default and SOA-framed with --allow-transfer.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
need_tool kdig knot-dnsutils
need_tool nslookup bind9-dnsutils

NGINX=my-nginx.default.svc.cluster.local
SOA_RE='^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. [0-9]+ 7200 1800 86400 30$'
norm() { tr -s ' \t' '  '; }   # dig aligns with tabs: compare RRs with single spaces

V6=""; [ -n "$(ip -6 addr show dev lo 2>/dev/null | grep -F '::1/128')" ] && V6=1
if [ -n "$V6" ]; then
  start_server main --source "file:$EXAMPLES" --listen 127.0.0.1:0 --listen '[::1]:0'
  PORT6=$(grep -Eo '^\[::1\]:[0-9]+$' "$SRV_PORT_FILE" | head -n1 | grep -Eo '[0-9]+$')
else
  start_server main --source "file:$EXAMPLES"
fi

# 1. The demo lines, UDP and TCP ------------------------------------------------------------------------------
for tr in notcp tcp; do
  if [ $tr = tcp ]; then TR=TCP; else TR=UDP; fi
  out=$(q +$tr A $NGINX)
  expect_eq "$TR: $NGINX status" NOERROR "$(dig_status "$out")"
  expect_eq "$TR: $NGINX flags (aa, rd copied, no ra)" "qr aa rd" "$(dig_flags "$out")"
  expect_eq "$TR: $NGINX answer" "$NGINX. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"
  expect_match "$TR: answered over $TR" "^;; SERVER: 127\.0\.0\.1#$SRV_PORT\(127\.0\.0\.1\) \($TR\)" "$out"
  expect_eq "$TR: dig -x 10.0.162.149" "$NGINX." "$(q +$tr +short -x 10.0.162.149)"
  out=$(q +$tr -x 10.0.162.149)
  expect_eq "$TR: PTR has aa" 0 "$(has_flag "$out" aa; echo $?)"
  expect_eq "$TR: kubernetes.default A" "10.0.0.1" "$(qs A kubernetes.default.svc.cluster.local +$tr)"
  expect_eq "$TR: headless web A (ready endpoints only)" $'10.244.1.10\n10.244.1.11' "$(qs A web.default.svc.cluster.local +$tr)"
  expect_eq "$TR: dual AAAA" "fd00:10:96::55" "$(qs AAAA dual.default.svc.cluster.local +$tr)"
  expect_eq "$TR: ExternalName CNAME" "search.example.com." "$(qs CNAME ext-search.default.svc.cluster.local +$tr)"
done

vc=""
for TR in UDP TCP; do
  out=$(nslookup $vc -port="$SRV_PORT" -timeout=2 -retry=1 kube-dns.kube-system.svc.cluster.local 127.0.0.1 2>&1)
  expect_match "nslookup $TR: server" "^Address:[[:space:]]+127\.0\.0\.1#$SRV_PORT$" "$out"
  expect_eq "nslookup $TR: kube-dns answer" $'Name:\tkube-dns.kube-system.svc.cluster.local\nAddress: 10.0.0.10' \
    "$(sed -n '/^Name:/,$p' <<<"$out" | grep -v '^$')"
  vc=-vc
done

for tr in notcp tcp; do
  out=$(kq +$tr A $NGINX)
  expect_match "kdig +$tr: NOERROR with aa" '^;; Flags: qr aa rd;' "$out"
  expect_match "kdig +$tr: answer" "^$NGINX\.[[:space:]]+30[[:space:]]+IN[[:space:]]+A[[:space:]]+10\.0\.162\.149$" "$out"
  expect_eq "kdig +$tr +short" "10.0.162.149" "$(kq +$tr +short A $NGINX)"
  expect_eq "kdig +$tr -x" "$NGINX." "$(kq +$tr +short -x 10.0.162.149)"
done
expect_match "kdig +tcp used TCP" "^;; From 127\.0\.0\.1@$SRV_PORT\(TCP\)" "$(kq +tcp A $NGINX)"

# 2. SRV with the targets' addresses in the additional section ------------------------------------------------------
out=$(q SRV _http._tcp.$NGINX)
expect_eq "SRV _http._tcp.my-nginx answer" "_http._tcp.$NGINX. 30 IN SRV 0 100 80 $NGINX." "$(dig_section "$out" ANSWER | norm)"
expect_eq "SRV _http._tcp.my-nginx additional" "$NGINX. 30 IN A 10.0.162.149" "$(dig_section "$out" ADDITIONAL | norm)"
out=$(q SRV _http._tcp.web.default.svc.cluster.local)
expect_eq "SRV headless web answer" \
  $'_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 50 80 web-0.web.default.svc.cluster.local.\n_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 50 80 web-1.web.default.svc.cluster.local.' \
  "$(dig_section "$out" ANSWER | norm | sort)"
expect_eq "SRV headless web additional" \
  $'web-0.web.default.svc.cluster.local. 30 IN A 10.244.1.10\nweb-1.web.default.svc.cluster.local. 30 IN A 10.244.1.11' \
  "$(dig_section "$out" ADDITIONAL | norm | sort)"
expect_eq "SRV _dns._udp.kube-dns" "0 100 53 kube-dns.kube-system.svc.cluster.local." \
  "$(qs SRV _dns._udp.kube-dns.kube-system.svc.cluster.local)"
out=$(q SRV kube-dns.kube-system.svc.cluster.local)
expect_eq "SRV kube-dns (2 targets, same host): additional A once, no duplicate RR" \
  "kube-dns.kube-system.svc.cluster.local. 30 IN A 10.0.0.10" "$(dig_section "$out" ADDITIONAL | norm)"

# 3. Negative answers ------------------------------------------------------------------------------------------------
out=$(q A nonexistent.default.svc.cluster.local)
expect_eq "NXDOMAIN status" NXDOMAIN "$(dig_status "$out")"
expect_eq "NXDOMAIN has aa" 0 "$(has_flag "$out" aa; echo $?)"
expect_eq "NXDOMAIN: empty answer" "" "$(dig_section "$out" ANSWER)"
expect_match "NXDOMAIN: zone SOA in authority" "$SOA_RE" "$(dig_section "$out" AUTHORITY | norm)"
expect_eq "NXDOMAIN: exactly one authority RR" 1 "$(dig_section "$out" AUTHORITY | grep -c .)"
out=$(q +tcp A nonexistent.default.svc.cluster.local)
expect_eq "NXDOMAIN over TCP" NXDOMAIN "$(dig_status "$out")"
out=$(q AAAA $NGINX)
expect_eq "NODATA (AAAA on a v4 service): NOERROR" NOERROR "$(dig_status "$out")"
expect_match "NODATA: SOA in authority" "$SOA_RE" "$(dig_section "$out" AUTHORITY | norm)"
expect_eq "NODATA: empty answer" "" "$(dig_section "$out" ANSWER)"

out=$(q A example.com)
expect_eq "example.com: REFUSED" REFUSED "$(dig_status "$out")"
expect_eq "example.com: no answer" "" "$(dig_section "$out" ANSWER)"
expect_eq "example.com: no aa (not authoritative for it)" 1 "$(has_flag "$out" aa; echo $?)"
expect_eq "example.com over TCP: REFUSED" REFUSED "$(dig_status "$(q +tcp A example.com)")"
expect_match "kdig example.com: REFUSED" 'status: REFUSED' "$(kq A example.com)"

# 4. +norec, 0x20 case echo -------------------------------------------------------------------------------------------
out=$(q +norec A $NGINX)
expect_eq "+norec: flags (rd not set, aa)" "qr aa" "$(dig_flags "$out")"
expect_eq "+norec: answer" "$NGINX. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"
for name in MY-NGINX.default.svc.cluster.local mY-NgInX.DeFaUlT.SVC.Cluster.LOCAL; do
  out=$(q A $name)
  expect_match "0x20: question echoed as $name" "^;$name\.[[:space:]]+IN[[:space:]]+A$" "$out"
  expect_eq "0x20: owner echoed as $name" "$name. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"
done
out=$(q +tcp A MY-NGINX.default.svc.cluster.local)
expect_eq "0x20 over TCP" "MY-NGINX.default.svc.cluster.local. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"

# 5. EDNS ----------------------------------------------------------------------------------------------------------
out=$(q +bufsize=1232 A $NGINX)
expect_match "+bufsize=1232: OPT echoed (version 0)" '^; EDNS: version: 0, flags:; udp: [0-9]+$' "$out"
out=$(q +noedns A $NGINX)
expect_nomatch "+noedns: no OPT in the reply" 'OPT PSEUDOSECTION' "$out"
expect_eq "+noedns: answer" "$NGINX. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"
out=$(q +edns=1 +noednsnegotiation A $NGINX)
expect_eq "+edns=1: BADVERS" BADVERS "$(dig_status "$out")"
expect_match "+edns=1: OPT says version 0" '^; EDNS: version: 0,' "$out"
expect_eq "+edns=1: no answer" "" "$(dig_section "$out" ANSWER)"
expect_match "kdig +edns=1: BADVERS" 'status: BADVERS' "$(kq +edns=1 A $NGINX)"

# 6. Other protocol hygiene, and the IPv6 listener ------------------------------------------------------------------------
out=$(q +opcode=status A $NGINX)
expect_eq "opcode STATUS: NOTIMP" NOTIMP "$(dig_status "$out")"
expect_match "opcode STATUS: OPT echoed (RFC 6891 7: every reply to an OPT query carries OPT)" '^; EDNS: version: 0' "$out"
out=$(q CH TXT version.bind)
expect_eq "class CH: REFUSED" REFUSED "$(dig_status "$out")"
out=$(q ANY $NGINX)
expect_eq "ANY: one RRset only (RFC 8482), no amplification" "$NGINX. 30 IN A 10.0.162.149" "$(dig_section "$out" ANSWER | norm)"
expect_eq "dns-version TXT" '"1.1.0"' "$(qs TXT dns-version.cluster.local)"
if [ -n "$V6" ]; then
  expect_eq "[::1] UDP: my-nginx" 10.0.162.149 "$(dig @::1 -p "$PORT6" +tries=1 +time=2 +short A $NGINX)"
  expect_eq "[::1] TCP: PTR of fd00:10:96::55" dual.default.svc.cluster.local. "$(dig @::1 -p "$PORT6" +tcp +tries=1 +time=2 +short -x fd00:10:96::55)"
else
  echo "     (no ::1 on lo: IPv6 listener not tested)"
fi

# 7. AXFR ------------------------------------------------------------------------------------------------------------
expect_match "AXFR without --allow-transfer: refused" "Transfer failed|REFUSED" "$(q AXFR cluster.local)"
expect_match "kdig AXFR without --allow-transfer: REFUSED" "REFUSED" "$(kq AXFR cluster.local)"
expect_eq "AXFR refused: no records" "" "$(q AXFR cluster.local +noall +answer | grep -v '^;')"
MAIN_PORT=$SRV_PORT

start_server xfr --source "file:$EXAMPLES" --allow-transfer 127.0.0.1/32
out=$(q +tcp AXFR cluster.local +noall +answer | grep -v '^;' | grep . | norm)
first=$(head -n1 <<<"$out")
expect_match "AXFR: first record is the SOA" "$SOA_RE" "$first"
expect_eq "AXFR: last record is the same SOA" "$first" "$(tail -n1 <<<"$out")"
expect_eq "AXFR: exactly 2 SOA" 2 "$(grep -c ' IN SOA ' <<<"$out")"
for rr in "$NGINX. 30 IN A 10.0.162.149" "kube-dns.kube-system.svc.cluster.local. 30 IN A 10.0.0.10" \
  "web-0.web.default.svc.cluster.local. 30 IN A 10.244.1.10" "dual.default.svc.cluster.local. 30 IN AAAA fd00:10:96::55" \
  "ext-search.default.svc.cluster.local. 30 IN CNAME search.example.com." \
  "_http._tcp.$NGINX. 30 IN SRV 0 100 80 $NGINX."; do
  expect_eq "AXFR contains: $rr" 1 "$(grep -cxF "$rr" <<<"$out")"
done
expect_eq "AXFR: no PTR records" 0 "$(grep -c ' IN PTR ' <<<"$out")"
expect_eq "AXFR: no not-ready endpoint web-2" 0 "$(grep -c 'web-2' <<<"$out")"
expect_eq "AXFR: no duplicate records" "" "$(sort <<<"$out" | uniq -d | grep -v ' IN SOA ')"
expect_match "kdig AXFR with --allow-transfer" "^cluster\.local\.[[:space:]]+30[[:space:]]+IN[[:space:]]+SOA[[:space:]]" "$(kq AXFR cluster.local)"
expect_match "AXFR over UDP still refused" "REFUSED" "$(kq +notcp AXFR cluster.local)"
expect_match "IXFR with --allow-transfer: SOA-framed" "$SOA_RE" "$(q IXFR=1 cluster.local +noall +answer | grep -v '^;' | head -n1 | norm)"

kill -0 "$SRV_PID" && kill -0 "${E2E_PIDS[0]}"
expect_eq "both servers still running" 0 $?
finish
