#!/usr/bin/env bash
# clusterdns vs NSD vs Knot: UDP queries/s of ONE worker thread each, on a synthetic 10k-service cluster.
#
# usage: bench/run.sh [BUILD_DIR]          (also: make bench)
#
# Environment knobs (defaults in brackets):
#   BENCH_SERVICES [10000]  services in the generated cluster     BENCH_ROUNDS [3]   rounds per mix
#   BENCH_SECONDS [10]      dnsperf -l per run                    BENCH_CLIENTS [8]  dnsperf -c
#   BENCH_OUTSTANDING [200] dnsperf -q                            BENCH_TIMEOUT [1]  dnsperf -t (s)
#   BENCH_SERVER_CPU [0]    core the servers are pinned to        BENCH_CLIENT_CPU [1] core for dnsperf
#   BENCH_SERVERS ["clusterdns nsd knot"]                         BENCH_MIXES ["hit nx"]
#   BENCH_SCHED [rr]        how servers and dnsperf are scheduled on their cores:
#                             rr    SCHED_RR priority 1 (chrt -r 1; needs root). On a shared machine the kernel
#                                   (EEVDF) otherwise lets a compiler on the same core finish its slice before a
#                                   woken server runs: we then measure the scheduler (~30k q/s, servers ~10% busy).
#                                   RT throttling (sched_rt_runtime_us) still leaves others 5% of each core.
#                             nice  nice -n -10;  none  no change
#   BENCH_NSD_MINIMAL [yes] NSD minimal-responses (no NS+glue added to every positive answer, like clusterdns
#                           and Knot; but NSD then also omits the SRV targets' addresses)
#   BENCH_KEEP [0]          1: keep the temp dir (configs, logs, raw dnsperf output)
#   BENCH_OUT [unset]       also copy results.tsv and summary.txt into this directory
#
# Only 127.0.0.1 is ever queried (never the system resolver). Every process this script starts is stopped
# by its PID on exit, including on failure or Ctrl-C.
set -Eeuo pipefail

BUILD_DIR=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/knot_lib.sh"
N=${BENCH_SERVICES:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-8}
OUTSTANDING=${BENCH_OUTSTANDING:-200}
TIMEOUT=${BENCH_TIMEOUT:-1}
SCHED=${BENCH_SCHED:-rr}
NSD_MINIMAL=${BENCH_NSD_MINIMAL:-yes}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
read -r -a SERVERS <<<"${BENCH_SERVERS:-clusterdns nsd knot}"
read -r -a MIXES <<<"${BENCH_MIXES:-hit nx}"
for s in "${SERVERS[@]}"; do [[ $s =~ ^(clusterdns|nsd|knot)$ ]] || { echo "unknown server '$s'" >&2; exit 2; }; done
for m in "${MIXES[@]}"; do [[ $m =~ ^(hit|nx)$ ]] || { echo "unknown mix '$m'" >&2; exit 2; }; done
CLK_TCK=$(getconf CLK_TCK)

CLUSTERDNS=$BUILD_DIR/clusterdns
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

[[ -x $CLUSTERDNS ]] || die "$CLUSTERDNS not found: build it first (make build, or cmake --build $BUILD_DIR --target clusterdns)"
CLUSTERDNS=$(cd "$(dirname "$CLUSTERDNS")" && pwd)/clusterdns
for tool in nsd nsd-checkzone knotd dnsperf dig taskset python3; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool is missing: run scripts/install-deps.sh"
done
export PATH=$PATH:/usr/sbin
if [[ $SCHED != none ]] && (($(id -u) != 0)); then
  log "not root: BENCH_SCHED=$SCHED needs root, using none"
  SCHED=none
fi
case $SCHED in
  rr) PRIO=(chrt -r 1) ;;
  nice) PRIO=(nice -n -10) ;;
  none) PRIO=() ;;
  *) die "BENCH_SCHED must be rr, nice or none" ;;
esac
if (($(nproc) < 2)); then
  log "WARNING: fewer than 2 CPUs; server and dnsperf share a core"
  SERVER_CPU=0 CLIENT_CPU=0
fi
PIN_SERVER=("${PRIO[@]}" taskset -c "$SERVER_CPU")
PIN_CLIENT=("${PRIO[@]}" taskset -c "$CLIENT_CPU")

TMP=$(mktemp -d /tmp/clusterdns-bench.XXXXXX)
declare -a PIDS=()          # every server we started
DNSPERF_PID=                # the dnsperf run in progress, if any
declare -A PID_OF PORT_OF   # server name -> pid / port

stop_pid() {  # TERM, wait up to 5 s, then KILL; only the given PID (its own children are its business)
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  [[ -n $DNSPERF_PID ]] && stop_pid "$DNSPERF_PID"
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ ${BENCH_KEEP:-0} == 1 || $rc != 0 ]]; then
    log "temp dir kept: $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------- helpers
tree_pids() {  # the PID and all its descendants
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      set[root] = 1; changed = 1
      while (changed) { changed = 0; for (p in parent) if (!(p in set) && (parent[p] in set)) { set[p] = 1; changed = 1 } }
      for (p in set) print p
    }'
}
tree_ticks() {  # utime+stime (clock ticks) of the PID and its descendants, all threads
  local total=0 p t
  for p in $(tree_pids "$1"); do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}
tree_mem() {  # "RSS_KiB PSS_KiB NPROC" summed over the process tree (RSS double-counts shared pages, PSS not)
  local rss=0 pss=0 n=0 p r s
  for p in $(tree_pids "$1"); do
    r=$(ps -o rss= -p "$p" 2>/dev/null | tr -d ' ') || r=0
    s=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null) || s=0
    rss=$((rss + ${r:-0})) pss=$((pss + ${s:-0})) n=$((n + 1))
  done
  echo "$rss $pss $n"
}
children_cpu() {  # user+sys seconds of this shell's waited-for children so far (not in a subshell!)
  times >"$TMP/times"
  awk 'NR == 2 {
      split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$TMP/times"
}
now_ms() { date +%s%3N; }
udp_rcvbuf_errors() {  # system-wide count of UDP datagrams dropped because a receive buffer was full
  awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1 } else print $col["RcvbufErrors"] }' /proc/net/snmp
}

free_ports() {  # N ports free for both UDP and TCP on 127.0.0.1
  python3 - "$1" <<'EOF'
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close(); continue
    held += [t, u]; ports.append(port)
print(" ".join(map(str, ports)))
EOF
}

dig_local() {  # dig_local PORT QNAME QTYPE -> "RCODE<TAB>sorted answers joined by |"
  local out status answers
  out=$(dig @127.0.0.1 -p "$1" +tries=1 +time=2 +norec +noall +comments +answer "$2" "$3" 2>&1) || true
  status=$(grep -o 'status: [A-Z]*' <<<"$out" | head -1 | cut -d' ' -f2)
  answers=$(awk -v t="$3" '!/^;/ && NF >= 5 && $4 == t { r = $5; for (i = 6; i <= NF; i++) r = r " " $i; print r }' \
    <<<"$out" | sort | paste -sd'|')
  printf '%s\t%s\n' "${status:-TIMEOUT}" "$answers"
}

wait_ready() {  # wait_ready NAME PORT START_MS: until the probe name answers NOERROR with its address
  local name=$1 port=$2 t0=$3 deadline=$(($(now_ms) + 120000)) got
  while :; do
    if ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
      die "$name exited during startup; log: $(tail -5 "$TMP/$name.log" 2>/dev/null)"
    fi
    got=$(dig_local "$port" "$PROBE_NAME" A)
    [[ $got == "NOERROR	$PROBE_ANSWER" ]] && break
    (($(now_ms) < deadline)) || die "$name not ready after 120 s on port $port (last answer: $got)"
    sleep 0.02
  done
  echo $(($(now_ms) - t0))
}

wait_idle() {  # wait_idle PID: until the process tree used < 2% CPU over 250 ms (background builds done), max 60 s
  local pid=$1 a b i
  for ((i = 0; i < 240; i++)); do
    a=$(tree_ticks "$pid")
    sleep 0.25
    b=$(tree_ticks "$pid")
    (((b - a) * 100 * 4 < 2 * CLK_TCK)) && return 0
  done
  log "WARNING: pid $pid still busy after 60 s"
}

# ---------------------------------------------------------------- 1. generate the cluster
BINARY_INFO="$("$CLUSTERDNS" --version 2>&1 | head -1), binary modified $(date -r "$CLUSTERDNS" '+%F %T')"
log "clusterdns: $CLUSTERDNS ($BINARY_INFO); nsd $(nsd -v 2>&1 | head -1 | awk '{print $3}'); knot $(knotd --version | awk '{print $NF}'); dnsperf $(dpkg-query -W -f='${Version}' dnsperf 2>/dev/null || echo '?')"
log "generating $N services under $TMP/data"
python3 "$HERE/gen_cluster.py" "$N" "$TMP/data" --queries 100000
cat "$TMP/data/summary.txt" >&2
nsd-checkzone cluster.local "$TMP/data/zones/cluster.local.zone" >/dev/null || die "zone file rejected by nsd-checkzone"
# Readiness probe: the last ClusterIP service of the manifest, so "ready" means "everything loaded".
PROBE_NAME=$(awk -F'\t' '$2 == "A" && $3 == "NOERROR" { n = $1; a = $4 } END { print n }' <(sed -n 1,3p "$TMP/data/expected.tsv"))
PROBE_ANSWER=$(sed -n 3p "$TMP/data/expected.tsv" | cut -f4)

read -r -a PORTS <<<"$(free_ports 3)"
PORT_OF[clusterdns]=${PORTS[0]} PORT_OF[nsd]=${PORTS[1]} PORT_OF[knot]=${PORTS[2]}

# ---------------------------------------------------------------- 2. configs
mkdir -p "$TMP/nsd" "$TMP/knot/db"
cat >"$TMP/nsd/nsd.conf" <<EOF
server:
  server-count: 1
  ip-address: 127.0.0.1@${PORT_OF[nsd]}
  do-ip4: yes
  do-ip6: no
  username: ""
  chroot: ""
  zonesdir: "$TMP/data/zones"
  database: ""
  zonelistfile: "$TMP/nsd/zone.list"
  xfrdfile: "$TMP/nsd/xfrd.state"
  xfrdir: "$TMP/nsd"
  pidfile: "$TMP/nsd/nsd.pid"
  logfile: "$TMP/nsd.log"
  verbosity: 1
  hide-version: yes
  refuse-any: yes
  minimal-responses: $NSD_MINIMAL
  # Debian's NSD is built with response rate limiting (200 q/s per /24 by default): a benchmark from one
  # address would measure the limiter, so it is off.
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: cluster.local
  zonefile: "$TMP/data/zones/cluster.local.zone"
zone:
  name: in-addr.arpa
  zonefile: "$TMP/data/zones/in-addr.arpa.zone"
EOF
knot_conf "$TMP/data" "${PORT_OF[knot]}" "$TMP/knot"

# ---------------------------------------------------------------- 3. start the servers (one worker, core 0)
declare -A READY_MS SETTLED_MS MEM_LOADED
start_server() {
  local name=$1 port=${PORT_OF[$1]} t0
  t0=$(now_ms)
  case $name in
    clusterdns)
      "${PIN_SERVER[@]}" "$CLUSTERDNS" --source "file:$TMP/data/manifests" \
        --listen "127.0.0.1:$port" --threads 1 --upstream none --lameduck 0s >"$TMP/clusterdns.log" 2>&1 &
      ;;
    nsd)
      "${PIN_SERVER[@]}" nsd -d -c "$TMP/nsd/nsd.conf" >"$TMP/nsd.stderr" 2>&1 &
      ;;
    knot)
      "${PIN_SERVER[@]}" knotd -c "$TMP/knot/knot.conf" >"$TMP/knot.log" 2>&1 &
      ;;
  esac
  PID_OF[$name]=$!
  PIDS+=("$!")
  READY_MS[$name]=$(wait_ready "$name" "$port" "$t0")
  wait_idle "${PID_OF[$name]}"  # e.g. a second snapshot build must not overlap the first run
  SETTLED_MS[$name]=$(($(now_ms) - t0))
  MEM_LOADED[$name]=$(tree_mem "${PID_OF[$name]}")
  log "$name: pid ${PID_OF[$name]} port $port ready in ${READY_MS[$name]} ms, idle after ${SETTLED_MS[$name]} ms; rss/pss KiB, procs: ${MEM_LOADED[$name]}"
}
for s in "${SERVERS[@]}"; do start_server "$s"; done

# ---------------------------------------------------------------- 4. correctness and agreement
pairs=()
for s in "${SERVERS[@]}"; do pairs+=("$s=${PORT_OF[$s]}"); done
python3 "$HERE/compare_answers.py" --expected "$TMP/data/expected.tsv" "${pairs[@]}" >&2 ||
  die "a server gives wrong answers for the generated cluster (see above)"
for mix in "${MIXES[@]}"; do
  python3 "$HERE/compare_answers.py" "$TMP/data/queries-$mix.txt" 300 7 "${pairs[@]}" >&2 ||
    die "the servers answer the $mix mix differently (see above)"
done

# ---------------------------------------------------------------- 5. the runs
RESULTS=$TMP/results.tsv
printf 'mix\tround\tserver\tqps\tsent\tcompleted\tlost\tavg_lat_ms\tresp_bytes\trcodes\tserver_cpu_pct\tdnsperf_cpu_pct\tserver_us_per_query\trcvbuf_drops\n' >"$RESULTS"
mkdir -p "$TMP/runs"

run_dnsperf() {  # run_dnsperf SERVER MIX ROUND SECONDS OUTFILE -> appends a row unless ROUND is "warmup"
  local s=$1 mix=$2 round=$3 secs=$4 out=$5 pid=${PID_OF[$1]} t0 t1 c0 c1 w0 w1 d0 d1 rc=0
  children_cpu >"$TMP/cpu0"
  c0=$(<"$TMP/cpu0") t0=$(tree_ticks "$pid") d0=$(udp_rcvbuf_errors) w0=$(now_ms)
  "${PIN_CLIENT[@]}" dnsperf -s 127.0.0.1 -p "${PORT_OF[$s]}" -d "$TMP/data/queries-$mix.txt" \
    -l "$secs" -c "$CLIENTS" -q "$OUTSTANDING" -t "$TIMEOUT" >"$out" 2>&1 &
  DNSPERF_PID=$!
  wait "$DNSPERF_PID" || rc=$?
  DNSPERF_PID=
  children_cpu >"$TMP/cpu1"
  w1=$(now_ms) t1=$(tree_ticks "$pid") d1=$(udp_rcvbuf_errors) c1=$(<"$TMP/cpu1")
  kill -0 "$pid" 2>/dev/null || die "$s (pid $pid) died during the $mix run $round; log: $TMP/$s.log"
  ((rc == 0)) || die "dnsperf failed against $s (rc $rc): $(tail -3 "$out")"
  [[ $round == warmup ]] && return 0
  awk -v mix="$mix" -v round="$round" -v s="$s" -v wall="$((w1 - w0))" -v tck="$CLK_TCK" \
    -v sticks="$((t1 - t0))" -v drops="$((d1 - d0))" -v ccpu="$(awk -v a="$c0" -v b="$c1" 'BEGIN { print b - a }')" '
    /Queries sent:/       { sent = $3 }
    /Queries completed:/  { done = $3 }
    /Queries lost:/       { lost = $3 }
    /Response codes:/     { sub(/.*Response codes: */, ""); gsub(/, /, ","); gsub(/ /, ""); rc = $0 }
    /Average packet size:/ { resp = $NF }
    /Queries per second:/ { qps = $4 }
    /Average Latency/     { lat = $4 * 1000 }
    END {
      printf "%s\t%s\t%s\t%.0f\t%d\t%d\t%d\t%.3f\t%s\t%s\t%.0f\t%.0f\t%.2f\t%d\n", mix, round, s, qps, sent, done, lost, lat,
        resp, rc, 100 * sticks / tck / (wall / 1000), 100 * ccpu / (wall / 1000), done ? 1e6 * sticks / tck / done : 0, drops
    }' "$out" >>"$RESULTS"
  log "$(tail -1 "$RESULTS" | awk -F'\t' '{ printf "%-4s r%s %-10s %7d q/s lost %-5d lat %.3f ms  server cpu %3s%% (%s us/q)  dnsperf cpu %3s%%  rcvbuf drops %s  %s", $1, $2, $3, $4, $7, $8, $11, $13, $12, $14, $10 }')"
}

total_runs=$((${#MIXES[@]} * ROUNDS * ${#SERVERS[@]}))
log "warm-up (2 s each), then $total_runs runs of ${SECONDS_PER_RUN} s: dnsperf -c $CLIENTS -q $OUTSTANDING on core $CLIENT_CPU, servers on core $SERVER_CPU"
for s in "${SERVERS[@]}"; do run_dnsperf "$s" hit warmup 2 "$TMP/runs/warmup-$s.txt"; done
for mix in "${MIXES[@]}"; do
  for ((r = 1; r <= ROUNDS; r++)); do
    # Rotate the order every round, so no server always runs first (or right after the same neighbour).
    for ((i = 0; i < ${#SERVERS[@]}; i++)); do
      s=${SERVERS[$(((i + r - 1) % ${#SERVERS[@]}))]}
      run_dnsperf "$s" "$mix" "$r" "$SECONDS_PER_RUN" "$TMP/runs/$mix-$r-$s.txt"
    done
  done
done

# ---------------------------------------------------------------- 6. report
INFO=$TMP/info.tsv
{
  for s in "${SERVERS[@]}"; do
    printf 'ready_ms\t%s\t%s\n' "$s" "${READY_MS[$s]}"
    printf 'settled_ms\t%s\t%s\n' "$s" "${SETTLED_MS[$s]}"
    printf 'mem_loaded\t%s\t%s\n' "$s" "${MEM_LOADED[$s]}"
    printf 'mem_after\t%s\t%s\n' "$s" "$(tree_mem "${PID_OF[$s]}")"
    printf 'threads\t%s\t%s\n' "$s" "$(ps -o nlwp= -p "${PID_OF[$s]}" | tr -d ' ')"
    printf 'rcvbuf\t%s\t%s\n' "$s" "$(ss -Hulnm "sport = :${PORT_OF[$s]}" 2>/dev/null | grep -o 'rb[0-9]*' | sort -u | paste -sd,)"
  done
  grep -h 'snapshot .* built in' "$TMP/clusterdns.log" 2>/dev/null | sed 's/^/snapshot\tclusterdns\t/' || true
  grep -h 'loaded .* files' "$TMP/clusterdns.log" 2>/dev/null | sed 's/^/loaded\tclusterdns\t/' || true
  printf 'config\tall\tservices=%s rounds=%s seconds=%s dnsperf -c %s -q %s -t %s; servers on core %s, dnsperf on core %s; scheduling %s; NSD minimal-responses %s; %s\n' \
    "$N" "$ROUNDS" "$SECONDS_PER_RUN" "$CLIENTS" "$OUTSTANDING" "$TIMEOUT" "$SERVER_CPU" "$CLIENT_CPU" "$SCHED" "$NSD_MINIMAL" "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf 'binary\tclusterdns\t%s (%s)\n' "$CLUSTERDNS" "$BINARY_INFO"
} >"$INFO"
# Errors logged by the servers during the runs are worth seeing.
grep -hiE 'error|warn|crit' "$TMP/clusterdns.log" 2>/dev/null | head -5 | sed 's/^/clusterdns log: /' >&2 || true

python3 "$HERE/summarize.py" "$RESULTS" "$INFO" | tee "$TMP/summary.txt"
if [[ -n ${BENCH_OUT:-} ]]; then
  mkdir -p "$BENCH_OUT"
  cp "$RESULTS" "$INFO" "$TMP/summary.txt" "$BENCH_OUT/"
  cp "$TMP/clusterdns.log" "$BENCH_OUT/" 2>/dev/null || true
fi
