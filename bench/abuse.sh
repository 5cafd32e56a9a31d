#!/usr/bin/env bash
# Network abuse, clusterdns side by side with Knot in one run (issue 11 part 3):
#   baseline   UDP queries/s and p99 latency (dnsperf) with no abuse
#   held       the same while 1,000 idle TCP connections, 200 slowloris ones (1 byte of the length prefix)
#              and 200 trickling ones (65,535 bytes announced, 1 byte a second) are held (re-opened when the
#              server closes them, from 250 loopback source addresses); is a fresh `dig +tcp` answered?
#   hoard      one client address opening 1,100 idle connections: is another TCP client still answered?
#   pipeline   one connection pipelining 100,000 queries without reading: peak RSS, RSS after, fresh dig +tcp
#
# usage: bench/abuse.sh [BUILD_DIR]
# Environment: ABUSE_SECONDS [10] per dnsperf run; ABUSE_SERVICES [1000]; ABUSE_SERVERS ["clusterdns knot"];
#   ABUSE_MAIN_BINARY [unset] another clusterdns binary (e.g. today's main) measured as "clusterdns-main";
#   ABUSE_KEEP [0] keep the temp dir. Servers run on core 0 (one worker; Knot: 1 UDP + 1 TCP worker), every
#   client on core 1. Only 127.0.0.0/8 is used; every process started here is stopped by its PID on exit.
set -Eeuo pipefail

BUILD_DIR=${1:-build}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/knot_lib.sh"
SECS=${ABUSE_SECONDS:-10}
N=${ABUSE_SERVICES:-1000}
read -r -a SERVERS <<<"${ABUSE_SERVERS:-clusterdns knot}"
[[ -n ${ABUSE_MAIN_BINARY:-} ]] && SERVERS=(clusterdns-main "${SERVERS[@]}")
CLUSTERDNS=$BUILD_DIR/clusterdns
log() { printf '[abuse %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
[[ -x $CLUSTERDNS ]] || die "$CLUSTERDNS not found: build it first (cmake --build $BUILD_DIR --target clusterdns)"
export PATH=$PATH:/usr/sbin
for tool in knotd dnsperf dig ss taskset python3; do
  command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh"
done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
SERVER_CPU=0 CLIENT_CPU=1
(($(nproc) < 2)) && CLIENT_CPU=0

TMP=$(mktemp -d /tmp/clusterdns-abuse.XXXXXX)
declare -a PIDS=()
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ ${ABUSE_KEEP:-0} == 1 || $rc != 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
established() {  # server-side established TCP connections on PORT
  ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l
}
fresh_tcp() {  # "yes 12ms" / "no": a new TCP client asks one name with a 2 s budget
  local t0 t1 out
  t0=$(date +%s%3N)
  out=$(taskset -c "$CLIENT_CPU" dig @127.0.0.1 -p "$1" +tcp +tries=1 +time=2 +short "$PROBE" A 2>&1) || true
  t1=$(date +%s%3N)
  if [[ $out == "$PROBE_ANSWER" ]]; then echo "yes $((t1 - t0))ms"; else echo "no"; fi
}
free_port() {
  python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass'
}

# The abusive clients: python3 - MODE PORT ... (see the modes below); runs until SIGTERM.
cat >"$TMP/abuser.py" <<'EOF'
import selectors, signal, socket, struct, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

def query(i, name):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"
    msg = struct.pack(">HHHHHH", i & 0xFFFF, 0, 1, 0, 0, 0) + labels + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(msg)) + msg

if mode == "pipeline":  # one connection, COUNT queries, never reads
    count, name = int(sys.argv[3]), sys.argv[4]
    data = b"".join(query(i, name) for i in range(count))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the answers pile up on the server, not here
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    sent, t0 = 0, time.time()
    while not stop and sent < len(data):
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            time.sleep(0.01)
        except OSError as e:
            print(f"pipeline: {e} after {sent} bytes", file=sys.stderr)
            break
    print(f"pipeline: sent {sent} of {len(data)} bytes ({sent * count // len(data)} queries) in {time.time() - t0:.1f}s", file=sys.stderr)
    while not stop:
        time.sleep(0.1)
    sys.exit(0)

# hold: IDLE SLOW TRICKLE SOURCES — keep that many connections of each kind open, re-opening the ones the
# server closes (at most 200 a second, so that this client stays light beside dnsperf). Non-blocking.
import errno
idle, slow, trickle, sources = (int(a) for a in sys.argv[3:7])
want = {"idle": idle, "slow": slow, "trickle": trickle}
first_bytes = {"idle": b"", "slow": b"\x00", "trickle": b"\xff\xff"}
sel = selectors.DefaultSelector()
conns = {}  # socket -> [kind, connected, started]
reopened = {k: 0 for k in want}
failed = 0
n = 0
def drop(s):
    sel.unregister(s)
    conns.pop(s, None)
    s.close()
def open_one(kind):
    global n, failed
    n += 1
    s = socket.socket()
    s.setblocking(False)
    try:
        s.bind((f"127.0.1.{n % sources + 1}", 0))
        err = s.connect_ex(("127.0.0.1", port))
    except OSError:
        err = -1
    if err not in (0, errno.EINPROGRESS):
        failed += 1
        s.close()
        return
    conns[s] = [kind, False, time.time()]
    sel.register(s, selectors.EVENT_WRITE)
tokens, last_refill, last_trickle, first = 0.0, time.time(), time.time(), True
while not stop:
    now = time.time()
    tokens = min(200.0, tokens + (now - last_refill) * 200)
    last_refill = now
    have = {k: 0 for k in want}
    for kind, _, _ in conns.values():
        have[kind] += 1
    short = {k: w - have[k] for k, w in want.items() if w > have[k]}
    while short and (first or tokens >= 1):  # round-robin over the kinds: none starves the others
        for k in list(short):
            if not first:
                if tokens < 1:
                    break
                tokens -= 1
                reopened[k] += 1
            open_one(k)
            short[k] -= 1
            if short[k] == 0:
                del short[k]
    first = False
    for key, events in sel.select(timeout=0.05):
        s = key.fileobj
        state = conns.get(s)
        if state is None:
            continue
        if not state[1]:  # connect finished
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                failed += 1
                drop(s)
                continue
            state[1] = True
            sel.modify(s, selectors.EVENT_READ)
            if first_bytes[state[0]]:
                try:
                    s.send(first_bytes[state[0]])
                except OSError:
                    pass
            continue
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            drop(s)
    for s, (kind, connected, started) in list(conns.items()):
        if not connected and time.time() - started > 2:
            failed += 1
            drop(s)
    if time.time() - last_trickle >= 1:
        last_trickle = time.time()
        for s, (kind, connected, _) in list(conns.items()):
            if kind == "trickle" and connected:
                try:
                    s.send(b"x")
                except OSError:
                    pass
print("held at exit: " + ", ".join(f"{k} {sum(1 for v in conns.values() if v[0] == k and v[1])}" for k in want) +
      "; re-opened after the server closed them: " + ", ".join(f"{k} {v}" for k, v in reopened.items()) +
      f"; connects failed or timed out (2 s): {failed}", file=sys.stderr)
EOF

# ---------------------------------------------------------------- the cluster and the servers' configs
log "generating $N services"
python3 "$HERE/gen_cluster.py" "$N" "$TMP/data" --queries 100000 >/dev/null
PROBE=$(sed -n 3p "$TMP/data/expected.tsv" | cut -f1)
PROBE_ANSWER=$(sed -n 3p "$TMP/data/expected.tsv" | cut -f4)
[[ $(sed -n 3p "$TMP/data/expected.tsv" | cut -f2) == A ]] || die "expected.tsv line 3 is not an A query"

start_server() {  # start_server NAME PORT -> PID in SERVER_PID
  local name=$1 port=$2
  case $name in
    clusterdns | clusterdns-main)
      local bin=$CLUSTERDNS
      [[ $name == clusterdns-main ]] && bin=$ABUSE_MAIN_BINARY
      taskset -c "$SERVER_CPU" "$bin" --source "file:$TMP/data/manifests" --listen "127.0.0.1:$port" \
        --threads 1 --upstream none --log-level warn >"$TMP/$name.log" 2>&1 &
      ;;
    knot)
      knot_conf "$TMP/data" "$port" "$TMP/knot" warning
      taskset -c "$SERVER_CPU" knotd -c "$TMP/knot/knot.conf" >"$TMP/$name.log" 2>&1 &
      ;;
    *) die "unknown server $name" ;;
  esac
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  for _ in $(seq 600); do
    [[ $(dig @127.0.0.1 -p "$port" +tries=1 +time=1 +short "$PROBE" A 2>/dev/null) == "$PROBE_ANSWER" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "$name exited: $(tail -3 "$TMP/$name.log")"
    sleep 0.1
  done
  die "$name not ready on port $port"
}

udp_run() {  # udp_run PORT LABEL -> "qps p99_ms lost"
  local out=$TMP/dnsperf-$2.txt
  taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/data/queries-hit.txt" -l "$SECS" -c 4 -q 100 \
    -t 1 -v >"$out" 2>&1 || true
  python3 - "$out" <<'EOF'
import re, sys
lat, qps, lost = [], "0", "?"
for line in open(sys.argv[1], errors="replace"):
    if line.startswith("> "):
        try:
            lat.append(float(line.split()[-1]))
        except ValueError:
            pass
    m = re.search(r"Queries per second:\s+([\d.]+)", line)
    if m: qps = m.group(1)
    m = re.search(r"Queries lost:\s+(\d+)", line)
    if m: lost = m.group(1)
lat.sort()
p99 = lat[int(len(lat) * 0.99)] * 1000 if lat else float("nan")
print(f"{float(qps):.0f} {p99:.2f} {lost}")
EOF
}

declare -A R
for name in "${SERVERS[@]}"; do
  port=$(free_port)
  log "$name on port $port"
  start_server "$name" "$port"
  pid=$SERVER_PID
  sleep 1
  R[$name,rss0]=$(rss_kib "$pid")
  read -r R[$name,qps0] R[$name,p990] R[$name,lost0] <<<"$(udp_run "$port" "$name-base")"
  log "$name baseline: ${R[$name,qps0]} q/s, p99 ${R[$name,p990]} ms"

  # held: 1,000 idle + 200 slowloris + 200 trickling, from 250 source addresses
  taskset -c "$CLIENT_CPU" python3 "$TMP/abuser.py" hold "$port" 1000 200 200 250 2>"$TMP/hold-$name.txt" &
  hold=$!
  PIDS+=("$hold")
  sleep 3
  R[$name,est]=$(established "$port")
  read -r R[$name,qps1] R[$name,p991] R[$name,lost1] <<<"$(udp_run "$port" "$name-held")"
  R[$name,fresh1]=$(fresh_tcp "$port")
  R[$name,est2]=$(established "$port")
  R[$name,rss1]=$(rss_kib "$pid")
  kill -TERM "$hold"
  wait "$hold" || true
  log "$name held: $(tail -1 "$TMP/hold-$name.txt")"
  R[$name,held]=$(tail -1 "$TMP/hold-$name.txt")
  sleep 1

  # hoard: one address, 1,100 idle connections
  taskset -c "$CLIENT_CPU" python3 "$TMP/abuser.py" hold "$port" 1100 0 0 1 2>"$TMP/hoard-$name.txt" &
  hoard=$!
  PIDS+=("$hoard")
  sleep 3
  R[$name,hoard_est]=$(established "$port")
  R[$name,fresh2]=$(fresh_tcp "$port")
  kill -TERM "$hoard"
  wait "$hoard" || true
  sleep 1

  # pipeline: 100,000 queries on one connection, never read
  base=$(rss_kib "$pid")
  taskset -c "$CLIENT_CPU" python3 "$TMP/abuser.py" pipeline "$port" 100000 "$PROBE" 2>"$TMP/pipe-$name.txt" &
  pipe=$!
  PIDS+=("$pipe")
  peak=$base
  for _ in $(seq 50); do  # 5 s
    r=$(rss_kib "$pid")
    ((r > peak)) && peak=$r
    sleep 0.1
  done
  R[$name,fresh3]=$(fresh_tcp "$port")
  kill -TERM "$pipe"
  wait "$pipe" || true
  sleep 2
  R[$name,pipe_base]=$base R[$name,pipe_peak]=$peak R[$name,pipe_after]=$(rss_kib "$pid")
  R[$name,pipe_sent]=$(grep -o 'sent [0-9]* of [0-9]*' "$TMP/pipe-$name.txt" | head -1 | awk '{printf "%.1f / %.1f", $2 / 1e6, $4 / 1e6}')
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
done

# ---------------------------------------------------------------- the table
{
  printf '\n%s, %s services, servers on core %s (one worker), clients on core %s, dnsperf -c 4 -q 100 -l %s\n\n' \
    "$(date -u '+%F %H:%M UTC')" "$N" "$SERVER_CPU" "$CLIENT_CPU" "$SECS"
  printf '| | %s |\n' "$(IFS='|'; echo "${SERVERS[*]}" | sed 's/|/ | /g')"
  printf '|---|%s\n' "$(for _ in "${SERVERS[@]}"; do printf -- '---|'; done)"
  row() {
    local label=$1 fmt=$2 s
    printf '| %s |' "$label"
    for s in "${SERVERS[@]}"; do printf " $fmt |" "$(eval "echo \"$3\"")"; done
    printf '\n'
  }
  row "UDP q/s, no abuse" "%s" '${R[$s,qps0]}'
  row "UDP p99 ms, no abuse" "%s" '${R[$s,p990]}'
  row "UDP q/s, 1,000 idle + 200 slowloris + 200 trickling" "%s" '${R[$s,qps1]}'
  row "UDP p99 ms, same" "%s" '${R[$s,p991]}'
  row "UDP lost (no abuse / abuse)" "%s" '${R[$s,lost0]} / ${R[$s,lost1]}'
  row "TCP connections the server holds (3 s in / after dnsperf)" "%s" '${R[$s,est]} / ${R[$s,est2]}'
  row "fresh dig +tcp answered, under that abuse" "%s" '${R[$s,fresh1]}'
  row "RSS MiB idle / under that abuse" "%s" '$((R[$s,rss0] / 1024)) / $((R[$s,rss1] / 1024))'
  row "one address, 1,100 idle: connections held / fresh client answered" "%s" '${R[$s,hoard_est]} / ${R[$s,fresh2]}'
  row "pipeline 100k unread: MB sent in 5 s (kernel buffers + server) / all" "%s" '${R[$s,pipe_sent]:-?}'
  row "pipeline: RSS MiB before / peak / 2 s after close" "%s" \
    '$((R[$s,pipe_base] / 1024)) / $((R[$s,pipe_peak] / 1024)) / $((R[$s,pipe_after] / 1024))'
  row "pipeline: fresh dig +tcp answered meanwhile" "%s" '${R[$s,fresh3]}'
  printf '\n'
  for s in "${SERVERS[@]}"; do printf '%s held: %s\n' "$s" "${R[$s,held]}"; done
} | tee "$TMP/table.md"
[[ -n ${ABUSE_OUT:-} ]] && cp "$TMP/table.md" "$ABUSE_OUT"
exit 0
