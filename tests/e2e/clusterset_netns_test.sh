#!/usr/bin/env bash
# clusterset.local as a pod resolves it: clusterdns --clusterset-zone clusterset.local listens on 10.96.0.10:53
# inside a network namespace this test creates, whose resolv.conf is a pod's (the cluster search list only:
# clusterset.local is not in it, KEP-1645) and whose nsswitch.conf says `hosts: dns`. glibc (getent) resolves
# ClusterSetIP and headless imports and per-cluster endpoint names from the ServiceImports and multicluster
# EndpointSlices of tests/golden/fixtures/clusterset.yaml; dig checks the same from outside. Needs root and
# `ip netns`: exit 77 (skip) without them. Cleans up the netns and /etc/netns/NS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns add, bind mounts over /etc)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v getent >/dev/null || skip "no getent"
e2e_init
FIXTURE=$SOURCE_DIR/tests/golden/fixtures/clusterset.yaml

# dig first, from the host, against the same manifests on a loopback port.
start_server dig --source "file:$FIXTURE" --clusterset-zone clusterset.local
expect_eq "dig web.shop.svc.clusterset.local A (ClusterSetIP)" 10.42.0.7 "$(qs A web.shop.svc.clusterset.local)"
expect_eq "dig dual.shop.svc.clusterset.local AAAA" fd00:42::8 "$(qs AAAA dual.shop.svc.clusterset.local)"
expect_eq "dig _http._tcp.web SRV" "0 100 80 web.shop.svc.clusterset.local." "$(qs SRV _http._tcp.web.shop.svc.clusterset.local)"
expect_eq "dig db.shop.svc.clusterset.local A (headless, ready endpoints of both clusters)" \
  $'10.1.0.7\n10.1.0.8\n10.2.0.7' "$(qs A db.shop.svc.clusterset.local)"
expect_eq "dig db-0.cluster-b.db A" 10.2.0.7 "$(qs A db-0.cluster-b.db.shop.svc.clusterset.local)"
expect_eq "dig idle (headless, no ready endpoint): NXDOMAIN" NXDOMAIN "$(dig_status "$(q A idle.shop.svc.clusterset.local)")"
expect_eq "dig pending (no IP yet): NODATA" "NOERROR 0" \
  "$(out=$(q A pending.shop.svc.clusterset.local); echo "$(dig_status "$out") $(dig_section "$out" ANSWER | wc -l)")"
expect_eq "dig web.shop.svc.cluster.local: the local Service, not the import" 10.96.0.10 "$(qs A web.shop.svc.cluster.local)"
stop_server "$SRV_PID"

NS=clusterdns-e2e-cs-$$-$RANDOM
DNS_IP=10.96.0.10
POD_V6=fd00:10:244::99   # the "pod" has an IPv6 address too, or getaddrinfo's AI_ADDRCONFIG skips AAAA
[ -e /etc/netns ] || E2E_CLEANUP+=("rmdir /etc/netns")   # runs last: only if this test created it
E2E_CLEANUP=("ip netns del $NS" "rm -rf /etc/netns/$NS" "${E2E_CLEANUP[@]}")
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
  E2E_CLEANUP=()
  skip "ip netns add failed (no CAP_SYS_ADMIN / netns support?): $(cat "$WORK/netns.err")"
fi
NSX=(ip netns exec "$NS")
"${NSX[@]}" ip link set lo up || die "lo up in $NS"
"${NSX[@]}" ip addr add $DNS_IP/32 dev lo || die "add $DNS_IP to lo in $NS"
"${NSX[@]}" ip -6 addr add $POD_V6/128 dev lo nodad || die "add $POD_V6 to lo in $NS"

mkdir -p "/etc/netns/$NS"
cat >"/etc/netns/$NS/resolv.conf" <<EOF
nameserver $DNS_IP
search shop.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
EOF
echo "hosts: dns" >"/etc/netns/$NS/nsswitch.conf"

LOG=$WORK/netns-server.log
"${NSX[@]}" "$CLUSTERDNS" --source "file:$FIXTURE" --clusterset-zone clusterset.local --listen $DNS_IP:53 \
  --upstream none >"$LOG" 2>&1 &
SRV_PID=$!
E2E_PIDS+=("$SRV_PID")
ready() { "${NSX[@]}" dig @$DNS_IP +tries=1 +time=1 +short SOA clusterset.local 2>/dev/null | grep -q 'ns\.dns\.cluster\.local\.'; }
if ! wait_for "clusterdns in $NS answering on $DNS_IP:53" 50 0.1 ready; then cat "$LOG"; die "server not ready"; fi
expect_eq "the pod's /etc/resolv.conf is ours" "nameserver $DNS_IP" "$("${NSX[@]}" head -n1 /etc/resolv.conf)"

# gh NAME [DATABASE]: `getent DATABASE NAME` (default hosts) inside the pod; sets GH (whitespace squeezed)
# and GETENT_RC (0 found, 2 not found).
gh() { GH=$("${NSX[@]}" timeout 20 getent "${2:-hosts}" "$1"); GETENT_RC=$?; GH=$(tr -s ' \t' '  ' <<<"$GH"); }

expect_eq "getent hosts web.shop.svc.clusterset.local (ClusterSetIP)" \
  "10.42.0.7 web.shop.svc.clusterset.local" "$(gh web.shop.svc.clusterset.local; echo "$GH")"
expect_eq "getent hosts web.shop.svc.clusterset.local. (absolute)" \
  "10.42.0.7 web.shop.svc.clusterset.local" "$(gh web.shop.svc.clusterset.local.; echo "$GH")"
expect_eq "getent ahostsv6 dual.shop.svc.clusterset.local" "fd00:42::8" \
  "$(gh dual.shop.svc.clusterset.local ahostsv6; cut -d' ' -f1 <<<"$GH" | sort -u)"
expect_eq "getent ahostsv4 db.shop.svc.clusterset.local (headless: every ready endpoint)" \
  $'10.1.0.7\n10.1.0.8\n10.2.0.7' "$(gh db.shop.svc.clusterset.local ahostsv4; cut -d' ' -f1 <<<"$GH" | sort -u)"
expect_eq "getent hosts db-0.cluster-a.db.shop.svc.clusterset.local" \
  "10.1.0.7 db-0.cluster-a.db.shop.svc.clusterset.local" "$(gh db-0.cluster-a.db.shop.svc.clusterset.local; echo "$GH")"
expect_eq "getent hosts 10-1-0-8.cluster-a.db.shop.svc.clusterset.local (no hostname: dashed IP)" \
  "10.1.0.8 10-1-0-8.cluster-a.db.shop.svc.clusterset.local" \
  "$(gh 10-1-0-8.cluster-a.db.shop.svc.clusterset.local; echo "$GH")"
# The short name is the local Service (the search list is the cluster's): the import needs its full name.
expect_eq "getent hosts web (search list): the local Service" "10.96.0.10 web.shop.svc.cluster.local" \
  "$(gh web; echo "$GH")"
gh web.shop.svc.clusterset
expect_eq "getent hosts web.shop.svc.clusterset: not found (clusterset.local is not searched)" 2 "$GETENT_RC"
gh idle.shop.svc.clusterset.local
expect_eq "getent hosts idle (no ready endpoint): not found" 2 "$GETENT_RC"
gh db-2.cluster-a.db.shop.svc.clusterset.local
expect_eq "getent hosts db-2 (not ready): not found" 2 "$GETENT_RC"

kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?
finish
