#!/usr/bin/env bash
# Cache hits beside authoritative hits, one worker thread on one core, dnsperf on the other (as bench/run.sh).
#
# usage: bench/forward_bench.sh [BUILD_DIR]
#
# Runs, interleaved round by round (the order rotates):
#   auth   clusterdns (this build): the bench's authoritative hit mix (bench/gen_cluster.py queries-hit.txt)
#   cache  clusterdns (this build): external names, every one already in the forwarding cache (Knot upstream
#          on the client core, asked only while warming up: the summary line checks that)
#   NAME   for each NAME=BINARY of FWD_OTHERS: another clusterdns binary (e.g. the commit before forwarding)
#          on the same authoritative mix, for before/after
#
# Environment (defaults in brackets): FWD_OTHERS [unset] FWD_ROUNDS [3] FWD_SECONDS [8] FWD_NAMES [2000]
#   BENCH_SERVICES [5000] BENCH_CLIENTS [8] BENCH_OUTSTANDING [200] BENCH_SERVER_CPU [0] BENCH_CLIENT_CPU [1]
#   BENCH_SCHED [rr: chrt -r 1 when root, as bench/run.sh explains; nice; none]  FWD_KEEP [0]
# Only 127.0.0.1 is queried; every process started here is stopped by its PID on exit.
set -Eeuo pipefail

BUILD_DIR=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${FWD_ROUNDS:-3}
SECS=${FWD_SECONDS:-8}
NAMES=${FWD_NAMES:-2000}
N=${BENCH_SERVICES:-5000}
CLIENTS=${BENCH_CLIENTS:-8}
OUTSTANDING=${BENCH_OUTSTANDING:-200}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
SCHED=${BENCH_SCHED:-rr}
export PATH=$PATH:/usr/sbin
CLUSTERDNS=$(cd "$BUILD_DIR" && pwd)/clusterdns
read -r -a OTHERS <<<"${FWD_OTHERS:-}"
log() { printf '[fwd-bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[[ -x $CLUSTERDNS ]] || die "$CLUSTERDNS not built"
for o in "${OTHERS[@]}"; do [[ $o == *=* && -x ${o#*=} ]] || die "FWD_OTHERS: '$o' is not NAME=EXECUTABLE"; done
for tool in knotd dnsperf dig taskset python3; do command -v "$tool" >/dev/null || die "$tool missing"; done
if [[ $SCHED != none ]] && (($(id -u) != 0)); then SCHED=none; fi
case $SCHED in rr) PRIO=(chrt -r 1) ;; nice) PRIO=(nice -n -10) ;; *) PRIO=() ;; esac
PIN_SERVER=("${PRIO[@]}" taskset -c "$SERVER_CPU")
PIN_CLIENT=("${PRIO[@]}" taskset -c "$CLIENT_CPU")

TMP=$(mktemp -d /tmp/clusterdns-fwd-bench.XXXXXX)
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ ${FWD_KEEP:-0} == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLK_TCK=$(getconf CLK_TCK)
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }  # utime + stime, all threads

free_port() {
  python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p)); print(p); break
    except OSError: t.close()'
}

# 1. The cluster, the upstream zone and the query files -----------------------------------------------------
log "generating $N services and $NAMES external names"
python3 "$HERE/gen_cluster.py" "$N" "$TMP/data" --queries 50000 >/dev/null
mkdir -p "$TMP/knot/db"
{
  printf '$ORIGIN example.test.\n$TTL 3600\n@ IN SOA ns hostmaster 1 7200 1800 86400 60\n@ IN NS ns\nns IN A 127.0.0.1\n'
  for ((i = 0; i < NAMES; i++)); do printf 'www%d IN A 192.0.2.%d\n' "$i" $((i % 250 + 1)); done
} >"$TMP/knot/example.test.zone"
for ((i = 0; i < NAMES; i++)); do printf 'www%d.example.test A\n' "$i"; done >"$TMP/queries-cache.txt"
cp "$TMP/data/queries-hit.txt" "$TMP/queries-auth.txt"

KNOT_PORT=$(free_port)
cat >"$TMP/knot/knot.conf" <<EOF
server:
  rundir: "$TMP/knot"
  user: root:root
  listen: 127.0.0.1@$KNOT_PORT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
control:
  listen: "$TMP/knot/knot.sock"
database:
  storage: "$TMP/knot/db"
template:
  - id: default
    storage: "$TMP/knot"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.test
    file: example.test.zone
EOF
taskset -c "$CLIENT_CPU" knotd -c "$TMP/knot/knot.conf" >"$TMP/knot.log" 2>&1 &
PIDS+=("$!")
printf 'options timeout:1 attempts:2\n' >"$TMP/resolv.conf"

# 2. The servers: one worker thread each, pinned to the server core ---------------------------------------------
declare -A PORT PID
start() {  # start NAME BINARY [FLAGS...]
  local name=$1 bin=$2 i
  shift 2
  PORT[$name]=$(free_port)
  "${PIN_SERVER[@]}" "$bin" --source "file:$TMP/data/manifests" --listen "127.0.0.1:${PORT[$name]}" --threads 1 "$@" \
    >"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=("$!")
  for ((i = 0; i < 1200; i++)); do
    dig @127.0.0.1 -p "${PORT[$name]}" +tries=1 +time=1 +short SOA cluster.local 2>/dev/null | grep -q hostmaster && break
    kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited: $(tail -3 "$TMP/$name.log")"
    sleep 0.1
  done
  sleep 2  # let the snapshot build settle
  log "$name: pid ${PID[$name]} on 127.0.0.1:${PORT[$name]}"
}
start new "$CLUSTERDNS" --upstream "127.0.0.1:$KNOT_PORT" --resolv-conf "$TMP/resolv.conf" --http none \
  --cache-size $((NAMES * 4))
for o in "${OTHERS[@]}"; do start "${o%%=*}" "${o#*=}"; done
for ((i = 0; i < 50; i++)); do dig @127.0.0.1 -p "$KNOT_PORT" +short SOA example.test 2>/dev/null | grep -q hostmaster && break; sleep 0.1; done

# 3. Warm the cache: every external name once, through the upstream ------------------------------------------
log "warming the cache with $NAMES names"
dnsperf -s 127.0.0.1 -p "${PORT[new]}" -d "$TMP/queries-cache.txt" -n 1 -c 1 -q 50 -t 3 >"$TMP/warm.txt" 2>&1
grep -E 'Queries completed|Response codes' "$TMP/warm.txt" | sed 's/^ */  warm-up: /' >&2
ttl=$(dig @127.0.0.1 -p "${PORT[new]}" +noall +answer www0.example.test | awk '{print $2}')
log "www0.example.test from the cache: TTL $ttl (stored 3600)"

# 4. Interleaved runs -------------------------------------------------------------------------------------------
RUNS=(auth:new:auth cache:new:cache)
for o in "${OTHERS[@]}"; do RUNS+=("${o%%=*}:${o%%=*}:auth"); done
RESULTS=$TMP/results.tsv
: >"$RESULTS"
for ((r = 1; r <= ROUNDS; r++)); do
  for ((k = 0; k < ${#RUNS[@]}; k++)); do
    IFS=: read -r label server mix <<<"${RUNS[$(((k + r - 1) % ${#RUNS[@]}))]}"
    t0=$(ticks "${PID[$server]}") w0=$(date +%s%N)
    "${PIN_CLIENT[@]}" dnsperf -s 127.0.0.1 -p "${PORT[$server]}" -d "$TMP/queries-$mix.txt" -l "$SECS" \
      -c "$CLIENTS" -q "$OUTSTANDING" -t 1 >"$TMP/$label-$r.txt" 2>&1
    qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$TMP/$label-$r.txt")
    lost=$(awk '/Queries lost:/ {print $3}' "$TMP/$label-$r.txt")
    codes=$(sed -n 's/.*Response codes: *//p' "$TMP/$label-$r.txt")
    done_q=$(awk '/Queries completed:/ {print $3}' "$TMP/$label-$r.txt")
    cpu_s=$(awk -v t="$(($(ticks "${PID[$server]}") - t0))" -v hz="$CLK_TCK" 'BEGIN {printf "%.3f", t / hz}')
    wall_s=$(awk -v n="$(($(date +%s%N) - w0))" 'BEGIN {printf "%.3f", n / 1e9}')
    cpu_pct=$(awk -v c="$cpu_s" -v w="$wall_s" 'BEGIN {printf "%.0f", 100 * c / w}')
    us_q=$(awk -v c="$cpu_s" -v n="$done_q" 'BEGIN {printf "%.2f", n ? 1e6 * c / n : 0}')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$r" "$qps" "$lost" "$codes" "$cpu_pct" "$us_q" >>"$RESULTS"
    log "round $r  $label  $qps q/s  lost $lost  server cpu ${cpu_pct}% (${us_q} us/query)  ($codes)"
  done
done

# 5. Report ------------------------------------------------------------------------------------------------------
stop_pid "${PID[new]}"
summary=$(grep -o 'forwarding: [0-9]* queries.*' "$TMP/new.log" | tail -n1)
echo
echo "clusterdns forwarding cache vs authoritative answers: one worker thread pinned to core $SERVER_CPU, dnsperf"
echo "(-c $CLIENTS -q $OUTSTANDING, ${SECS} s per run) on core $CLIENT_CPU, $ROUNDS interleaved rounds, scheduling $SCHED;"
echo "$N services, $NAMES cached external names; load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, r, qps, lost, codes, cpu, usq = line.rstrip("\n").split("\t")
    runs[label].append((int(qps), lost, codes, int(cpu), float(usq)))
desc = {"auth": "authoritative hits (this build)", "cache": "cache hits (this build)"}
med = {k: statistics.median(x[0] for x in v) for k, v in runs.items()}
usq = {k: statistics.median(x[4] for x in v) for k, v in runs.items()}
print(f"  {'run':40} {'median q/s':>11} {'server cpu':>11} {'us/query':>9}   {'each round (q/s)':26}")
for label in ["auth", "cache"] + sorted(k for k in runs if k not in desc):
    q = [x[0] for x in runs[label]]
    cpu = statistics.median(x[3] for x in runs[label])
    name = desc.get(label, f"authoritative hits ({label})")
    print(f"  {name:40} {med[label]:>11.0f} {cpu:>10.0f}% {usq[label]:>9.2f}   {' '.join(map(str, q)):26}")
print(f"  (server cpu below 100 %: dnsperf on its core is the limit, compare us/query; responses: "
      f"{runs['cache'][-1][2]})")
print(f"  cache hit / authoritative hit (this build): {med['cache'] / med['auth']:.2f} x the q/s, "
      f"{usq['cache'] / usq['auth']:.2f} x the CPU per query")
for label in sorted(k for k in runs if k not in desc):
    print(f"  authoritative, this build / {label}: {med['auth'] / med[label]:.2f} x the q/s, "
          f"{usq['auth'] / usq[label]:.2f} x the CPU per query")
PY
echo "  forwarder summary: ${summary:-?}"
