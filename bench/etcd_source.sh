#!/usr/bin/env bash
# The etcd source at scale, against a real etcd (Debian's etcd-server, started here on free loopback ports
# with its own data directory): N services (default 5,000, from gen_cluster.py, written with clusterdnsctl as
# a user would) are read by clusterdns --source etcd:URL; we report the time until the first snapshot of the
# synced registry is compiled, clusterdns's peak RSS (VmHWM) and the RSS it settles at; then freshness: a
# Service's cluster IP is put CHANGES times through etcd's JSON gateway, each change timed from the put to the
# first DNS answer carrying the new address (UDP, polled every 0.5 ms): p50/p99/max.
#
# usage: bench/etcd_source.sh [BUILD_DIR]
# environment: ETCD_BENCH_SERVICES [5000] ETCD_BENCH_CHANGES [200] ETCD_BENCH_LOG [unset: keep clusterdns's log there]
# Loopback only; every process started here is stopped by its PID on exit.
set -Eeuo pipefail
BUILD_DIR=${1:-build}
N=${ETCD_BENCH_SERVICES:-5000}
CHANGES=${ETCD_BENCH_CHANGES:-200}
CLUSTERDNS=$BUILD_DIR/clusterdns
CTL=$BUILD_DIR/clusterdnsctl
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for b in "$CLUSTERDNS" "$CTL"; do [ -x "$b" ] || { echo "$b not built" >&2; exit 1; }; done
command -v etcd >/dev/null || { echo "etcd not installed (scripts/install-deps.sh installs etcd-server)" >&2; exit 1; }
TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "${ETCD_BENCH_LOG:-}" ] || cp "$TMP/clusterdns.log" "$ETCD_BENCH_LOG" 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
ETCD_METRICS=$(free_port)
ETCD=http://127.0.0.1:$ETCD_PORT
etcd --name bench --data-dir "$TMP/etcd" --listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "bench=http://127.0.0.1:$ETCD_PEER" --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS" \
  >"$TMP/etcd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 150); do  # 150 x 0.1 s
  curl -s --max-time 1 "http://127.0.0.1:$ETCD_METRICS/health" 2>/dev/null | grep -q true && break
  sleep 0.1
done
curl -s --max-time 1 "http://127.0.0.1:$ETCD_METRICS/health" | grep -q true || { tail "$TMP/etcd.log"; exit 1; }

python3 "$HERE/gen_cluster.py" "$N" "$TMP/cluster" >/dev/null
cat >"$TMP/fresh.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: fresh, namespace: bench}
spec: {type: ClusterIP, clusterIP: 10.99.0.1, ports: [{port: 80}]}
YAML
t0=$(date +%s%N)
"$CTL" --etcd "$ETCD" apply -f "$TMP/cluster/manifests" -f "$TMP/fresh.yaml" >/dev/null
echo "etcd: $N services (+1) written with clusterdnsctl in $((($(date +%s%N) - t0) / 1000000)) ms"

t0=$(date +%s%N)
"$CLUSTERDNS" --source "etcd:$ETCD" --listen 127.0.0.1:0 --upstream none --http none --threads 1 \
  >"$TMP/clusterdns.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for _ in $(seq 1 1200); do  # 1200 x 50 ms = 60 s: the first snapshot built from a synced registry
  grep -a 'snapshot [0-9]*: [0-9]* names .* built in' "$TMP/clusterdns.log" | grep -qv 'not synced' && break
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/clusterdns.log"; exit 1; }
  sleep 0.05
done
ready_ms=$((($(date +%s%N) - t0) / 1000000))
grep -a 'snapshot [0-9]*: [0-9]* names .* built in' "$TMP/clusterdns.log" | grep -qv 'not synced' ||
  { cat "$TMP/clusterdns.log"; echo "not synced in 60 s" >&2; exit 1; }
PORT=$(grep -aEo 'serving [^ ]+ on 127\.0\.0\.1:[0-9]+' "$TMP/clusterdns.log" | head -1 | sed 's/.*://')
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
echo "etcd source: $N services (+1) read and compiled $ready_ms ms after the process started"
grep -aE 'read [0-9]+ objects|snapshot .* names' "$TMP/clusterdns.log" | sed 's/^/  log: /' | head -4
echo "clusterdns peak RSS (VmHWM) $((hwm / 1024)) MiB, RSS after sync $((rss / 1024)) MiB"

python3 - "$ETCD_PORT" "$PORT" "$CHANGES" <<'PY'
import base64, json, socket, struct, sys, time, urllib.request
etcd_port, port, changes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def b64(s): return base64.b64encode(s.encode()).decode()
def put(key, value):
    body = json.dumps({"key": b64(key), "value": b64(value)}).encode()
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{etcd_port}/v3/kv/put", body), timeout=5).read()
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
           "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ports": [{"port": 80, "protocol": "TCP"}]}}
    t0 = time.perf_counter()
    put("/registry/services/specs/bench/fresh", json.dumps(obj))
    while answer(i & 0xffff) != ip:
        if time.perf_counter() - t0 > 5: sys.exit(f"change {i} not answered within 5 s")
        time.sleep(0.0005)
    ms.append((time.perf_counter() - t0) * 1000)
ms.sort()
print(f"freshness over {changes} changes (etcd put sent -> DNS answer changed): "
      f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[len(ms) * 99 // 100]:.1f} ms, max {ms[-1]:.1f} ms")
PY
