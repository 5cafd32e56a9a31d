#!/usr/bin/env bash
# clusterset.local from etcd: ServiceImports where kube-apiserver stores a custom resource
# (/registry/multicluster.x-k8s.io/serviceimports/<ns>/<name>), written by clusterdnsctl and by plain etcdctl,
# against a real etcd (free loopback ports, its own data dir); created, changed and deleted imports seen by dig.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CTL=${CLUSTERDNSCTL:-$BUILD_DIR/clusterdnsctl}
command -v etcd >/dev/null && command -v etcdctl >/dev/null || skip "etcd/etcdctl not installed (etcd-server, etcd-client)"
command -v python3 >/dev/null || skip "python3 not installed (free ports)"
[ -x "$CTL" ] || die "$CTL not built (cmake --build build --target clusterdnsctl)"
e2e_init
FIXTURE=$SOURCE_DIR/tests/golden/fixtures/clusterset.yaml
ZONE=clusterset.local

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port); ETCD_PEER=$(free_port); ETCD_METRICS=$(free_port)
ETCD_URL=http://127.0.0.1:$ETCD_PORT
# etcd as a simple command (its own PID: it takes over a second to exit); waits (bounded: 15 s) for /health.
etcd --name e2e --data-dir "$WORK/etcd-data" --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER" --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS" \
  >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
E2E_PIDS+=("$ETCD_PID")
etcd_healthy() { curl -s --max-time 1 "http://127.0.0.1:$ETCD_METRICS/health" 2>/dev/null | grep -q true; }
wait_for "etcd healthy" 150 0.1 etcd_healthy || { tail -n 20 "$WORK/etcd.log"; die "etcd did not become healthy"; }
echo "     started etcd pid $ETCD_PID on $ETCD_URL"
E=(etcdctl --endpoints="$ETCD_URL" --command-timeout=5s)
ctl() { "$CTL" --etcd "$ETCD_URL" "$@"; }
KEY=/registry/multicluster.x-k8s.io/serviceimports

out=$(ctl apply -f "$FIXTURE" 2>&1)
expect_match "clusterdnsctl apply: serviceimport shop/web created" "^serviceimport shop/web created$" "$out"
expect_match "clusterdnsctl apply: serviceimport shop/db created" "^serviceimport shop/db created$" "$out"
expect_eq "stored where the API server keeps the custom resource" \
  "$KEY/shop/db $KEY/shop/dual $KEY/shop/idle $KEY/shop/local-alias $KEY/shop/pending $KEY/shop/web" \
  "$("${E[@]}" get --prefix --keys-only "$KEY/" | grep . | tr '\n' ' ' | sed 's/ $//')"
expect_match "stored as v1alpha1 JSON" '"apiVersion":"multicluster.x-k8s.io/v1alpha1"' "$("${E[@]}" get --print-value-only "$KEY/shop/web")"
out=$(ctl get serviceimports -n shop 2>&1)
expect_match "clusterdnsctl get svcim: the header" "^NAMESPACE +NAME +TYPE +IP +PORT\(S\)$" "$out"
expect_match "clusterdnsctl get svcim: web" "^shop +web +ClusterSetIP +10\.42\.0\.7 +80/TCP,53/UDP,8443/TCP$" "$out"
expect_match "clusterdnsctl get svcim: db" "^shop +db +Headless +None +5432/TCP$" "$out"

start_server etcd --source "etcd:$ETCD_URL" --clusterset-zone "$ZONE"
expect_match "log: 6 service imports read" '6 service imports' "$(cat "$SRV_LOG")"
expect_eq "web A" 10.42.0.7 "$(qs A web.shop.svc.$ZONE)"
expect_eq "db A (headless)" $'10.1.0.7\n10.1.0.8\n10.2.0.7' "$(qs A db.shop.svc.$ZONE)"
expect_eq "db-0.cluster-a.db A" 10.1.0.7 "$(qs A db-0.cluster-a.db.shop.svc.$ZONE)"

answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
status_is() { [ "$(dig_status "$(q "$2" "$1")")" == "$3" ]; }
# etcdctl put: a new import, then a change, as the API server would write them.
import_json() { printf '{"apiVersion":"multicluster.x-k8s.io/v1alpha1","kind":"ServiceImport","metadata":{"name":"%s","namespace":"shop"},"spec":{"type":"ClusterSetIP","ips":["%s"],"ports":[{"name":"http","port":80,"protocol":"TCP"}]}}' "$1" "$2"; }
t0=$(now_ms)
"${E[@]}" put "$KEY/shop/api" "$(import_json api 10.42.0.20)" >/dev/null
wait_for "api answers" 250 0.02 answers api.shop.svc.$ZONE A 10.42.0.20 &&
  ok "etcdctl put: new import answers ($(($(now_ms) - t0)) ms)" || bad "new import never answered"
"${E[@]}" put "$KEY/shop/api" "$(import_json api 10.42.0.21)" >/dev/null
wait_for "api changed" 250 0.02 answers api.shop.svc.$ZONE A 10.42.0.21 &&
  ok "etcdctl put: changed import answers the new IP" || bad "change not seen"
# Another storage version is refused with its key; the last good version stays.
"${E[@]}" put "$KEY/shop/api" "$(import_json api 10.42.0.22 | sed 's/v1alpha1/v1beta1/')" >/dev/null
wait_for "refusal logged" 100 0.05 grep -q "ignored $KEY/shop/api" "$SRV_LOG" &&
  ok "a v1beta1 value is refused and logged" || bad "v1beta1 value not reported"
expect_eq "the last good version stays" 10.42.0.21 "$(qs A api.shop.svc.$ZONE)"
t0=$(now_ms)
out=$(ctl delete serviceimport shop/web 2>&1)
expect_eq "clusterdnsctl delete serviceimport shop/web" "serviceimport shop/web deleted" "$out"
wait_for "web NXDOMAIN" 250 0.02 status_is web.shop.svc.$ZONE A NXDOMAIN &&
  ok "deleted import: NXDOMAIN ($(($(now_ms) - t0)) ms)" || bad "deleted import still answers"
expect_eq "the local Service web stays in cluster.local" 10.96.0.10 "$(qs A web.shop.svc.cluster.local)"
finish
