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

t0=$(date +%s%N)
"$CLUSTERDNS" --source "kubeconfig:$TMP/kubeconfig" --listen 127.0.0.1:0 --upstream none --http none \
  --threads 1 >"$TMP/clusterdns.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for _ in $(seq 1 1200); do  # 1200 x 50 ms = 60 s: the first snapshot built from a synced registry
  grep -a 'snapshot [0-9]*: [0-9]* names .* built in' "$TMP/clusterdns.log" | grep -qv 'not synced' && break
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/clusterdns.log"; exit 1; }
  sleep 0.05
done
ready_ms=$((($(date +%s%N) - t0) / 1000000))
grep -q 'synced:' "$TMP/clusterdns.log" || { cat "$TMP/clusterdns.log"; echo "not synced in 60 s" >&2; exit 1; }
PORT=$(grep -Eo 'serving [^ ]+ on 127\.0\.0\.1:[0-9]+' "$TMP/clusterdns.log" | head -1 | sed 's/.*://')
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo "k8s source: $N services (+1) listed and compiled $ready_ms ms after the process started"
grep -E 'listed [0-9]+ objects|snapshot .* names' "$TMP/clusterdns.log" | sed 's/^/  log: /' | head -6
echo "clusterdns peak RSS (VmHWM) $((hwm / 1024)) MiB, RSS after sync $((rss / 1024)) MiB"

python3 - "$API" "$PORT" "$CHANGES" <<'PY'
import json, socket, struct, sys, time, urllib.request
api, port, changes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); sock.settimeout(1.0)
qname = b"".join(bytes([len(l)]) + l.encode() for l in "fresh.bench.svc.cluster.local".split(".")) + b"\0"
def answer(qid):
    sock.sendto(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1), ("127.0.0.1", port))
    try:
        data = sock.recv(512)
    except socket.timeout:
        return None
    if struct.unpack(">H", data[6:8])[0] == 0: return None
    rr = 12 + len(qname) + 4
    return socket.inet_ntoa(data[rr + 12:rr + 16])
ms = []
for i in range(changes):
    ip = f"10.99.{1 + i // 250}.{i % 250 + 1}"
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fresh", "namespace": "bench"},
           "spec": {"type": "ClusterIP", "clusterIP": ip, "ports": [{"port": 80}]}}
    t0 = time.perf_counter()
    urllib.request.urlopen(urllib.request.Request(f"{api}/test/apply", json.dumps(obj).encode()), timeout=5).read()
    while answer(i & 0xffff) != ip:
        if time.perf_counter() - t0 > 5: sys.exit(f"change {i} not answered within 5 s")
        time.sleep(0.0005)
    ms.append((time.perf_counter() - t0) * 1000)
ms.sort()
print(f"freshness over {changes} changes (API apply sent -> DNS answer changed): "
      f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[len(ms) * 99 // 100]:.1f} ms, max {ms[-1]:.1f} ms")
PY
