#!/usr/bin/env bash
# As a pod sees it: clusterdns listens on 10.96.0.10:53 inside a network namespace this test creates, whose
# resolv.conf is a pod's (nameserver 10.96.0.10, search default.svc.cluster.local svc.cluster.local
# cluster.local, options ndots:5) and whose nsswitch.conf says `hosts: dns` (no /etc/hosts). The system
# resolver (glibc, through getent) then resolves short names. `ip netns exec` bind-mounts /etc/netns/NS/*
# over /etc/*. Needs root and `ip netns`: exit 77 (skip) without them. Cleans up the netns and /etc/netns/NS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns add, bind mounts over /etc)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v getent >/dev/null || skip "no getent"
e2e_init

NS=clusterdns-e2e-$$-$RANDOM
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
search default.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
EOF
echo "hosts: dns" >"/etc/netns/$NS/nsswitch.conf"

# The server, inside the namespace (ip netns exec execs it, so $! is clusterdns itself).
LOG=$WORK/netns-server.log
"${NSX[@]}" "$CLUSTERDNS" --source "file:$EXAMPLES" --listen $DNS_IP:53 >"$LOG" 2>&1 &
SRV_PID=$!
E2E_PIDS+=("$SRV_PID")
ready() { "${NSX[@]}" dig @$DNS_IP +tries=1 +time=1 +short SOA cluster.local 2>/dev/null | grep -q 'ns\.dns\.cluster\.local\.'; }
if ! wait_for "clusterdns in $NS answering on $DNS_IP:53" 50 0.1 ready; then cat "$LOG"; die "server not ready"; fi
expect_eq "the process recorded is clusterdns" clusterdns "$(ps -o comm= -p "$SRV_PID")"
expect_match "log: serving on $DNS_IP:53" "serving cluster\.local on 10\.96\.0\.10:53 " "$(cat "$LOG")"

expect_eq "the pod's /etc/resolv.conf is ours" "nameserver $DNS_IP" "$("${NSX[@]}" head -n1 /etc/resolv.conf)"
expect_eq "the pod's nsswitch.conf is ours" "hosts: dns" "$("${NSX[@]}" cat /etc/nsswitch.conf)"

# gh NAME [DATABASE]: `getent DATABASE NAME` (default hosts) inside the pod; sets GH (output, whitespace
# squeezed) and GETENT_RC (exit status: 0 found, 2 not found)
gh() { GH=$("${NSX[@]}" timeout 20 getent "${2:-hosts}" "$1"); GETENT_RC=$?; GH=$(tr -s ' \t' '  ' <<<"$GH"); }

expect_eq "getent hosts my-nginx" "10.0.162.149 my-nginx.default.svc.cluster.local" "$(gh my-nginx; echo "$GH")"
expect_eq "getent hosts kube-dns.kube-system" "10.0.0.10 kube-dns.kube-system.svc.cluster.local" "$(gh kube-dns.kube-system; echo "$GH")"
expect_eq "getent hosts web-0.web" "10.244.1.10 web-0.web.default.svc.cluster.local" "$(gh web-0.web; echo "$GH")"
expect_eq "getent hosts kubernetes.default.svc (3rd search domain)" "10.0.0.1 kubernetes.default.svc.cluster.local" "$(gh kubernetes.default.svc; echo "$GH")"
expect_eq "getent hosts kubernetes.default.svc.cluster.local (4 dots < ndots:5)" "10.0.0.1 kubernetes.default.svc.cluster.local" \
  "$(gh kubernetes.default.svc.cluster.local; echo "$GH")"
expect_eq "getent hosts 10.0.162.149 (PTR)" "10.0.162.149 my-nginx.default.svc.cluster.local" "$(gh 10.0.162.149; echo "$GH")"
expect_eq "getent ahostsv6 dual: the IPv6 address" "fd00:10:96::55 STREAM dual.default.svc.cluster.local" \
  "$(gh dual ahostsv6; grep STREAM <<<"$GH")"
expect_eq "getent ahostsv6 dual: only the IPv6 address" "fd00:10:96::55" "$(gh dual ahostsv6; cut -d' ' -f1 <<<"$GH" | sort -u)"
expect_eq "getent ahostsv4 dual: the IPv4 address" "10.0.55.5" "$(gh dual ahostsv4; cut -d' ' -f1 <<<"$GH" | sort -u)"

gh nonexistent-svc
expect_eq "getent hosts nonexistent-svc: exit 2 (not found)" 2 "$GETENT_RC"
expect_eq "getent hosts nonexistent-svc: no output" "" "$GH"
gh example.com
expect_eq "getent hosts example.com: not found (REFUSED, no forwarding)" 2 "$GETENT_RC"
gh web-2.web
expect_eq "getent hosts web-2.web (not ready): not found" 2 "$GETENT_RC"

kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?
finish
