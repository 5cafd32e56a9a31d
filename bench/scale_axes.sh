#!/usr/bin/env bash
# Scale axes beside Knot: 1,000,000 endpoints (1,000 headless Services x 1,000), 150,000 pods (--pods verified
# --autopath), 10,000 namespaces. For each axis, ROUNDS rounds, clusterdns and Knot interleaved (the order
# rotated every round), each server alone with one worker on loopback, on the same records (gen_cluster.py
# writes both the manifests and the zone files):
#   ready        exec -> the last generated object answers (probe.tsv)
#   peak / RSS / PSS once idle (CPU < 2% over 250 ms), as bench/run.sh measures them
#   change       clusterdns only: CHANGES changes, each timed from the manifest's write to the first UDP answer
#                carrying it (bench/freshness.py file): an endpoint of a 1,000-endpoint Service moved / a pod
#                added / a Service's cluster IP in the last of 10,000 namespaces changed
#   checks       endpoints: the 1,000-address headless name over UDP without EDNS (TC, <= 512 bytes), with
#                EDNS 1232 (TC, <= 1232) and over TCP (all 1,000; also its SRV with the targets' addresses);
#                pods: autopath answers a pod's client address (127.0.0.5, a pod of ns-01) and not another
#
# usage: bench/scale_axes.sh [BUILD_DIR]
# Environment (defaults in brackets):
#   SCALE_AXES ["endpoints pods namespaces"]   SCALE_ROUNDS [3]   SCALE_CHANGES [30]
#   SCALE_SERVERS ["clusterdns knot"]          SCALE_DATA [temp dir]: generated data kept and reused there
#   SCALE_HEADLESS_SERVICES [1000] SCALE_HEADLESS_ENDPOINTS [1000] SCALE_PODS [150000] SCALE_NAMESPACES [10000]
#   SCALE_READY_TIMEOUT [600] seconds          SCALE_OUT [unset]: copy results.tsv and summary.md there
#   SCALE_KEEP [0]: keep the temp dir (logs)
# Loopback only; every process started here is stopped by its PID on exit.
set -Eeuo pipefail

BUILD_DIR=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/knot_lib.sh"
read -r -a AXES <<<"${SCALE_AXES:-endpoints pods namespaces}"
read -r -a SERVERS <<<"${SCALE_SERVERS:-clusterdns knot}"
ROUNDS=${SCALE_ROUNDS:-3}
CHANGES=${SCALE_CHANGES:-30}
H_SERVICES=${SCALE_HEADLESS_SERVICES:-1000}
H_ENDPOINTS=${SCALE_HEADLESS_ENDPOINTS:-1000}
PODS=${SCALE_PODS:-150000}
NAMESPACES=${SCALE_NAMESPACES:-10000}
READY_TIMEOUT=${SCALE_READY_TIMEOUT:-600}
CLK_TCK=$(getconf CLK_TCK)
for a in "${AXES[@]}"; do [[ $a =~ ^(endpoints|pods|namespaces)$ ]] || { echo "unknown axis '$a'" >&2; exit 2; }; done
for s in "${SERVERS[@]}"; do [[ $s =~ ^(clusterdns|knot)$ ]] || { echo "unknown server '$s'" >&2; exit 2; }; done

log() { printf '[scale %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
CLUSTERDNS=$BUILD_DIR/clusterdns
[[ -x $CLUSTERDNS ]] || die "$CLUSTERDNS not found: build it first"
CLUSTERDNS=$(cd "$(dirname "$CLUSTERDNS")" && pwd)/clusterdns
export PATH=$PATH:/usr/sbin
for tool in knotd dig python3; do command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"; done

TMP=$(mktemp -d /tmp/clusterdns-scale.XXXXXX)
DATA=${SCALE_DATA:-$TMP/data}
declare -a PIDS=()
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ ${SCALE_KEEP:-0} == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

now_ms() { date +%s%3N; }
free_port() {
  python3 - <<'EOF'
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); break
    except OSError:
        t.close()
print(port)
EOF
}
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
wait_idle() {  # until < 2% CPU over 250 ms, at most 120 s
  local a b i
  for ((i = 0; i < 480; i++)); do
    a=$(ticks "$1"); sleep 0.25; b=$(ticks "$1")
    (((b - a) * 100 * 4 < 2 * CLK_TCK)) && return 0
  done
  log "WARNING: pid $1 still busy after 120 s"
}
mem() {  # "PEAK_KiB RSS_KiB PSS_KiB"
  echo "$(awk '/VmHWM/ { print $2 }' "/proc/$1/status") $(awk '/VmRSS/ { print $2 }' "/proc/$1/status") $(awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup")"
}
answer_of() {  # answer_of PORT QNAME QTYPE -> first answer's RDATA (or the status)
  { dig @127.0.0.1 -p "$1" +tries=1 +time=2 +norec +short "$2" "$3" 2>/dev/null || true; } | head -1
}

# ---------------------------------------------------------------- data
gen_axis() {  # gen_axis AXIS -> data dir
  local dir=$DATA/$1
  if [[ ! -f $dir/probe.tsv ]]; then
    log "generating $1 under $dir"
    case $1 in
      endpoints) python3 "$HERE/gen_cluster.py" 10 "$dir" --queries 100 \
        --headless-services "$H_SERVICES" --headless-endpoints "$H_ENDPOINTS" ;;
      pods) python3 "$HERE/gen_cluster.py" 10 "$dir" --queries 100 --pods "$PODS" ;;
      namespaces) python3 "$HERE/gen_cluster.py" 10000 "$dir" --queries 100 --namespaces "$NAMESPACES" ;;
    esac
  fi
  rm -f "$dir"/manifests/fresh*.yaml "$dir"/manifests/.fresh* "$dir/manifests/autopath-client.yaml"
  echo "$dir"
}

RESULTS=$TMP/results.tsv
printf 'axis\tround\tserver\tmetric\tvalue\n' >"$RESULTS"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$AXIS" "$ROUND" "$1" "$2" "$3" >>"$RESULTS"; }

# dig_check LABEL PORT QNAME QTYPE DIG_OPTS...: records "tc=0|1 answers=N bytes=B"
dig_check() {
  local server=$1 label=$2 port=$3 qname=$4 qtype=$5 out flags n bytes
  shift 5
  out=$(dig @127.0.0.1 -p "$port" +tries=1 +time=5 +norec "$@" "$qname" "$qtype" 2>&1) || true
  flags=$(grep -o 'flags: [a-z ]*;' <<<"$out" | head -1) || true
  n=$(grep -o 'ANSWER: [0-9]*' <<<"$out" | head -1 | cut -d' ' -f2) || true
  bytes=$(grep -o 'MSG SIZE  rcvd: [0-9]*' <<<"$out" | awk '{ print $NF }') || true
  record "$server" "$label" "tc=$([[ $flags == *" tc"* ]] && echo 1 || echo 0) answers=${n:-?} bytes=${bytes:-?} status=$(grep -o 'status: [A-Z]*' <<<"$out" | cut -d' ' -f2)"
}

run_server() {  # run_server SERVER DATADIR
  local server=$1 dir=$2 port t0 pid ready probe_name probe_type probe_answer got out
  IFS=$'\t' read -r probe_name probe_type probe_answer <"$dir/probe.tsv"
  port=$(free_port)
  local run=$TMP/$AXIS-$ROUND-$server
  mkdir -p "$run"
  t0=$(now_ms)
  case $server in
    clusterdns)
      local extra=()
      if [[ $AXIS == pods ]]; then
        # A pod at a loopback address, so autopath can be asked from it (dig -b 127.0.0.5).
        cat >"$dir/manifests/autopath-client.yaml" <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: autopath-client, namespace: ns-01}
spec: {containers: [{name: app, image: app}]}
status: {phase: Running, podIP: 127.0.0.5, podIPs: [{ip: 127.0.0.5}], conditions: [{type: Ready, status: "True"}]}
EOF
        printf 'search ns-01.svc.cluster.local svc.cluster.local cluster.local example.test\n' >"$run/resolv.conf"
        extra=(--pods verified --autopath --resolv-conf "$run/resolv.conf")
      fi
      "$CLUSTERDNS" --source "file:$dir/manifests" --listen "127.0.0.1:$port" --threads 1 --upstream none \
        --http none "${extra[@]}" >"$run/log" 2>&1 &
      ;;
    knot)
      knot_conf "$dir" "$port" "$run"
      knotd -c "$run/knot.conf" >"$run/log" 2>&1 &
      ;;
  esac
  pid=$!
  PIDS+=("$pid")
  while :; do
    kill -0 "$pid" 2>/dev/null || die "$server exited while loading $AXIS: $(tail -3 "$run/log")"
    got=$(answer_of "$port" "$probe_name" "$probe_type")
    [[ $got == "$probe_answer" ]] && break
    (($(now_ms) - t0 < READY_TIMEOUT * 1000)) || die "$server not ready after $READY_TIMEOUT s ($probe_name: '$got')"
    sleep 0.05
  done
  ready=$(($(now_ms) - t0))
  wait_idle "$pid"
  read -r peak rss pss <<<"$(mem "$pid")"
  record "$server" ready_ms "$ready"
  record "$server" idle_ms "$(($(now_ms) - t0))"
  record "$server" peak_kib "$peak"
  record "$server" rss_kib "$rss"
  record "$server" pss_kib "$pss"
  log "$AXIS r$ROUND $server: ready ${ready} ms, peak $((peak / 1024)) MiB, idle RSS $((rss / 1024)) MiB PSS $((pss / 1024)) MiB"
  case $AXIS in
    endpoints)
      local big fq
      big=$(awk -F'\t' '{ split($1, l, "."); print l[2] "." l[3] }' "$dir/probe.tsv")  # big-NNNNNN.ns-XX
      fq=$big.svc.cluster.local
      dig_check "$server" udp512 "$port" "$fq" A +notcp +ignore +noedns
      dig_check "$server" udp1232 "$port" "$fq" A +notcp +ignore +bufsize=1232
      dig_check "$server" tcp "$port" "$fq" A +tcp
      dig_check "$server" tcp_srv "$port" "_http._tcp.$fq" SRV +tcp
      ;;
    pods)
      if [[ $server == clusterdns ]]; then
        # svc-000002.ns-02.ns-01.svc.cluster.local does not exist; a pod of ns-01 gets the CNAME to the first
        # search candidate that does, svc-000002.ns-02.svc.cluster.local; 127.0.0.1 (no pod) the NXDOMAIN.
        out=$(dig @127.0.0.1 -p "$port" -b 127.0.0.5 +tries=1 +time=2 +norec +noall +answer \
          svc-000002.ns-02.ns-01.svc.cluster.local A 2>&1 | awk '{ print $4, $5 }' | paste -sd' ') || true
        record "$server" autopath_pod "$out"
        out=$(dig @127.0.0.1 -p "$port" +tries=1 +time=2 +norec svc-000002.ns-02.ns-01.svc.cluster.local A 2>&1 |
          grep -o 'status: [A-Z]*' | cut -d' ' -f2) || true
        record "$server" autopath_not_pod "$out"
      fi
      ;;
  esac
  if [[ $server == clusterdns ]]; then
    local kind=() label
    case $AXIS in
      endpoints) kind=(endpoint "${big#*.}" "${big%%.*}") label=endpoint_moved ;;
      pods) kind=(pod ns-07) label=pod_added ;;
      namespaces) kind=(service "$(awk -F'\t' '{ split($1, l, "."); print l[2] }' "$dir/probe.tsv")") label=service_changed ;;
    esac
    out=$(python3 "$HERE/freshness.py" file "$dir/manifests" "$port" "$CHANGES" "${kind[@]}") ||
      { log "freshness failed: $out"; out="FAIL"; }
    record "$server" "change_$label" "$out"
    log "$AXIS r$ROUND $server: $label $out"
    kill -0 "$pid" 2>/dev/null || die "clusterdns died during the changes: $(tail -3 "$run/log")"
    grep -aE 'snapshot .* built in' "$run/log" | tail -2 | sed 's/^/  log: /' >&2 || true
  fi
  stop_pid "$pid"
  rm -f "$dir"/manifests/fresh*.yaml "$dir/manifests/autopath-client.yaml"
}

log "clusterdns $("$CLUSTERDNS" --version 2>&1 | head -1) ($(date -r "$CLUSTERDNS" '+%F %T')); knot $(knotd --version | awk '{ print $NF }'); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
for AXIS in "${AXES[@]}"; do
  dir=$(gen_axis "$AXIS")
  log "$AXIS: $(cat "$dir/summary.txt")"
  for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
    for ((i = 0; i < ${#SERVERS[@]}; i++)); do
      server=${SERVERS[$(((i + ROUND - 1) % ${#SERVERS[@]}))]}
      record "$server" load "$(cut -d' ' -f1 /proc/loadavg)"
      run_server "$server" "$dir"
    done
  done
done

python3 - "$RESULTS" "$(nproc)" >"$TMP/summary.md" <<'EOF'
import collections, re, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
by = collections.defaultdict(list)
for axis, rnd, server, metric, value in rows:
    by[(axis, server, metric)].append(value)
axes = list(dict.fromkeys(r[0] for r in rows))
servers = list(dict.fromkeys(r[2] for r in rows))
def med(vals):
    nums = [float(v) for v in vals if re.fullmatch(r"[0-9.]+", v)]
    return statistics.median(nums) if nums else None
for axis in axes:
    print(f"### {axis}\n")
    print("| | " + " | ".join(servers) + (" | clusterdns/knot |" if len(servers) > 1 else " |"))
    print("|---|" + "---:|" * len(servers) + ("---:|" if len(servers) > 1 else ""))
    for metric, label, scale in [("ready_ms", "ready (ms, median)", 1), ("peak_kib", "peak RSS (MiB)", 1024),
                                 ("rss_kib", "RSS once idle (MiB)", 1024), ("pss_kib", "PSS once idle (MiB)", 1024)]:
        vals = {s: med(by[(axis, s, metric)]) for s in servers}
        runs = {s: " / ".join(f"{float(v) / scale:.0f}" for v in by[(axis, s, metric)]) for s in servers}
        cells = [f"{vals[s] / scale:,.0f} ({runs[s]})" if vals[s] is not None else "—" for s in servers]
        ratio = ""
        if len(servers) > 1:
            a, b = vals.get("clusterdns"), vals.get("knot")
            ratio = f" {a / b:.2f} |" if a and b else " — |"
        print(f"| {label} | " + " | ".join(cells) + " |" + ratio)
    metrics = [m for (a, s, m) in by if a == axis and m not in ("ready_ms", "idle_ms", "peak_kib", "rss_kib", "pss_kib")]
    for metric in dict.fromkeys(metrics):
        cells = [" / ".join(by[(axis, s, metric)]) or "—" for s in servers]
        print(f"| {metric} | " + " | ".join(cells) + " |" + (" |" if len(servers) > 1 else ""))
    print()
EOF
cat "$TMP/summary.md"
if [[ -n ${SCALE_OUT:-} ]]; then
  mkdir -p "$SCALE_OUT"
  cp "$RESULTS" "$TMP/summary.md" "$SCALE_OUT/"
fi
