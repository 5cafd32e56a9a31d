#!/usr/bin/env bash
# --autopath: X.<ns>.svc.<zone> that does not exist, asked by a pod of <ns>, is answered with a CNAME to the
# first of X.svc.<zone>, X.<zone>, X.<node search domain>, X that exists, plus its records. Checked with dig
# (-b: the pod's source address) and, in a network namespace whose resolv.conf is a pod's, with the system
# resolver (getent), counting the queries a pod's lookup of an external name sends to clusterdns and the
# queries clusterdns sends upstream, with and without --autopath (printed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init
norm() { tr -s ' \t' '  '; }

# pods_dir DIR POD_IP: examples/ plus a pod of `default` at POD_IP and one of kube-system at 127.0.0.6.
pods_dir() {
  mkdir -p "$1"
  cp "$EXAMPLES"/*.yaml "$1/"
  cat >"$1/pods.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: default}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running, podIP: $2, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: system-client, namespace: kube-system}
spec: {containers: [{name: c, image: busybox}]}
status: {phase: Running, podIP: 127.0.0.6, conditions: [{type: Ready, status: "True"}]}
YAML
}

# 1. With dig from the pod's address ---------------------------------------------------------------------------
pods_dir "$WORK/manifests" 127.0.0.5
start_responder up --ip 192.0.2.1
UP=$RESP_PORT UP_LOG=$RESP_LOG
test_resolv_conf "search corp.test"  # the node's search domain: a pod's list ends with it
start_server auto --source "file:$WORK/manifests" --upstream "127.0.0.1:$UP" --resolv-conf "$RESOLV" --autopath
POD=(-b 127.0.0.5)
ASKED=www.example.test.default.svc.cluster.local
out=$(q "${POD[@]}" $ASKED)
echo "$out" | sed -n '/ANSWER SECTION/,/^$/p' | sed 's/^/     /'
expect_eq "external name: NOERROR" NOERROR "$(dig_status "$out")"
expect_eq "external name: CNAME to the bare name, then its address" \
  "$ASKED. 30 IN CNAME www.example.test.|www.example.test. 300 IN A 192.0.2.1" "$(dig_section "$out" ANSWER | norm | paste -sd'|')"
expect_eq "the walk asked upstream for the node's search domain, then the bare name" \
  "www.example.test.corp.test A|www.example.test A" "$(grep -v probe "$UP_LOG" | awk '{print $3, $4}' | paste -sd'|')"
out=$(q "${POD[@]}" +tcp AAAA $ASKED)
expect_eq "AAAA over TCP: CNAME + AAAA" "$ASKED. 30 IN CNAME www.example.test.|www.example.test. 300 IN AAAA 2001:db8::1" \
  "$(dig_section "$out" ANSWER | norm | paste -sd'|')"

out=$(q "${POD[@]}" kube-dns.kube-system.default.svc.cluster.local)
expect_eq "cluster name one search step later: CNAME + A, authoritative" \
  "kube-dns.kube-system.default.svc.cluster.local. 30 IN CNAME kube-dns.kube-system.svc.cluster.local.|kube-dns.kube-system.svc.cluster.local. 30 IN A 10.0.0.10 aa" \
  "$(dig_section "$out" ANSWER | norm | paste -sd'|') $(has_flag "$out" aa && echo aa)"
out=$(q "${POD[@]}" nx-nothing.example.test.default.svc.cluster.local)
expect_eq "nothing exists anywhere: the original NXDOMAIN" "NXDOMAIN" "$(dig_status "$out")"
expect_match "... with the cluster SOA" 'cluster\.local\. 30 IN SOA' "$(dig_section "$out" AUTHORITY | norm)"
expect_eq "a pod of another namespace: plain NXDOMAIN" NXDOMAIN "$(dig_status "$(q -b 127.0.0.6 $ASKED)")"
expect_eq "an address that is no pod: plain NXDOMAIN" NXDOMAIN "$(dig_status "$(q $ASKED)")"
expect_eq "existing names unchanged" 10.0.162.149 "$(q "${POD[@]}" +short my-nginx.default.svc.cluster.local)"
start_server plain --source "file:$WORK/manifests" --upstream "127.0.0.1:$UP" --resolv-conf "$RESOLV"
expect_eq "without --autopath: NXDOMAIN" NXDOMAIN "$(dig_status "$(q "${POD[@]}" $ASKED)")"

# 2. As a pod's system resolver sees it, counting queries --------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! command -v getent >/dev/null; then
  echo "     (netns part skipped: needs root, ip and getent)"
  finish
fi
NS=clusterdns-ap-$$-$RANDOM
[ -e /etc/netns ] || E2E_CLEANUP+=("rmdir /etc/netns")
E2E_CLEANUP=("ip netns del $NS" "rm -rf /etc/netns/$NS" "${E2E_CLEANUP[@]}")
if ! ip netns add "$NS" 2>"$WORK/netns.err"; then
  E2E_CLEANUP=()
  echo "     (netns part skipped: $(cat "$WORK/netns.err"))"
  finish
fi
NSX=(ip netns exec "$NS")
"${NSX[@]}" ip link set lo up
"${NSX[@]}" ip addr add 10.96.0.10/32 dev lo
"${NSX[@]}" ip addr add 10.244.0.5/32 dev lo
"${NSX[@]}" ip -6 addr add fd00:10:244::5/128 dev lo nodad  # so that getaddrinfo asks AAAA too
# Queries to the DNS address leave from the pod's address, as from a pod.
"${NSX[@]}" ip route change local 10.96.0.10 dev lo table local proto kernel scope host src 10.244.0.5
mkdir -p "/etc/netns/$NS"
printf 'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local corp.test\noptions ndots:5\n' \
  >"/etc/netns/$NS/resolv.conf"
echo "hosts: dns" >"/etc/netns/$NS/nsswitch.conf"
pods_dir "$WORK/netns-manifests" 10.244.0.5
NODE_RESOLV=$WORK/node-resolv.conf
printf 'search corp.test\n' >"$NODE_RESOLV"

RLOG=$WORK/netns-up.queries
"${NSX[@]}" python3 "$RESPONDER" --log "$RLOG" --port 5300 >"$WORK/netns-up.out" 2>&1 &
E2E_PIDS+=("$!")
wait_for "netns responder" 50 0.1 grep -q ready "$WORK/netns-up.out" || die "responder in $NS did not start"

# client_queries LOG: distinct queries from the pod in clusterdns's query log.
# (One line per query, and one more when a deferred answer completes: count address:port, ID and type once.)
client_queries() { grep -o '10\.244\.0\.5:[0-9]* - [0-9]* "[A-Z]*' "$1" | sort -u | wc -l; }
upstream_queries() { grep -vc probe "$RLOG"; }

# lookup MODE [FLAG]: `getent ahosts www.example.test` in the pod twice (cold, then warm cache); sets COLD and
# WARM to "CLIENT UPSTREAM" query counts and ANSWER to the cold lookup's output.
lookup() {
  local log=$WORK/netns-$1.log pid round c0 u0 got counts=()
  : >"$RLOG"
  "${NSX[@]}" "$CLUSTERDNS" --source "file:$WORK/netns-manifests" --listen 10.96.0.10:53 --upstream 127.0.0.1:5300 \
    --resolv-conf "$NODE_RESOLV" --query-log 1 --http 127.0.0.1:0 ${2:+"$2"} >"$log" 2>&1 &
  pid=$!
  E2E_PIDS+=("$pid")
  wait_for "clusterdns in $NS ($1)" 50 0.1 bash -c "${NSX[*]} dig @10.96.0.10 +tries=1 +time=1 +short SOA cluster.local | grep -q '^ns\\.dns\\.cluster\\.local\\. '" ||
    { cat "$log"; die "clusterdns ($1) not ready"; }
  for round in cold warm; do
    sleep 0.3
    c0=$(client_queries "$log") u0=$(upstream_queries)
    got=$("${NSX[@]}" timeout 20 getent ahosts www.example.test | tr -s ' ' ' ')
    [ "$round" = cold ] && ANSWER=$got
    sleep 0.4  # the query log is written every 100 ms
    counts+=("$(($(client_queries "$log") - c0)) $(($(upstream_queries) - u0))")
  done
  COLD=${counts[0]} WARM=${counts[1]}
  kill -INT "$pid"
  for round in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill_pid "$pid"
}

lookup plain
PLAIN_ANSWER=$ANSWER PLAIN_COLD=$COLD PLAIN_WARM=$WARM
lookup autopath --autopath
expect_match "getent ahosts without --autopath: both addresses" "^2001:db8::1 STREAM www\.example\.test.*192\.0\.2\.1 STREAM" \
  "$(paste -sd' ' <<<"$PLAIN_ANSWER")"
expect_match "getent ahosts with --autopath: both addresses, canonical name the bare one" \
  "^2001:db8::1 STREAM www\.example\.test.*192\.0\.2\.1 STREAM" "$(paste -sd' ' <<<"$ANSWER")"
echo "     A pod's lookup of an external name (getent ahosts www.example.test; search default.svc.cluster.local"
echo "     svc.cluster.local cluster.local corp.test; ndots:5; A and AAAA), queries counted:"
printf '       %-20s %-28s %-20s\n' "" "pod -> clusterdns" "clusterdns -> upstream"
printf '       %-20s %-28s %-20s\n' "" "(cold / warm cache)" "(cold / warm cache)"
printf '       %-20s %-28s %-20s\n' "without --autopath" "${PLAIN_COLD% *} / ${PLAIN_WARM% *}" "${PLAIN_COLD#* } / ${PLAIN_WARM#* }"
printf '       %-20s %-28s %-20s\n' "with --autopath" "${COLD% *} / ${WARM% *}" "${COLD#* } / ${WARM#* }"
expect_eq "without --autopath: 5 search steps x (A, AAAA) reach clusterdns" 10 "${PLAIN_COLD% *}"
expect_eq "with --autopath: one step x (A, AAAA)" 2 "${COLD% *}"
expect_eq "upstream, cold: the same 4 either way (X.corp.test and X, A and AAAA)" "4 4" "${PLAIN_COLD#* } ${COLD#* }"
expect_eq "upstream, warm cache: none either way" "0 0" "${PLAIN_WARM#* } ${WARM#* }"
finish
