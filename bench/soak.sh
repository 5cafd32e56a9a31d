#!/usr/bin/env bash
# Soak (issue 11 part 3): clusterdns at 80% of its measured UDP saturation for SOAK_SECONDS (300) while a
# manifest file in its --source directory changes every 200 ms, on a 10,000-service cluster. Reports queries
# lost, the p99 of a 100 q/s latency probe running alongside, RSS over time, how far answers lag behind the
# file, and whether the final answer is current.
#
# usage: bench/soak.sh [BUILD_DIR]
# Environment: SOAK_SECONDS [300]; SOAK_SERVICES [10000]; SOAK_LOAD [0.8] fraction of saturation;
#   SOAK_CHURN_MS [200]; SOAK_KEEP [0]. Server on core 0 (--threads 1), clients on core 1; only 127.0.0.1.
set -Eeuo pipefail

BUILD_DIR=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SECS=${SOAK_SECONDS:-300}
N=${SOAK_SERVICES:-10000}
LOAD=${SOAK_LOAD:-0.8}
CHURN_MS=${SOAK_CHURN_MS:-200}
CLUSTERDNS=$BUILD_DIR/clusterdns
log() { printf '[soak %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[[ -x $CLUSTERDNS ]] || die "$CLUSTERDNS not found: build it first"
for tool in dnsperf dig taskset python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done
SERVER_CPU=0 CLIENT_CPU=1
(($(nproc) < 2)) && CLIENT_CPU=0

TMP=$(mktemp -d /tmp/clusterdns-soak.XXXXXX)
declare -a PIDS=()
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${SOAK_KEEP:-0} == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

log "generating $N services"
python3 "$HERE/gen_cluster.py" "$N" "$TMP/data" --queries 100000 >/dev/null
PORT=$(python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass')

# The churning file: one Service whose cluster IP counts up; written elsewhere and renamed in (atomic).
cat >"$TMP/churn.py" <<'EOF'
import os, signal, sys, time
target, period, history = sys.argv[1], float(sys.argv[2]) / 1000, sys.argv[3]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
tmp = os.path.join(os.path.dirname(history), "churn.tmp")
with open(history, "w", buffering=1) as h:
    i = 0
    while not stop:
        i += 1
        ip = f"10.250.{i // 250 % 250}.{i % 250 + 1}"
        with open(tmp, "w") as f:
            f.write("apiVersion: v1\nkind: Service\nmetadata:\n  name: soak-churn\n  namespace: default\n"
                    f"spec:\n  clusterIP: {ip}\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n")
        os.rename(tmp, target)
        h.write(f"{time.time():.3f} {ip}\n")
        time.sleep(period)
EOF
# A 100 q/s probe of the churning name: its latency, and how far the answer lags behind the file.
cat >"$TMP/probe.py" <<'EOF'
import signal, socket, struct, sys, time
port, history, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
name = b"".join(bytes([len(p)]) + p.encode() for p in "soak-churn.default.svc.cluster.local".split(".")) + b"\0"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
s.connect(("127.0.0.1", port))
with open(out, "w", buffering=1) as o:
    i = 0
    while not stop:
        i = (i + 1) & 0xFFFF
        t0 = time.time()
        s.send(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1))
        try:
            while True:
                r = s.recv(4096)
                if struct.unpack(">H", r[:2])[0] == i:
                    break
            t1 = time.time()
            ip = ".".join(str(b) for b in r[-4:]) if struct.unpack(">H", r[6:8])[0] else "-"
            o.write(f"{t0:.3f} {(t1 - t0) * 1000:.3f} {ip}\n")
        except socket.timeout:
            o.write(f"{t0:.3f} timeout -\n")
        time.sleep(max(0, 0.01 - (time.time() - t0)))
EOF

cat >"$TMP/data/manifests/churn.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: soak-churn
  namespace: default
spec:
  clusterIP: 10.250.255.1
  ports:
  - name: http
    port: 80
    protocol: TCP
YAML
taskset -c "$SERVER_CPU" "$CLUSTERDNS" --source "file:$TMP/data/manifests" --listen "127.0.0.1:$PORT" \
  --threads 1 --upstream none >"$TMP/clusterdns.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
ready=""
for _ in $(seq 1200); do
  [[ $(dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short soak-churn.default.svc.cluster.local A 2>/dev/null) == 10.250.255.1 ]] &&
    ready=1 && break
  kill -0 "$SERVER" 2>/dev/null || die "clusterdns exited: $(tail -3 "$TMP/clusterdns.log")"
  sleep 0.1
done
[[ -n $ready ]] || die "clusterdns did not answer within 120 s"
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$SERVER/stat"; }
for _ in $(seq 120); do  # idle (< 5% of a core over 0.5 s): the start-up builds are over
  a=$(ticks)
  sleep 0.5
  b=$(ticks)
  (((b - a) * 200 < 5 * $(getconf CLK_TCK))) && break
done
log "server ready on $PORT, RSS $(($(rss_kib "$SERVER") / 1024)) MiB; measuring saturation (10 s)"
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/data/queries-hit.txt" -l 10 -c 8 -q 200 -t 1 \
  >"$TMP/saturation.txt" 2>&1 || true
MAX=$(awk '/Queries per second:/ { printf "%d", $4 }' "$TMP/saturation.txt")
[[ -n $MAX && $MAX -gt 0 ]] || die "no saturation figure: $(tail -3 "$TMP/saturation.txt")"
RATE=$(python3 -c "print(int($MAX * $LOAD))")
log "saturation $MAX q/s without churn; soaking at $RATE q/s for $SECS s with a change every $CHURN_MS ms"

python3 "$TMP/churn.py" "$TMP/data/manifests/churn.yaml" "$CHURN_MS" "$TMP/history.txt" &
CHURN=$!
PIDS+=("$CHURN")
taskset -c "$CLIENT_CPU" python3 "$TMP/probe.py" "$PORT" "$TMP/history.txt" "$TMP/probe.txt" &
PROBE=$!
PIDS+=("$PROBE")
: >"$TMP/rss.txt"
(while kill -0 "$SERVER" 2>/dev/null; do echo "$(date +%s) $(rss_kib "$SERVER")" >>"$TMP/rss.txt"; sleep 5; done) &
PIDS+=("$!")
taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$PORT" -d "$TMP/data/queries-hit.txt" -l "$SECS" -c 8 -q 200 \
  -t 1 -Q "$RATE" -S 30 >"$TMP/soak.txt" 2>&1 || true
kill -TERM "$CHURN" "$PROBE"
wait "$CHURN" "$PROBE" 2>/dev/null || true
LAST=$(tail -1 "$TMP/history.txt" | awk '{print $2}')
sleep 1
FINAL=""
for _ in $(seq 100); do  # up to 10 s for the last change to be served
  FINAL=$(dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short soak-churn.default.svc.cluster.local A 2>/dev/null)
  [[ $FINAL == "$LAST" ]] && break
  sleep 0.1
done
python3 - "$TMP/soak.txt" "$TMP/probe.txt" "$TMP/history.txt" "$TMP/rss.txt" "$RATE" "$MAX" "$LAST" "$FINAL" <<'EOF'
import bisect, re, statistics, sys
soak, probe, history, rss, rate, sat, last, final = sys.argv[1:9]
text = open(soak).read()
def grab(pattern):
    m = re.search(pattern, text)
    return m.group(1) if m else "?"
sent, completed, lost = grab(r"Queries sent:\s+(\d+)"), grab(r"Queries completed:\s+(\d+)"), grab(r"Queries lost:\s+(\d+)")
qps, avg = grab(r"Queries per second:\s+([\d.]+)"), grab(r"Average Latency \(s\):\s+([\d.]+)")
writes = [(float(t), ip) for t, ip in (l.split() for l in open(history) if l.strip())]
times = [t for t, _ in writes]
first_seen = {}
for t, ip in writes:
    first_seen.setdefault(ip, t)
lat, lags, timeouts = [], [], 0
for line in open(probe):
    t, ms, ip = line.split()
    if ms == "timeout":
        timeouts += 1
        continue
    lat.append(float(ms))
    # Lag: how long ago the answer stopped being the newest version (0 when current).
    i = bisect.bisect_right(times, t := float(t)) - 1
    if i < 0 or writes[i][1] == ip:
        lags.append(0.0)
        continue
    newer = [w for w in writes[: i + 1] if w[1] == ip]
    if newer:
        j = writes.index(newer[-1])
        lags.append(t - writes[j + 1][0] if j + 1 < len(writes) else 0.0)
lat.sort()
p99 = lat[int(len(lat) * 0.99)] if lat else float("nan")
r = [int(l.split()[1]) for l in open(rss) if l.strip()]
print(f"saturation {sat} q/s; soak target {rate} q/s: sent {sent}, completed {completed}, lost {lost}, {qps} q/s, avg latency {float(avg) * 1000 if avg != '?' else 0:.2f} ms")
print(f"probe (100 q/s): {len(lat)} answers, {timeouts} timeouts, p50 {statistics.median(lat) if lat else 0:.2f} ms, p99 {p99:.2f} ms, max {lat[-1] if lat else 0:.2f} ms")
if lags:
    lags.sort()
    print(f"answer lag behind the file: median {statistics.median(lags) * 1000:.0f} ms, p99 {lags[int(len(lags) * 0.99)] * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms ({len(writes)} changes)")
if r:
    print(f"RSS MiB: start {r[0] // 1024}, max {max(r) // 1024}, end {r[-1] // 1024} ({len(r)} samples, every 5 s)")
print(f"final answer: {final or 'none'} (last written {last}): {'current' if final == last else 'STALE'}")
EOF
