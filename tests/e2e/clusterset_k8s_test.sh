#!/usr/bin/env bash
# clusterset.local from the Kubernetes API: clusterdns --source kubeconfig:FILE --clusterset-zone against
# k8s_test_apiserver serving multicluster.x-k8s.io/v1alpha1 serviceimports (kubectl agrees with it). A
# ServiceImport created, changed and deleted through the API answers in dig within the usual freshness; a
# headless import answers its multicluster EndpointSlices. Then a cluster without the CustomResourceDefinition:
# the server is ready (/ready 200) and answers cluster names, logs the 404 once, and takes the imports once the
# definition is installed. Every query goes to 127.0.0.1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"
APISERVER=${K8S_TEST_APISERVER:-$BUILD_DIR/tests/k8s_api/k8s_test_apiserver}
[ -x "$APISERVER" ] || die "$APISERVER not built (cmake --build build --target k8s_test_apiserver)"
CRD=serviceimports.multicluster.x-k8s.io
ZONE=clusterset.local

# start_api NAME [FLAGS...]: the test API server on a free loopback port; sets API_PID, API_PORT, API.
start_api() {
  local name=$1 i
  shift
  "$APISERVER" --port 0 --port-file "$WORK/$name.port" "$@" >"$WORK/$name.log" 2>&1 &
  API_PID=$!
  E2E_PIDS+=("$API_PID")
  API_PORT=""
  for i in $(seq 1 200); do  # 200 x 50 ms = 10 s
    kill -0 "$API_PID" 2>/dev/null || { cat "$WORK/$name.log"; die "k8s_test_apiserver ($name) exited"; }
    [ -s "$WORK/$name.port" ] && { API_PORT=$(cat "$WORK/$name.port"); break; }
    sleep 0.05
  done
  [ -n "$API_PORT" ] || die "k8s_test_apiserver ($name) did not start within 10 s"
  API=http://127.0.0.1:$API_PORT
  echo "     started k8s_test_apiserver ($name) pid $API_PID on $API"
}
ctl() { curl -s --max-time 5 -X POST "$API/test/$1" -d "$2"; }
import_json() {  # import_json NS NAME IP PORT
  printf '{"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceImport","metadata":{"name":"%s","namespace":"%s"},"spec":{"type":"ClusterSetIP","ips":["%s"],"ports":[{"name":"http","port":%s,"protocol":"TCP"}]},"status":{"clusters":[{"cluster":"cluster-a"}]}}' "$2" "$1" "$3" "$4"
}
kubeconfig() {
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster: {server: "%s"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: c\n  context: {cluster: t, user: u}\ncurrent-context: c\n' "$API" >"$WORK/$1.kubeconfig"
}
answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
status_is() { [ "$(dig_status "$(q "$2" "$1")")" == "$3" ]; }

# --- the definition installed ---------------------------------------------------------------------------
start_api crd --crd "$CRD"
ctl apply "$(import_json shop web 10.42.0.7 80)" >/dev/null
ctl apply '{"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceImport","metadata":{"name":"db","namespace":"shop"},"spec":{"type":"Headless","ports":[{"name":"pg","port":5432,"protocol":"TCP"}]}}' >/dev/null
ctl apply '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"db-a","namespace":"shop","labels":{"multicluster.kubernetes.io/service-name":"db","multicluster.kubernetes.io/source-cluster":"cluster-a"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.7"],"hostname":"db-0","conditions":{"ready":true}}],"ports":[{"name":"pg","port":5432,"protocol":"TCP"}]}' >/dev/null

if command -v kubectl >/dev/null; then
  K=(kubectl --kubeconfig=/dev/null --server="$API" --request-timeout=5s)
  expect_match "kubectl api-resources: serviceimports in multicluster.x-k8s.io" \
    'serviceimports +svcim,svcimport +multicluster\.x-k8s\.io/v1alpha1 +true +ServiceImport' \
    "$(timeout 20 "${K[@]}" api-resources --api-group=multicluster.x-k8s.io 2>&1)"
  expect_match "kubectl get serviceimports -A" 'shop +web' "$(timeout 20 "${K[@]}" get serviceimports -A 2>&1)"
  expect_match "kubectl get svcim -n shop -o json: the spec as applied" '"10\.42\.0\.7"' \
    "$(timeout 20 "${K[@]}" get svcim -n shop web -o json 2>&1)"
else
  echo "     (kubectl not installed: skipping the kubectl cross-checks)"
fi

kubeconfig crd
start_server k8s --source "kubeconfig:$WORK/crd.kubeconfig" --clusterset-zone "$ZONE"
expect_match "log: serviceimports listed" 'serviceimports: listed 2 objects' "$(cat "$SRV_LOG")"
expect_eq "web ClusterSetIP A" 10.42.0.7 "$(qs A web.shop.svc.$ZONE)"
expect_eq "web SRV" "0 100 80 web.shop.svc.$ZONE." "$(qs SRV _http._tcp.web.shop.svc.$ZONE)"
expect_eq "db headless A" 10.1.0.7 "$(qs A db.shop.svc.$ZONE)"
expect_eq "db-0.cluster-a.db A" 10.1.0.7 "$(qs A db-0.cluster-a.db.shop.svc.$ZONE)"

t0=$(now_ms)
ctl apply "$(import_json shop api 10.42.0.8 8080)" >/dev/null
if wait_for "api answers" 250 0.02 answers api.shop.svc.$ZONE A 10.42.0.8; then
  ok "created import answers ($(($(now_ms) - t0)) ms from apply to dig, dig start-up included)"
else bad "created import never answered"; fi
t0=$(now_ms)
ctl apply "$(import_json shop api 10.42.0.9 8080)" >/dev/null
if wait_for "api changed" 250 0.02 answers api.shop.svc.$ZONE A 10.42.0.9; then
  ok "changed import answers the new IP ($(($(now_ms) - t0)) ms)"
else bad "change not seen"; fi
ctl apply '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"db-b","namespace":"shop","labels":{"multicluster.kubernetes.io/service-name":"db","multicluster.kubernetes.io/source-cluster":"cluster-b"}},"addressType":"IPv4","endpoints":[{"addresses":["10.2.0.7"],"hostname":"db-0","conditions":{"ready":true}}],"ports":[{"name":"pg","port":5432,"protocol":"TCP"}]}' >/dev/null
wait_for "db from two clusters" 250 0.02 answers db.shop.svc.$ZONE A $'10.1.0.7\n10.2.0.7' &&
  ok "a second cluster's slice adds its endpoint" || bad "db-b not seen"
t0=$(now_ms)
ctl delete '{"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceImport","namespace":"shop","name":"web"}' >/dev/null
if wait_for "web NXDOMAIN" 250 0.02 status_is web.shop.svc.$ZONE A NXDOMAIN; then
  ok "deleted import: NXDOMAIN ($(($(now_ms) - t0)) ms)"
else bad "deleted import still answers"; fi
expect_eq "cluster zone unaffected: web.shop.svc.cluster.local NXDOMAIN (no Service)" NXDOMAIN \
  "$(dig_status "$(q A web.shop.svc.cluster.local)")"

# Without --clusterset-zone nothing asks for serviceimports.
stop_server "$SRV_PID"
import_lists() { curl -s --max-time 5 "$API/test/stats" | grep -Eo '"serviceimports":[0-9]+' | head -n1 | cut -d: -f2; }
before=$(import_lists)
start_server plain --source "kubeconfig:$WORK/crd.kubeconfig"
expect_eq "without --clusterset-zone: no serviceimports list" "$before" "$(import_lists)"
expect_nomatch "without --clusterset-zone: serviceimports not in the log" 'serviceimports' "$(cat "$SRV_LOG")"
stop_server "$SRV_PID"
stop_server "$API_PID"

# --- a cluster without the CustomResourceDefinition --------------------------------------------------------
start_api nocrd
ctl apply '{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},"spec":{"clusterIP":"10.96.0.50","ports":[{"name":"http","port":80}]}}' >/dev/null
expect_match "no CRD: a ServiceImport cannot be created" 'NotFound' "$(ctl apply "$(import_json shop web 10.42.0.7 80)")"
kubeconfig nocrd
ops_start nocrd --source "kubeconfig:$WORK/nocrd.kubeconfig" --clusterset-zone "$ZONE"
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready 200" 100 0.05 ready && ok "no CRD: /ready 200 (the 404 holds up nothing)" || { bad "no CRD: /ready $HTTP_CODE $HTTP_BODY"; cat "$SRV_LOG"; }
expect_eq "no CRD: cluster names answer" 10.96.0.50 "$(qs A web.shop.svc.cluster.local)"
expect_eq "no CRD: clusterset names NXDOMAIN" NXDOMAIN "$(dig_status "$(q A web.shop.svc.$ZONE)")"
expect_eq "no CRD: the zone itself answers (SOA)" "ns.dns.cluster.local." "$(q +short SOA $ZONE | cut -d' ' -f1)"
sleep 2  # a few back-off rounds
expect_eq "no CRD: the 404 logged once" 1 "$(grep -c 'serviceimports: not served (404' "$SRV_LOG")"

t0=$(now_ms)
ctl crd "{\"name\":\"$CRD\",\"installed\":true}" >/dev/null
ctl apply "$(import_json shop web 10.42.0.7 80)" >/dev/null
# The list is asked again after each back-off (0.8 s doubling, at most 30 s): a few seconds here.
if wait_for "import after the CRD" 300 0.05 answers web.shop.svc.$ZONE A 10.42.0.7; then
  ok "CRD installed later: the import answers ($(($(now_ms) - t0)) ms)"
else bad "CRD installed later: the import never answered"; fi
expect_match "log: served now" 'serviceimports: served now' "$(cat "$SRV_LOG")"
http_get /ready
expect_eq "/ready still 200" 200 "$HTTP_CODE"
kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?
finish
