#!/usr/bin/env bash
# Node-local mode in a network namespace this test creates: `--node-local 169.254.20.10` makes a dummy
# interface "nodelocaldns" holding the address (rtnetlink, needs CAP_NET_ADMIN), listens on it, forwards
# cluster names to the "cluster DNS service" (a second clusterdns on 10.96.0.10 in the same namespace) over
# TCP (--stub-domain, --upstream-tcp) and caches them; removes the interface at exit. Without CAP_NET_ADMIN
# it fails in one clear line, unless the address is already there. Needs root and `ip netns` (else skip).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (ip netns add)"
command -v ip >/dev/null || skip "no ip command (iproute2)"
e2e_init
need_tool curl curl

NS=clusterdns-nl-$$-$RANDOM
NS2=clusterdns-nl2-$$-$RANDOM
E2E_CLEANUP=("ip netns del $NS" "ip netns del $NS2")
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
  E2E_CLEANUP=()
  skip "ip netns add failed (no CAP_SYS_ADMIN / netns support?): $(cat "$WORK/netns.err")"
fi
ip netns add "$NS2" || die "ip netns add $NS2"
NSX=(ip netns exec "$NS")
"${NSX[@]}" ip link set lo up || die "lo up"
"${NSX[@]}" ip addr add 10.96.0.10/32 dev lo || die "10.96.0.10 on lo"
LOCAL=169.254.20.10

# The cluster DNS service: a normal clusterdns with the registry, on 10.96.0.10:53, metrics on 127.0.0.1:9153.
"${NSX[@]}" "$CLUSTERDNS" --source "file:$EXAMPLES" --listen 10.96.0.10:53 --http 127.0.0.1:9153 --upstream none \
  >"$WORK/cluster.log" 2>&1 &
E2E_PIDS+=($!)
up() { "${NSX[@]}" dig @10.96.0.10 +tries=1 +time=1 +short my-nginx.default.svc.cluster.local 2>/dev/null | grep -q 10.0.162.149; }
wait_for "cluster DNS on 10.96.0.10" 50 0.1 up || { cat "$WORK/cluster.log"; die "cluster DNS did not start"; }

expect_eq "no nodelocaldns interface yet" "" "$("${NSX[@]}" ip -o link show nodelocaldns 2>/dev/null)"
"${NSX[@]}" "$CLUSTERDNS" --node-local $LOCAL --http 127.0.0.1:9253 --lameduck 1s \
  --stub-domain cluster.local=10.96.0.10 --stub-domain in-addr.arpa=10.96.0.10 --upstream none --upstream-tcp \
  --cache-size 1000 >"$WORK/nodelocal.log" 2>&1 &
NL_PID=$!
E2E_PIDS+=("$NL_PID")
answers() { "${NSX[@]}" dig @$LOCAL +tries=1 +time=1 +short my-nginx.default.svc.cluster.local 2>/dev/null | grep -q 10.0.162.149; }
if wait_for "node-local answering on $LOCAL:53" 50 0.1 answers; then ok "node-local answers a cluster name on $LOCAL:53"; else
  cat "$WORK/nodelocal.log"; die "node-local did not answer"; fi
expect_match "log: the interface was created" "node-local: $LOCAL on interface nodelocaldns \(created, (dummy|bridge)\)" "$(cat "$WORK/nodelocal.log")"
expect_match "log: listening on $LOCAL:53" "serving cluster\.local on $LOCAL:53 .* from none" "$(cat "$WORK/nodelocal.log")"
# A dummy interface; an empty bridge on kernels without the dummy driver (like this test's VMs may be).
kind=$(grep -Eo 'nodelocaldns \(created, [a-z]+' "$WORK/nodelocal.log" | sed 's/.*, //')
expect_match "nodelocaldns is a $kind interface" " $kind " "$("${NSX[@]}" ip -d -o link show nodelocaldns)"
expect_match "nodelocaldns holds $LOCAL/32" "inet $LOCAL/32" "$("${NSX[@]}" ip -o addr show dev nodelocaldns)"
expect_match "nodelocaldns is up" '<[^>]*UP' "$("${NSX[@]}" ip -o link show nodelocaldns)"

# Forwarded to the cluster DNS over TCP, then served from the cache.
m() { "${NSX[@]}" curl -s --max-time 3 "http://127.0.0.1:$1/metrics" | awk -v re="$2" '!/^#/ { v = $NF; $NF = ""; if ($0 ~ re) s += v } END { printf "%d\n", s }'; }
udp0=$(m 9153 'coredns_dns_requests_total.*proto="udp"')
expect_eq "PTR through the stub domain" my-nginx.default.svc.cluster.local. \
  "$("${NSX[@]}" dig @$LOCAL +tries=1 +time=2 +short -x 10.0.162.149)"
tcp1=$(m 9153 'coredns_dns_requests_total.*proto="tcp"')
[ "$tcp1" -gt 0 ] && ok "the cluster DNS saw TCP queries from node-local ($tcp1)" || bad "no TCP query reached the cluster DNS"
expect_eq "no UDP query reached the cluster DNS from node-local" "$udp0" "$(m 9153 'coredns_dns_requests_total.*proto="udp"')"
for i in 1 2 3; do "${NSX[@]}" dig @$LOCAL +tries=1 +time=2 +short my-nginx.default.svc.cluster.local >/dev/null; done
expect_eq "repeated queries come from node-local's cache" "$tcp1" "$(m 9153 'coredns_dns_requests_total.*proto="tcp"')"
expect_match "node-local counts them as forward/cache answers" 'coredns_dns_responses_total\{[^}]*rcode="NOERROR",plugin="forward"\}' \
  "$("${NSX[@]}" curl -s --max-time 3 http://127.0.0.1:9253/metrics)"
expect_eq "node-local /ready" 200 "$("${NSX[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:9253/ready)"
expect_eq "names outside the stub domains: REFUSED (--upstream none)" REFUSED \
  "$(dig_status "$("${NSX[@]}" dig @$LOCAL +tries=1 +time=2 www.example.com)")"

# At exit the interface goes away with the address.
kill -TERM "$NL_PID"
for i in $(seq 1 100); do kill -0 "$NL_PID" 2>/dev/null || break; sleep 0.05; done
wait "$NL_PID"
expect_eq "node-local exit status" 0 "$?"
expect_eq "nodelocaldns removed at exit" "" "$("${NSX[@]}" ip -o link show nodelocaldns 2>/dev/null)"

# Without CAP_NET_ADMIN: one clear line, exit 1 (in a fresh namespace, capability dropped from the bounding set).
if command -v capsh >/dev/null; then
  ip netns exec "$NS2" ip link set lo up
  err=$(ip netns exec "$NS2" capsh --drop=cap_net_admin -- -c \
    "exec timeout 10 '$CLUSTERDNS' --node-local $LOCAL --http none --upstream none" 2>&1 >/dev/null)
  expect_eq "without NET_ADMIN: exit 1" 1 "$?"
  expect_eq "without NET_ADMIN: one clear line" \
    "clusterdns: node-local: cannot create dummy interface nodelocaldns: Operation not permitted (needs CAP_NET_ADMIN)" \
    "$(grep '^clusterdns:' <<<"$err")"
  # The address already there (an init container put it on lo): no NET_ADMIN needed, nothing changed.
  ip netns exec "$NS2" ip addr add $LOCAL/32 dev lo
  ip netns exec "$NS2" capsh --drop=cap_net_admin -- -c \
    "exec '$CLUSTERDNS' --node-local $LOCAL --listen $LOCAL:5300 --http none --upstream none --lameduck 0" \
    >"$WORK/preset.log" 2>&1 &
  PRE_PID=$!
  E2E_PIDS+=("$PRE_PID")
  preset_up() { grep -q "serving cluster.local on $LOCAL:5300" "$WORK/preset.log"; }
  if wait_for "node-local with a preset address" 50 0.1 preset_up; then ok "address already present: starts without NET_ADMIN"; else
    cat "$WORK/preset.log"; bad "did not start with the preset address"; fi
  expect_match "log: already there" "node-local: $LOCAL on interface nodelocaldns \(already there\)" "$(cat "$WORK/preset.log")"
  expect_eq "no interface created" "" "$(ip netns exec "$NS2" ip -o link show nodelocaldns 2>/dev/null)"
else
  echo "     (capsh missing: the NET_ADMIN checks are skipped)"
fi
finish
