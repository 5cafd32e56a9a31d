#!/usr/bin/env bash
# Stub domains and upstreams as kube-dns configures them: --stub-domain to a second upstream, and a kube-dns
# ConfigMap directory (--kube-dns-config, laid out as the kubelet mounts it: keys are symlinks into ..data,
# swapped atomically) whose stubDomains and upstreamNameservers change while queries run: no query fails,
# the new routes apply within the poll interval, an invalid value keeps the previous configuration.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/forward_lib.sh"
e2e_init

start_responder default --ip 192.0.2.1
DEF=$RESP_PORT
start_responder acme --ip 192.0.2.9
ACME=$RESP_PORT ACME_LOG=$RESP_LOG
start_responder corp1 --ip 192.0.2.10
CORP1=$RESP_PORT
start_responder corp2 --ip 192.0.2.11
CORP2=$RESP_PORT
start_responder default2 --ip 192.0.2.2
DEF2=$RESP_PORT

CFG=$WORK/kube-dns-config
N=0
# configmap KEY=JSON...: a new ..data generation with these keys, swapped in atomically (as the kubelet does).
configmap() {
  N=$((N + 1))
  local gen=..gen$N kv key
  mkdir -p "$CFG/$gen"
  for kv in "$@"; do printf '%s' "${kv#*=}" >"$CFG/$gen/${kv%%=*}"; done
  ln -sfn "$gen" "$CFG/..data_tmp" && mv -T "$CFG/..data_tmp" "$CFG/..data"
  for key in stubDomains upstreamNameservers; do [ -e "$CFG/$key" ] || ln -s "..data/$key" "$CFG/$key"; done
}
mkdir -p "$CFG"
configmap "stubDomains={\"corp.example\": [\"127.0.0.1:$CORP1\"]}"

test_resolv_conf
start_server main --source "file:$EXAMPLES" --upstream "127.0.0.1:$DEF" --resolv-conf "$RESOLV" \
  --stub-domain "acme.local=127.0.0.1:$ACME" --kube-dns-config "$CFG"

expect_eq "default upstream" 192.0.2.1 "$(q +short www.example.test)"
expect_eq "--stub-domain acme.local" 192.0.2.9 "$(q +short www.acme.local)"
expect_eq "--stub-domain: deeper names too" 192.0.2.9 "$(q +short a.b.acme.local)"
expect_eq "--stub-domain: only that upstream asked" 2 "$(resp_count "$ACME_LOG" 'acme\.local A$')"
expect_eq "ConfigMap stubDomains corp.example" 192.0.2.10 "$(q +short x.corp.example)"
expect_eq "cluster names still ours" 10.0.162.149 "$(q +short my-nginx.default.svc.cluster.local)"

# Queries run in the background while the ConfigMap changes twice (and once to something invalid).
LOOP_OUT=$WORK/loop.out
(
  for i in $(seq 1 60); do
    r=$(dig @127.0.0.1 -p "$SRV_PORT" +tries=1 +time=2 +short "q$i.corp.example" 2>&1 | head -n1)
    echo "$(date +%s%3N) $i ${r:-EMPTY}"
    sleep 0.05
  done
) >"$LOOP_OUT" &
LOOP_PID=$!
E2E_PIDS+=("$LOOP_PID")
sleep 0.7
configmap "stubDomains={\"corp.example\": [\"127.0.0.1:$CORP2\"]}" "upstreamNameservers=[\"127.0.0.1:$DEF2\"]"
wait_for "new stub domain in use" 40 0.1 bash -c "[ \"\$(dig @127.0.0.1 -p $SRV_PORT +tries=1 +time=1 +short probe$RANDOM.corp.example)\" = 192.0.2.11 ]"
ok "ConfigMap change applied after ${WAITED_MS} ms"
expect_eq "ConfigMap upstreamNameservers replaced the default upstream" 192.0.2.2 "$(q +short www2.example.test)"
expect_eq "--stub-domain kept" 192.0.2.9 "$(q +short www.acme.local)"

configmap "stubDomains={\"corp.example\": [\"not-an-ip\"]}" "upstreamNameservers=[\"127.0.0.1:$DEF2\"]"
wait_for "invalid value logged" 40 0.1 grep -q "keeping the previous configuration" "$SRV_LOG"
expect_match "invalid ConfigMap: says why" "kube-dns config .*stubDomains: stub domain corp\.example: 'not-an-ip' is not an IP address.*keeping the previous configuration" "$(cat "$SRV_LOG")"
expect_eq "invalid ConfigMap: previous routes still used" 192.0.2.11 "$(q +short y.corp.example)"
wait "$LOOP_PID"
expect_eq "queries during the changes: none failed" "" "$(awk '$3 !~ /^192\.0\.2\.1[01]$/' "$LOOP_OUT")"
expect_match "queries during the changes: answered by both, in order" "192\.0\.2\.10.*192\.0\.2\.11" "$(awk '{print $3}' "$LOOP_OUT" | uniq | paste -sd' ')"
echo "     $(wc -l <"$LOOP_OUT") queries during the changes: $(awk '{print $3}' "$LOOP_OUT" | sort | uniq -c | paste -sd' ')"
kill -0 "$SRV_PID" && ok "server still running" || bad "server died"
finish
