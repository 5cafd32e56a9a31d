#!/usr/bin/env bash
# clusterdns --source kubeconfig:FILE against k8s_test_apiserver (the test Kubernetes API server): kubectl
# agrees with the test server; a Service applied through the API answers, a modified one changes, a deleted
# one goes NXDOMAIN; a stream cut mid-event loses nothing; then the same over HTTPS with a CA generated here
# (certificate-authority-data) and a refused insecure-skip-tls-verify. Every query goes to 127.0.0.1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
need_tool curl curl
need_tool openssl openssl
APISERVER=${K8S_TEST_APISERVER:-$BUILD_DIR/tests/k8s_api/k8s_test_apiserver}
[ -x "$APISERVER" ] || die "$APISERVER not built (cmake --build build --target k8s_test_apiserver)"

# start_api NAME [FLAGS...]: the test API server on a free loopback port; sets API_PID, API_PORT.
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
  echo "     started k8s_test_apiserver ($name) pid $API_PID on 127.0.0.1:$API_PORT"
}
# ctl BASE_URL WHAT JSON [CURL ARGS...]: POST /test/WHAT (the control API), bounded.
ctl() { local base=$1 what=$2 body=$3; shift 3; curl -s --max-time 5 -X POST "$@" "$base/test/$what" -d "$body"; }
svc_json() {  # svc_json NS NAME IP PORT
  printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"%s"},"spec":{"type":"ClusterIP","clusterIP":"%s","ports":[{"name":"http","port":%s,"protocol":"TCP"}]}}' "$2" "$1" "$3" "$4"
}
answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
status_is() { [ "$(dig_status "$(q "$2" "$1")")" == "$3" ]; }

# --- plain HTTP: kubectl first (anonymous), then a bearer token required ------------------------------
start_api http
API=http://127.0.0.1:$API_PORT
ctl "$API" apply "$(svc_json shop web 10.96.0.50 80)" >/dev/null
ctl "$API" apply '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"web-1","namespace":"shop","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.7"],"conditions":{"ready":true}}],"ports":[{"name":"http","port":8080,"protocol":"TCP"}]}' >/dev/null

if command -v kubectl >/dev/null; then
  K=(kubectl --kubeconfig=/dev/null --server="$API" --request-timeout=5s)
  expect_match "kubectl get --raw /version" '"gitVersion"' "$(timeout 20 "${K[@]}" get --raw /version 2>&1)"
  raw=$(timeout 20 "${K[@]}" get --raw /api/v1/services 2>&1)
  expect_match "kubectl get --raw /api/v1/services: a ServiceList" '"kind":"ServiceList"' "$raw"
  expect_match "kubectl get --raw /api/v1/services: web in it" '"name":"web"' "$raw"
  expect_match "kubectl get services -A" 'shop +web' "$(timeout 20 "${K[@]}" get services -A 2>&1)"
  expect_match "kubectl get endpointslices -n shop" 'web-1' "$(timeout 20 "${K[@]}" get endpointslices -n shop 2>&1)"
  ctl "$API" config '{"token":"e2e-token"}' >/dev/null
  expect_match "kubectl once a token is required: Unauthorized" 'Unauthorized' \
    "$(timeout 20 "${K[@]}" get --raw /api/v1/services 2>&1)"
else
  echo "     (kubectl not installed: skipping the kubectl cross-checks)"
  ctl "$API" config '{"token":"e2e-token"}' >/dev/null
fi

cat >"$WORK/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $API
users:
- name: dns
  user:
    token: e2e-token
contexts:
- name: e2e
  context: {cluster: test, user: dns}
current-context: e2e
YAML
start_server k8s --source "kubeconfig:$WORK/kubeconfig#e2e"
expect_match "log: listed from the API" 'services: listed 1 objects' "$(cat "$SRV_LOG")"
expect_eq "web A" 10.96.0.50 "$(qs A web.shop.svc.cluster.local)"
expect_eq "web SRV (from the slice)" "0 100 80 web.shop.svc.cluster.local." "$(qs SRV _http._tcp.web.shop.svc.cluster.local)"

t0=$(now_ms)
ctl "$API" apply "$(svc_json shop api 10.96.0.51 8080)" >/dev/null
if wait_for "api answers" 250 0.02 answers api.shop.svc.cluster.local A 10.96.0.51; then
  ok "applied service answers ($(($(now_ms) - t0)) ms from apply to dig, dig start-up included)"
else bad "applied service never answered"; fi
ctl "$API" apply "$(svc_json shop api 10.96.0.52 8080)" >/dev/null
wait_for "api modified" 250 0.02 answers api.shop.svc.cluster.local A 10.96.0.52 && ok "modified service answers the new IP" || bad "modify not seen"
t0=$(now_ms)
ctl "$API" delete '{"kind":"Service","namespace":"shop","name":"web"}' >/dev/null
if wait_for "web NXDOMAIN" 250 0.02 status_is web.shop.svc.cluster.local A NXDOMAIN; then
  ok "deleted service: NXDOMAIN ($(($(now_ms) - t0)) ms)"
else bad "deleted service still answers"; fi

ctl "$API" cut-streams '{"mode":"midline"}' >/dev/null
ctl "$API" apply "$(svc_json shop cut 10.96.0.53 80)" >/dev/null
wait_for "cut answers" 250 0.02 answers cut.shop.svc.cluster.local A 10.96.0.53 && ok "stream cut mid-event: the event arrives after the re-watch" || bad "event lost after a cut"
expect_eq "others unchanged after the cut" 10.96.0.52 "$(qs A api.shop.svc.cluster.local)"

# Filters: --namespaces and --label-selector narrow what is watched; --pods verified adds the pod watch.
ctl "$API" apply "$(svc_json other hidden 10.96.0.60 80)" >/dev/null
ctl "$API" apply '{"apiVersion":"v1","kind":"Service","metadata":{"name":"tagged","namespace":"shop","labels":{"dns":"yes"}},"spec":{"type":"ClusterIP","clusterIP":"10.96.0.61","ports":[{"port":80}]}}' >/dev/null
ctl "$API" apply '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p1","namespace":"shop"},"spec":{"containers":[{"name":"c","image":"x"}]},"status":{"phase":"Running","podIP":"10.1.0.7","podIPs":[{"ip":"10.1.0.7"}]}}' >/dev/null
UNFILTERED_PID=$SRV_PID UNFILTERED_LOG=$SRV_LOG UNFILTERED_PORT=$SRV_PORT
wait_for "hidden in the unfiltered server" 250 0.02 answers hidden.other.svc.cluster.local A 10.96.0.60 && ok "unfiltered: other/hidden answers" || bad "unfiltered: other/hidden missing"
start_server filtered --source "kubeconfig:$WORK/kubeconfig#e2e" --namespaces shop --label-selector dns=yes --pods verified
expect_eq "--label-selector dns=yes: tagged answers" 10.96.0.61 "$(qs A tagged.shop.svc.cluster.local)"
expect_eq "--label-selector dns=yes: api (unlabelled) is NXDOMAIN" NXDOMAIN "$(dig_status "$(q A api.shop.svc.cluster.local)")"
expect_eq "--namespaces shop: other/hidden is NXDOMAIN" NXDOMAIN "$(dig_status "$(q A hidden.other.svc.cluster.local)")"
expect_eq "--pods verified: the pod's record answers" 10.1.0.7 "$(qs A 10-1-0-7.shop.pod.cluster.local)"
expect_eq "--pods verified: no pod at that address, NXDOMAIN" NXDOMAIN "$(dig_status "$(q A 10-1-0-8.shop.pod.cluster.local)")"
expect_match "--pods verified: pods are listed" 'pods in namespace shop: listed 1 objects' "$(cat "$SRV_LOG")"
expect_nomatch "without --pods verified no pod watch" 'pods( in namespace [a-z]+)?: listed' "$(cat "$UNFILTERED_LOG")"
stop_server "$SRV_PID"
SRV_PID=$UNFILTERED_PID SRV_LOG=$UNFILTERED_LOG SRV_PORT=$UNFILTERED_PORT

# The API server goes away: the last good zone keeps answering.
stop_server "$API_PID"
expect_eq "API server gone: last good answer still served" 10.96.0.52 "$(qs A api.shop.svc.cluster.local)"
stop_server "$SRV_PID"

# --- HTTPS with a CA made here ------------------------------------------------------------------------
(
  cd "$WORK" || exit 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj /CN=e2e-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext
  openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl could not make the test CA"; }
start_api https --tls-cert "$WORK/srv.crt" --tls-key "$WORK/srv.key" --token tls-token
API=https://127.0.0.1:$API_PORT
ctl "$API" apply "$(svc_json secure web 10.96.1.50 443)" --cacert "$WORK/ca.crt" >/dev/null
if command -v kubectl >/dev/null; then
  expect_match "kubectl over HTTPS with the CA" 'secure +web' "$(timeout 20 kubectl --kubeconfig=/dev/null \
    --server="$API" --certificate-authority="$WORK/ca.crt" --token=tls-token --request-timeout=5s get services -A 2>&1)"
fi
kubeconfig_tls() {  # kubeconfig_tls CLUSTER-FIELD-LINE
  printf 'apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: %s\n    %s\nusers:\n- name: u\n  user:\n    token: tls-token\ncontexts:\n- name: c\n  context: {cluster: t, user: u}\ncurrent-context: c\n' "$API" "$1"
}
kubeconfig_tls "certificate-authority-data: $(base64 -w0 "$WORK/ca.crt")" >"$WORK/kubeconfig-tls"
start_server tls --source "kubeconfig:$WORK/kubeconfig-tls"
expect_eq "HTTPS: web A" 10.96.1.50 "$(qs A web.secure.svc.cluster.local)"
ctl "$API" apply "$(svc_json secure api 10.96.1.51 443)" --cacert "$WORK/ca.crt" >/dev/null
wait_for "https api" 250 0.02 answers api.secure.svc.cluster.local A 10.96.1.51 && ok "HTTPS: applied service answers" || bad "HTTPS: change not seen"
stop_server "$SRV_PID"

kubeconfig_tls "insecure-skip-tls-verify: true" >"$WORK/kubeconfig-insecure"
out=$(timeout 10 "$CLUSTERDNS" --source "kubeconfig:$WORK/kubeconfig-insecure" --listen 127.0.0.1:0 2>&1)
rc=$?
expect_eq "insecure-skip-tls-verify: refused at start (exit 1)" 1 "$rc"
expect_match "insecure-skip-tls-verify: says why" 'insecure-skip-tls-verify is refused' "$out"
finish
