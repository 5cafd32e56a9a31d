#!/usr/bin/env bash
# clusterdns --source etcd: against a real etcd (started here on free loopback ports, its own data dir):
# clusterdnsctl apply/get/delete round trip; put/update/delete of services, EndpointSlices and pods seen by dig
# (written by clusterdnsctl and by plain etcdctl); a selector service following pod readiness; kill -9 of etcd
# while dig runs (no failed query), restart on the same data dir, a change made afterwards is seen; a restart
# with a compaction; freshness (etcd put sent -> DNS answer changed) over 200 changes, p50/p99 printed.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CTL=${CLUSTERDNSCTL:-$BUILD_DIR/clusterdnsctl}
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd/etcdctl not installed (etcd-server, etcd-client)"
command -v python3 >/dev/null || skip "python3 not installed (free ports, freshness)"
[ -x "$CTL" ] || die "$CTL not built (cmake --build build --target clusterdnsctl)"
e2e_init

# --- etcd on free loopback ports ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port); ETCD_PEER=$(free_port); ETCD_METRICS=$(free_port)
ETCD_URL=http://127.0.0.1:$ETCD_PORT
ETCD_DIR=$WORK/etcd-data
ETCD_PID=""
# start_etcd: etcd as a simple command (its own PID; etcd takes over a second to exit); waits (bounded: 15 s) for /health.
start_etcd() {
  local i
  etcd --name e2e --data-dir "$ETCD_DIR" --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER" --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS" \
    --experimental-watch-progress-notify-interval=1s >>"$WORK/etcd.log" 2>&1 &
  ETCD_PID=$!
  E2E_PIDS+=("$ETCD_PID")
  for i in $(seq 1 150); do
    curl -s --max-time 1 "http://127.0.0.1:$ETCD_METRICS/health" 2>/dev/null | grep -q true && return 0
    kill -0 "$ETCD_PID" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$WORK/etcd.log"
  die "etcd did not become healthy"
}
# kill9_etcd: SIGKILL by PID and reap (bounded: 5 s).
kill9_etcd() {
  local i
  kill -9 "$ETCD_PID" 2>/dev/null
  for i in $(seq 1 250); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.02; done
  wait "$ETCD_PID" 2>/dev/null
}
E=(etcdctl --endpoints="$ETCD_URL" --command-timeout=5s)
ctl() { "$CTL" --etcd "$ETCD_URL" "$@"; }

start_etcd
echo "     started etcd pid $ETCD_PID on $ETCD_URL"

# --- clusterdnsctl: usage and errors ---
"$CTL" get >/dev/null 2>&1; expect_eq "clusterdnsctl without --etcd: usage error (2)" 2 "$?"
"$CTL" --etcd "$ETCD_URL" frobnicate >/dev/null 2>&1; expect_eq "unknown command: usage error (2)" 2 "$?"
out=$("$CTL" --etcd "http://127.0.0.1:$(free_port)" --timeout 1 get 2>&1); rc=$?
expect_eq "unreachable etcd: exit 1" 1 "$rc"
expect_match "unreachable etcd: the message names the URL" "http://127\.0\.0\.1:[0-9]+: cannot connect" "$out"
expect_match "--help" "apply -f FILE\|DIR" "$("$CTL" --help)"

# --- apply the examples, then serve them from etcd ---
out=$(ctl apply -f "$EXAMPLES" 2>&1)
expect_match "apply: my-nginx created" "^service default/my-nginx created$" "$out"
expect_match "apply: namespace kube-system created" "^namespace kube-system created$" "$out"
expect_match "apply: a Deployment is skipped" "skipped Deployment default/api" "$out"
expect_match "get services lists my-nginx" "default +my-nginx +ClusterIP +10\.0\.162\.149 +80/TCP" "$(ctl get services)"
expect_match "stored as JSON at the API server's key" '"kind":"Service"' \
  "$("${E[@]}" get --print-value-only /registry/services/specs/default/my-nginx)"
expect_match "apply again: unchanged" "^service default/my-nginx unchanged$" "$(ctl apply -f "$EXAMPLES" 2>/dev/null)"

start_server etcd --source "etcd:$ETCD_URL"
NGINX=my-nginx.default.svc.cluster.local
answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
wait_for "my-nginx from etcd" 100 0.05 answers $NGINX A 10.0.162.149
expect_eq "my-nginx A from etcd" 10.0.162.149 "$(qs A $NGINX)"
expect_eq "kube-dns A from etcd" 10.0.0.10 "$(qs A kube-dns.kube-system.svc.cluster.local)"
expect_match "web-0 (pod hostname in a headless service)" "^10\.244\.1\.10$" "$(qs A web-0.web.default.svc.cluster.local)"

# --- services: create, update, delete ---
svc() {  # svc NAME IP: a Service manifest
  printf 'apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: e2e}\nspec:\n  clusterIP: %s\n  ports: [{name: http, port: 80}]\n' "$1" "$2"
}
svc web2 10.0.200.1 >"$WORK/web2.yaml"
expect_match "apply web2 (and its namespace)" "namespace e2e created" "$(ctl apply -f "$WORK/web2.yaml")"
wait_for "web2 created" 100 0.05 answers web2.e2e.svc.cluster.local A 10.0.200.1
expect_eq "service put -> A" 10.0.200.1 "$(qs A web2.e2e.svc.cluster.local)"
svc web2 10.0.200.2 >"$WORK/web2.yaml"
expect_match "apply web2 again: configured" "service e2e/web2 configured" "$(ctl apply -f "$WORK/web2.yaml")"
wait_for "web2 updated" 100 0.05 answers web2.e2e.svc.cluster.local A 10.0.200.2
expect_eq "service update -> new A" 10.0.200.2 "$(qs A web2.e2e.svc.cluster.local)"
expect_eq "service SRV" "0 100 80 web2.e2e.svc.cluster.local." "$(qs SRV _http._tcp.web2.e2e.svc.cluster.local)"
ctl delete service e2e/web2 >/dev/null
wait_for "web2 deleted" 100 0.05 answers web2.e2e.svc.cluster.local A ""
expect_eq "service delete -> NXDOMAIN" NXDOMAIN "$(dig_status "$(q web2.e2e.svc.cluster.local A)")"
expect_match "get after delete: web2 gone" "No services found in e2e" "$(ctl get svc -n e2e)"

# --- EndpointSlices of a headless service, written with plain etcdctl as the API server stores them ---
"${E[@]}" put /registry/services/specs/e2e/hl \
  '{"kind":"Service","apiVersion":"v1","metadata":{"name":"hl","namespace":"e2e"},"spec":{"clusterIP":"None","ports":[{"name":"http","port":80}]}}' >/dev/null
slice() {  # slice ADDR...: the JSON of EndpointSlice e2e/hl-abc
  local eps="" a
  for a in "$@"; do eps+="${eps:+,}{\"addresses\":[\"$a\"],\"conditions\":{\"ready\":true}}"; done
  printf '{"kind":"EndpointSlice","apiVersion":"discovery.k8s.io/v1","metadata":{"name":"hl-abc","namespace":"e2e","labels":{"kubernetes.io/service-name":"hl"}},"addressType":"IPv4","endpoints":[%s],"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}' "$eps"
}
"${E[@]}" put /registry/endpointslices/e2e/hl-abc "$(slice 10.1.0.1 10.1.0.2)" >/dev/null
wait_for "slice put" 100 0.05 answers hl.e2e.svc.cluster.local A $'10.1.0.1\n10.1.0.2'
expect_eq "slice put -> headless A" $'10.1.0.1\n10.1.0.2' "$(qs A hl.e2e.svc.cluster.local)"
"${E[@]}" put /registry/endpointslices/e2e/hl-abc "$(slice 10.1.0.3)" >/dev/null
wait_for "slice update" 100 0.05 answers hl.e2e.svc.cluster.local A 10.1.0.3
expect_eq "slice update -> A" 10.1.0.3 "$(qs A hl.e2e.svc.cluster.local)"
"${E[@]}" put /registry/endpointslices/e2e/broken '{"kind":"EndpointSlice","metadata":{' >/dev/null
"${E[@]}" del /registry/endpointslices/e2e/hl-abc >/dev/null
wait_for "slice delete" 100 0.05 answers hl.e2e.svc.cluster.local A ""
expect_eq "slice delete -> no A" "" "$(qs A hl.e2e.svc.cluster.local)"
expect_match "a malformed value is logged with its key" "ignored /registry/endpointslices/e2e/broken" "$(cat "$SRV_LOG")"

# --- a selector service follows its pods (no EndpointSlice: endpoints from the selector) ---
pod() {  # pod NAME IP READY
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: e2e, labels: {app: sel}}\nspec:\n  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]\nstatus:\n  phase: Running\n  podIP: %s\n  conditions: [{type: Ready, status: "%s"}]\n' "$1" "$2" "$3"
}
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: sel, namespace: e2e}\nspec:\n  clusterIP: None\n  selector: {app: sel}\n  ports: [{name: http, port: 80, targetPort: http}]\n' >"$WORK/sel.yaml"
pod sel-0 10.2.0.9 True >"$WORK/sel-0.yaml"
pod sel-1 10.2.0.1 False >"$WORK/sel-1.yaml"
ctl apply -f "$WORK/sel.yaml" -f "$WORK/sel-0.yaml" -f "$WORK/sel-1.yaml" >/dev/null
wait_for "selector service" 100 0.05 answers sel.e2e.svc.cluster.local A 10.2.0.9
expect_eq "ready pod selected, not-ready pod left out" 10.2.0.9 "$(qs A sel.e2e.svc.cluster.local)"
expect_match "SRV port from the named targetPort" "^0 100 8080 " "$(qs SRV _http._tcp.sel.e2e.svc.cluster.local)"
pod sel-1 10.2.0.1 True >"$WORK/sel-1.yaml"
ctl apply -f "$WORK/sel-1.yaml" >/dev/null
wait_for "pod ready" 100 0.05 answers sel.e2e.svc.cluster.local A $'10.2.0.1\n10.2.0.9'
expect_eq "pod becomes ready -> its A joins" $'10.2.0.1\n10.2.0.9' "$(qs A sel.e2e.svc.cluster.local)"
ctl delete pod e2e/sel-1 >/dev/null
wait_for "pod deleted" 100 0.05 answers sel.e2e.svc.cluster.local A 10.2.0.9
expect_eq "pod deleted -> its A goes" 10.2.0.9 "$(qs A sel.e2e.svc.cluster.local)"
"${E[@]}" del /registry/pods/e2e/sel-0 >/dev/null
wait_for "last pod deleted" 100 0.05 answers sel.e2e.svc.cluster.local A ""
expect_eq "no pod left -> no A" "" "$(qs A sel.e2e.svc.cluster.local)"

# --- kill -9 etcd while dig runs: every query answered from the last state; restart; a later change is seen ---
fails=0; total=0; t_end=$(($(now_ms) + 60000))
for i in $(seq 1 150); do
  [ "$i" -eq 20 ] && kill9_etcd
  r=$(q +short A $NGINX)
  total=$((total + 1))
  [ "$r" == 10.0.162.149 ] || { fails=$((fails + 1)); echo "     query $i: '$r'"; }
  [ "$(now_ms)" -lt "$t_end" ] || break
done
expect_eq "no failed query across etcd kill -9 ($total queries)" 0 "$fails"
kill -0 "$ETCD_PID" 2>/dev/null && bad "etcd still running after kill -9"
expect_match "the loss is logged, keeping the last good state" "keeping the last good state" "$(cat "$SRV_LOG")"
start_etcd
svc after 10.0.201.1 >"$WORK/after.yaml"
ctl apply -f "$WORK/after.yaml" >/dev/null
wait_for "change after restart" 300 0.05 answers after.e2e.svc.cluster.local A 10.0.201.1
expect_eq "a change made after the restart is seen" 10.0.201.1 "$(qs A after.e2e.svc.cluster.local)"
expect_eq "earlier answers still served" 10.0.162.149 "$(qs A $NGINX)"

# --- restart + compaction: whichever the watcher meets first (resume or compacted), answers end right ---
kill9_etcd
sleep 5   # the watcher backs off meanwhile (exponential): the compaction below usually lands before it retries
start_etcd
svc compacted 10.0.202.1 >"$WORK/c.yaml"
ctl apply -f "$WORK/c.yaml" >/dev/null
ctl delete service e2e/after >/dev/null
rev=$("${E[@]}" endpoint status -w json | grep -Eo '"revision":[0-9]+' | head -n1 | cut -d: -f2)
"${E[@]}" compact "$rev" >/dev/null
wait_for "changes across a compaction" 300 0.05 answers compacted.e2e.svc.cluster.local A 10.0.202.1
expect_eq "compaction: new service seen" 10.0.202.1 "$(qs A compacted.e2e.svc.cluster.local)"
wait_for "deleted across a compaction" 100 0.05 answers after.e2e.svc.cluster.local A ""
expect_eq "compaction: deleted service gone" NXDOMAIN "$(dig_status "$(q after.e2e.svc.cluster.local A)")"
if grep -q "compacted up to revision" "$SRV_LOG"; then echo "     (the watcher resumed at a compacted revision and re-read everything)"
else echo "     (the watcher resumed before the compaction; the compaction path is covered by etcd_resilience_test)"; fi

# --- freshness: etcd put sent -> the DNS answer changed, 200 changes, measured in one process by the benchmark's
# own helper (one HTTP put to the gateway, then UDP queries every 0.5 ms until the new address answers) ---
out=$(python3 "$SOURCE_DIR/bench/freshness.py" etcd "$ETCD_PORT" "$SRV_PORT" 200 e2e)
rc=$?
expect_eq "freshness run: every change seen" 0 "$rc"
echo "     freshness over 200 etcd puts (put sent -> DNS answer changed): $out"

# --- delete -f removes what apply stored ---
expect_match "delete -f" "service default/my-nginx deleted" "$(ctl delete -f "$EXAMPLES" 2>&1)"
wait_for "my-nginx deleted" 100 0.05 answers $NGINX A ""
expect_eq "after delete -f: NXDOMAIN" NXDOMAIN "$(dig_status "$(q $NGINX A)")"
finish
