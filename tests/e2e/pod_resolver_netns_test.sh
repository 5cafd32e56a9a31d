#!/usr/bin/env bash
# What a pod expects of its resolver, from a pod's network namespace (resolv.conf: nameserver 10.96.0.10,
# search default.svc.cluster.local svc.cluster.local cluster.local, ndots:5; nsswitch `hosts: dns`) with
# real clients (glibc getent, dig +search, and a musl getaddrinfo client when musl-gcc is installed) and a
# real upstream (knotd on the namespace's loopback serving example.test and two reverse zones):
#   - an ExternalName to an outside name answers CNAME + the target's A (Kubernetes e2e "Forward external
#     name lookup"), over UDP and TCP, through the cache; a missing target is NXDOMAIN; a CNAME chain upstream
#   - reverse names of outside addresses are the upstream's (e2e "Forward PTR lookup"); cluster PTRs ours
#   - a headless service's addresses rotate per response
#   - --allow-recursion: a client outside it gets cluster names but REFUSED for the rest
#   - a stub domain covering a reverse zone forwards just that; --upstream none keeps the CNAME alone and
#     our NXDOMAIN, as before
#   - --dns-service: the apex NS glue follows the named Service
# Needs root and `ip netns`: exit 77 (skip) without them, or without knotd. Cleans up the netns and /etc/netns/NS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns add, bind mounts over /etc)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v getent >/dev/null || skip "no getent"
command -v knotd >/dev/null || skip "knotd not installed (Debian package knot)"
e2e_init
norm() { tr -s ' \t' '  '; }

NS=clusterdns-e2e-res-$$-$RANDOM
DNS_IP=10.96.0.10
OUTSIDER=203.0.113.7     # a public source address: outside the default --allow-recursion
POD_V6=fd00:10:244::99   # so that getaddrinfo's AI_ADDRCONFIG asks AAAA too
KNOT_PORT=5300           # inside the namespace: nothing else listens there
[ -e /etc/netns ] || E2E_CLEANUP+=("rmdir /etc/netns")
E2E_CLEANUP=("ip netns del $NS" "rm -rf /etc/netns/$NS" "${E2E_CLEANUP[@]}")
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
  E2E_CLEANUP=()
  skip "ip netns add failed (no CAP_SYS_ADMIN / netns support?): $(cat "$WORK/netns.err")"
fi
NSX=(ip netns exec "$NS")
"${NSX[@]}" ip link set lo up || die "lo up in $NS"
"${NSX[@]}" ip addr add $DNS_IP/32 dev lo || die "add $DNS_IP to lo in $NS"
"${NSX[@]}" ip addr add $OUTSIDER/32 dev lo || die "add $OUTSIDER to lo in $NS"
"${NSX[@]}" ip -6 addr add $POD_V6/128 dev lo nodad || die "add $POD_V6 to lo in $NS"
mkdir -p "/etc/netns/$NS"
cat >"/etc/netns/$NS/resolv.conf" <<EOF
nameserver $DNS_IP
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
EOF
echo "hosts: dns" >"/etc/netns/$NS/nsswitch.conf"
: >"/etc/netns/$NS/hosts"   # musl reads /etc/hosts before DNS: an empty one

# 1. The upstream: knotd inside the namespace, an outside zone and two reverse zones -------------------------
KD=$WORK/knot
mkdir -p "$KD/db"
write_example_zone "$KD/example.test.zone"
cat >>"$KD/example.test.zone" <<'ZONE'
chain  IN CNAME alias.example.test.
ZONE
cat >"$KD/rev4.zone" <<'ZONE'
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@   IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 60
@   IN NS ns.example.test.
10  IN PTR www.example.test.
ZONE
cat >"$KD/rev6.zone" <<'ZONE'
$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 300
@   IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 60
@   IN NS ns.example.test.
0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR www.example.test.
ZONE
cat >"$KD/knot.conf" <<EOF
server:
  rundir: "$KD"
  pidfile: "$KD/knot.pid"
  user: root:root
  listen: 127.0.0.1@$KNOT_PORT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
control:
  listen: "$KD/knot.sock"
log:
  - target: stderr
    any: info
database:
  storage: "$KD/db"
template:
  - id: default
    storage: "$KD"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: example.test
    file: example.test.zone
  - domain: 2.0.192.in-addr.arpa
    file: rev4.zone
  - domain: 8.b.d.0.1.0.0.2.ip6.arpa
    file: rev6.zone
EOF
"${NSX[@]}" knotd -c "$KD/knot.conf" >"$WORK/knot.log" 2>&1 &
E2E_PIDS+=("$!")
knot_up() { "${NSX[@]}" dig @127.0.0.1 -p $KNOT_PORT +tries=1 +time=1 +short SOA example.test 2>/dev/null | grep -q hostmaster; }
wait_for "knotd in $NS" 100 0.1 knot_up || { cat "$WORK/knot.log"; die "knotd not answering"; }

# 2. The registry: the examples, three ExternalNames and a headless service of three endpoints -------------
MAN=$WORK/manifests
mkdir -p "$MAN"
cp "$EXAMPLES"/*.yaml "$MAN/"
cat >"$MAN/resolver.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: default}
spec: {type: ExternalName, externalName: www.example.test}
---
apiVersion: v1
kind: Service
metadata: {name: ext-chain, namespace: default}
spec: {type: ExternalName, externalName: chain.example.test}
---
apiVersion: v1
kind: Service
metadata: {name: ext-missing, namespace: default}
spec: {type: ExternalName, externalName: missing.example.test}
---
apiVersion: v1
kind: Service
metadata: {name: rr, namespace: default}
spec:
  clusterIP: None
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: rr-abcde
  namespace: default
  labels: {kubernetes.io/service-name: rr}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.128.0.1]
- addresses: [10.128.0.2]
- addresses: [10.128.0.3]
EOF
printf 'search example.test\noptions timeout:1 attempts:2\n' >"$WORK/node-resolv.conf"
LOG=$WORK/server.log
# Two workers, whatever the machine: each rotates on its own, and ten queries over two of them give one
# at least five, so "every endpoint comes first" below holds however SO_REUSEPORT spreads them.
"${NSX[@]}" "$CLUSTERDNS" --source "file:$MAN" --listen $DNS_IP:53 --upstream 127.0.0.1:$KNOT_PORT \
  --resolv-conf "$WORK/node-resolv.conf" --http none --threads 2 >"$LOG" 2>&1 &
SRV_PID=$!
E2E_PIDS+=("$SRV_PID")
ready() { "${NSX[@]}" dig @$DNS_IP +tries=1 +time=1 +short A ext-missing.default.svc.cluster.local 2>/dev/null | grep -q .; }
if ! wait_for "clusterdns in $NS answering on $DNS_IP:53" 100 0.1 ready; then cat "$LOG"; die "server not ready"; fi
expect_match "log: forwarding only for the private networks by default" "for clients in 127\.0\.0\.0/8 10\.0\.0\.0/8 " "$(cat "$LOG")"

d() { "${NSX[@]}" dig +tries=1 +time=3 "$@" 2>&1; }  # the pod's dig: resolv.conf's server, search list
gh() { GH=$("${NSX[@]}" timeout 20 getent "${2:-hosts}" "$1"); GETENT_RC=$?; GH=$(norm <<<"$GH"); }

# 3. ExternalName to an outside name ----------------------------------------------------------------------------
out=$(d +search +short ext)
echo "$out" | sed 's/^/     dig +search +short ext: /'
expect_eq "dig +search ext: CNAME then the target's A (e2e Forward external name lookup)" \
  "$(printf 'www.example.test.\n192.0.2.10')" "$out"
full=$(d +search ext)
expect_eq "ext: NOERROR" NOERROR "$(dig_status "$full")"
expect_match "ext: authoritative for the alias, recursion available" '^(.* )?qr aa rd ra$' "$(dig_flags "$full")"
ttl=$(dig_section "$full" ANSWER | awk '$4=="A"{print $2}')
expect_match "the target's TTL (300 upstream) capped by the CNAME's 30 ($ttl)" '^([0-9]|[12][0-9]|30)$' "$ttl"
expect_eq "over TCP too (from the cache)" "$(printf 'www.example.test.\n192.0.2.10')" "$(d +tcp +search +short ext)"
expect_eq "AAAA through the same path" "$(printf 'www.example.test.\n2001:db8::10')" "$(d +search +short ext AAAA)"
gh ext
echo "     getent hosts ext: $GH"
expect_eq "getent hosts ext (glibc, IPv6 first): found, named by the target, aliased by the service" \
  "0 2001:db8::10 www.example.test ext.default.svc.cluster.local" "$GETENT_RC $GH"
gh ext ahostsv4
expect_eq "getent ahostsv4 ext: the target's IPv4 address" "192.0.2.10 STREAM www.example.test" "$(head -n1 <<<"$GH")"
gh ext ahostsv6
expect_match "getent ahostsv6 ext: the target's IPv6 address" '^2001:db8::10 STREAM www\.example\.test' "$GH"
expect_eq "a CNAME chain upstream: all of it" \
  "$(printf 'chain.example.test.\nalias.example.test.\nwww.example.test.\n192.0.2.10')" "$(d +search +short ext-chain)"
miss=$(d ext-missing.default.svc.cluster.local)  # (dig +search would go on to the next search domain)
expect_eq "missing target: NXDOMAIN (RFC 6604: the RCODE of the last name)" NXDOMAIN "$(dig_status "$miss")"
expect_match "missing target: the CNAME is still there" 'ext-missing\.default\.svc\.cluster\.local\. +[0-9]+ +IN +CNAME +missing\.example\.test\.' "$(dig_section "$miss" ANSWER)"
expect_match "missing target: the upstream's SOA, TTL capped" 'example\.test\.[[:space:]]+([0-9]|[12][0-9]|30)[[:space:]]+IN[[:space:]]+SOA[[:space:]]' "$(dig_section "$miss" AUTHORITY)"
gh ext-missing
expect_eq "getent hosts ext-missing: not found" 2 "$GETENT_RC"

# 4. Reverse names ------------------------------------------------------------------------------------------------
rev=$(d -x 192.0.2.10)
expect_eq "dig -x 192.0.2.10: the upstream's PTR (e2e Forward PTR lookup)" "www.example.test." "$(d +short -x 192.0.2.10)"
expect_eq "dig -x 192.0.2.10: NOERROR, no in-addr.arpa SOA of ours" "NOERROR 0" "$(dig_status "$rev") $(dig_section "$rev" AUTHORITY | grep -c 'ns\.dns\.cluster\.local')"
expect_eq "dig -x 2001:db8::10: the upstream's PTR" "www.example.test." "$(d +short -x 2001:db8::10)"
gh 192.0.2.10
expect_eq "getent hosts 192.0.2.10 (glibc PTR)" "192.0.2.10 www.example.test" "$GH"
own=$(d -x 10.0.162.149)
expect_eq "dig -x of a cluster IP: still ours" "my-nginx.default.svc.cluster.local." "$(dig_section "$own" ANSWER | awk '{print $5}')"
expect_match "dig -x of a cluster IP: authoritative" ' aa ' " $(dig_flags "$own") "

# 5. Round robin ----------------------------------------------------------------------------------------------
firsts=""
for i in $(seq 1 10); do
  ans=$(d +short rr.default.svc.cluster.local | tr '\n' ' ')
  echo "     rr answer $i: $ans"
  firsts+="$(cut -d' ' -f1 <<<"$ans")"$'\n'
  expect_eq "rr answer $i: the same three addresses" "10.128.0.1 10.128.0.2 10.128.0.3" "$(tr ' ' '\n' <<<"$ans" | grep . | sort | tr '\n' ' ' | sed 's/ $//')"
done
expect_eq "rr: every endpoint comes first in turn" 3 "$(grep . <<<"$firsts" | sort -u | wc -l)"

# 6. --allow-recursion (default: private networks) ---------------------------------------------------------------
o=$(d -b $OUTSIDER @$DNS_IP www.example.test)
expect_eq "from $OUTSIDER: forwarding REFUSED (no open resolver)" REFUSED "$(dig_status "$o")"
o=$(d -b $OUTSIDER @$DNS_IP my-nginx.default.svc.cluster.local)
expect_eq "from $OUTSIDER: cluster names answered" "NOERROR 10.0.162.149" "$(dig_status "$o") $(dig_section "$o" ANSWER | awk '{print $5}')"
o=$(d -b $OUTSIDER @$DNS_IP ext.default.svc.cluster.local)
expect_eq "from $OUTSIDER: an ExternalName is the CNAME alone" "NOERROR 1" "$(dig_status "$o") $(dig_section "$o" ANSWER | grep -c .)"
o=$(d -b $OUTSIDER @$DNS_IP -x 192.0.2.10)
expect_eq "from $OUTSIDER: an outside reverse name is our NXDOMAIN" NXDOMAIN "$(dig_status "$o")"
expect_eq "from the pod: still forwarded" "192.0.2.10" "$(d +short www.example.test)"

# 7. musl's stub resolver (if musl-gcc is installed: Debian package musl-tools) -----------------------------------
if command -v musl-gcc >/dev/null; then
  cat >"$WORK/gai.c" <<'EOF'
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char** argv) {
  struct addrinfo hints, *res, *p;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_CANONNAME;
  int rc = getaddrinfo(argv[1], NULL, &hints, &res);
  if (rc != 0) { printf("error %d\n", rc); return 2; }
  char buf[64];
  printf("%s", res->ai_canonname ? res->ai_canonname : "-");
  for (p = res; p; p = p->ai_next)
    printf(" %s", inet_ntop(AF_INET, &((struct sockaddr_in*)p->ai_addr)->sin_addr, buf, sizeof buf));
  printf("\n");
  freeaddrinfo(res);
  return 0;
}
EOF
  if musl-gcc -static -O1 -o "$WORK/gai-musl" "$WORK/gai.c" 2>"$WORK/musl.err"; then
    expect_eq "musl getaddrinfo ext: the target" "www.example.test 192.0.2.10" "$("${NSX[@]}" timeout 20 "$WORK/gai-musl" ext)"
    expect_eq "musl getaddrinfo my-nginx (search list)" "my-nginx.default.svc.cluster.local 10.0.162.149" "$("${NSX[@]}" timeout 20 "$WORK/gai-musl" my-nginx)"
    mu=$("${NSX[@]}" timeout 20 "$WORK/gai-musl" ext-missing)
    expect_match "musl getaddrinfo ext-missing: not found" '^error ' "$mu"
  else
    bad "musl-gcc could not build a static client: $(cat "$WORK/musl.err")"
  fi
else
  echo "     (musl-gcc not installed: Debian package musl-tools; the musl checks are skipped)"
fi

kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?

# 8. A stub domain covering a reverse zone, no default upstream: only what it covers is forwarded --------------------
STUB_IP=10.96.0.11
"${NSX[@]}" ip addr add $STUB_IP/32 dev lo || die "add $STUB_IP to lo in $NS"
"${NSX[@]}" "$CLUSTERDNS" --source "file:$MAN" --listen $STUB_IP:53 --upstream none --http none \
  --stub-domain 2.0.192.in-addr.arpa=127.0.0.1:$KNOT_PORT >"$WORK/stub.log" 2>&1 &
E2E_PIDS+=("$!")
stub_ready() { "${NSX[@]}" dig @$STUB_IP +tries=1 +time=1 +short SOA cluster.local 2>/dev/null | grep -q .; }
wait_for "the stub-domain server" 100 0.1 stub_ready || { cat "$WORK/stub.log"; die "stub server not ready"; }
expect_eq "stub domain 2.0.192.in-addr.arpa: dig -x 192.0.2.10 through it" "www.example.test." "$(d @$STUB_IP +short -x 192.0.2.10)"
expect_eq "stub domain: dig -x 198.51.100.1 (no route): our NXDOMAIN" NXDOMAIN "$(dig_status "$(d @$STUB_IP -x 198.51.100.1)")"
expect_eq "stub domain: ext (no route to example.test): the CNAME alone" "www.example.test." "$(d @$STUB_IP +short ext.default.svc.cluster.local)"

# 9. --upstream none, and --dns-service (root namespace, loopback) ------------------------------------------------
start_server glue --source "file:$MAN" --dns-service default/my-nginx
expect_eq "--upstream none: ext is the CNAME alone, as before" "www.example.test." "$(qs A ext.default.svc.cluster.local)"
expect_eq "--upstream none: dig -x 192.0.2.10 is our NXDOMAIN, as before" NXDOMAIN "$(dig_status "$(q -x 192.0.2.10)")"
expect_eq "--dns-service default/my-nginx: ns.dns.cluster.local glued to its cluster IP" "10.0.162.149" "$(qs A ns.dns.cluster.local)"
stop_server "$SRV_PID"
start_server glue-default --source "file:$EXAMPLES"
expect_eq "default: glued to kube-system/kube-dns" "10.0.0.10" "$(qs A ns.dns.cluster.local)"
finish
