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
source "$HERE/source_lib.sh"
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

start_clusterdns "etcd source" "etcd:$ETCD"
# CPU clusterdns spent until ready (reading the source and compiling the snapshot; user + system).
echo "clusterdns CPU until ready: $(($(awk '{print $14 + $15}' "/proc/$PID/stat") * 1000 / $(getconf CLK_TCK))) ms"
out=$(python3 "$HERE/freshness.py" etcd "$ETCD_PORT" "$PORT" "$CHANGES" bench) || { echo "$out" >&2; exit 1; }
echo "freshness over $CHANGES changes (etcd put sent -> DNS answer changed): $out"
