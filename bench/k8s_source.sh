#!/usr/bin/env bash
# The Kubernetes source at scale, against the test API server (tests/k8s_api): clusterdns lists N services
# (default 5,000; paged by 500, as client-go does) and we report the time until the first snapshot of the
# synced registry is compiled, clusterdns's peak RSS (VmHWM) and the RSS it settles at; then freshness: a
# Service's cluster IP is changed through the API CHANGES times and each change is timed from the API request
# to the first DNS answer carrying the new address (UDP, polled every 0.5 ms): p50/p99/max.
#
# usage: bench/k8s_source.sh [BUILD_DIR]
# environment: K8S_BENCH_SERVICES [5000] K8S_BENCH_CHANGES [200] K8S_BENCH_LOG [unset: keep clusterdns's log there]
# Loopback only; every process started here is stopped by its PID on exit.
set -Eeuo pipefail
BUILD_DIR=${1:-build}
N=${K8S_BENCH_SERVICES:-5000}
CHANGES=${K8S_BENCH_CHANGES:-200}
CLUSTERDNS=$BUILD_DIR/clusterdns
APISERVER=$BUILD_DIR/tests/k8s_api/k8s_test_apiserver
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/source_lib.sh"
for b in "$CLUSTERDNS" "$APISERVER"; do [ -x "$b" ] || { echo "$b not built" >&2; exit 1; }; done
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "${K8S_BENCH_LOG:-}" ] || cp "$TMP/clusterdns.log" "$K8S_BENCH_LOG"
  rm -rf "$TMP"
}
trap cleanup EXIT

"$APISERVER" --port 0 --port-file "$TMP/api.port" >"$TMP/api.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do [ -s "$TMP/api.port" ] && break; sleep 0.05; done
API=http://127.0.0.1:$(cat "$TMP/api.port")
curl -sf --max-time 120 -X POST "$API/test/generate" -d "{\"count\":$N,\"namespace\":\"bulk\"}" >/dev/null
curl -sf --max-time 5 -X POST "$API/test/apply" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"fresh","namespace":"bench"},"spec":{"type":"ClusterIP","clusterIP":"10.99.0.1","ports":[{"port":80}]}}' >/dev/null
cat >"$TMP/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "$API"}}]
users: [{name: u, user: {}}]
contexts: [{name: c, context: {cluster: t, user: u}}]
current-context: c
YAML

start_clusterdns "k8s source" "kubeconfig:$TMP/kubeconfig"
# CPU clusterdns spent until ready (reading the source and compiling the snapshot; user + system).
echo "clusterdns CPU until ready: $(($(awk '{print $14 + $15}' "/proc/$PID/stat") * 1000 / $(getconf CLK_TCK))) ms"
out=$(python3 "$HERE/freshness.py" k8s "$API" "$PORT" "$CHANGES" bench) || { echo "$out" >&2; exit 1; }
echo "freshness over $CHANGES changes (API apply sent -> DNS answer changed): $out"
