# Helpers for the ops end-to-end tests (sourced after lib.sh; not a *_test.sh, so ctest skips it).
#
#   ops_start NAME [FLAGS...]   clusterdns on 127.0.0.1:0 with --http 127.0.0.1:0 (and --upstream none, so that
#                               nothing is ever forwarded to the machine's resolver) unless the flags say
#                               otherwise or name a --config (which must then set all three); waits for both
#                               ports in the log, not for an answer (the registry may be unsynced on
#                               purpose). Sets SRV_PID SRV_PORT HTTP_PORT SRV_LOG.
#   http_get PATH               GET 127.0.0.1:$HTTP_PORT/PATH; sets HTTP_CODE and HTTP_BODY
#   metric 'REGEX'              sum of the /metrics samples whose series matches REGEX (0 when none)
#   loadgen OUT SECONDS ARGS..  python3 DNS load generator (background; sets LOAD_PID; returns once it has sent
#                               its first 20 queries); writes one line per query at the end:
#                               "send_ms proto status ttl" (status ok, or why it failed)
need_tool curl curl

ops_start() {
  local name=$1 i
  shift
  local args=("$@")
  if [[ " ${args[*]} " != *" --config "* ]]; then  # a config file says it all (command-line flags would win)
    [[ " ${args[*]} " == *" --listen "* ]] || args+=(--listen 127.0.0.1:0)
    [[ " ${args[*]} " == *" --http "* ]] || args+=(--http 127.0.0.1:0)
    [[ " ${args[*]} " == *" --upstream "* ]] || args+=(--upstream none)
  fi
  SRV_LOG=$WORK/$name.log
  "$CLUSTERDNS" "${args[@]}" >"$SRV_LOG" 2>&1 &
  SRV_PID=$!
  E2E_PIDS+=("$SRV_PID")
  SRV_PORT="" HTTP_PORT=""
  for i in $(seq 1 200); do  # 200 x 50 ms = 10 s
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_LOG"; die "clusterdns ($name) exited during start-up: ${args[*]}"; }
    SRV_PORT=$(grep -Eo 'serving [^ ]+ on 127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
    HTTP_PORT=$(grep -Eo 'http on 127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
    [ -n "$SRV_PORT" ] && [ -n "$HTTP_PORT" ] && break
    sleep 0.05
  done
  [ -n "$SRV_PORT" ] && [ -n "$HTTP_PORT" ] || { cat "$SRV_LOG"; die "clusterdns ($name) did not log its ports within 10 s"; }
  echo "     started clusterdns ($name) pid $SRV_PID: dns 127.0.0.1:$SRV_PORT, http 127.0.0.1:$HTTP_PORT"
}

http_get() {
  local out
  out=$(curl -s --max-time 3 -w '\n%{http_code}' "http://127.0.0.1:$HTTP_PORT$1" 2>/dev/null)
  HTTP_CODE=${out##*$'\n'}
  HTTP_BODY=${out%$'\n'*}
}

metric() {
  http_get /metrics
  # The value is the last field; the series (labels may hold spaces) is everything before it.
  awk -v re="$1" '!/^#/ && NF > 1 { series = substr($0, 1, length($0) - length($NF) - 1)
                                    if (series ~ re) s += $NF } END { printf "%d\n", s }' <<<"$HTTP_BODY"
}

# A steady, bounded DNS load: --udp N and --tcp N worker threads (TCP: one connection per query, as dig
# +tcp), each sending one query at a time (1 s timeout) every --interval-ms, for SECONDS.
loadgen() {
  local out=$1 seconds=$2
  shift 2
  cat >"$WORK/loadgen.py" <<'EOF'
import argparse, random, socket, struct, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("seconds", type=float)
p.add_argument("out")
p.add_argument("--udp", type=int, default=2)
p.add_argument("--tcp", type=int, default=1)
p.add_argument("--name", default="my-nginx.default.svc.cluster.local")
p.add_argument("--interval-ms", type=float, default=2)
a = p.parse_args()

def query(qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in a.name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)

def status(qid, r):
    if len(r) < 12: return "short", -1
    rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
    if rid != qid: return "badid", -1
    if flags & 0x000F: return "rcode%d" % (flags & 0x0F), -1
    if an == 0: return "noanswer", -1
    i = 12
    for _ in range(qd):
        while r[i] != 0:
            if r[i] & 0xC0: i += 1; break
            i += r[i] + 1
        i += 5
    if r[i] & 0xC0: i += 2
    else:
        while r[i] != 0: i += r[i] + 1
        i += 1
    ttl = struct.unpack(">I", r[i + 4:i + 8])[0]
    return "ok", ttl

lines, lock = [], threading.Lock()
deadline = time.time() + a.seconds

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise ConnectionError("closed")
        b += c
    return b

def worker(proto):
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        s.connect(("127.0.0.1", a.port))
    while time.time() < deadline:
        qid = random.randrange(65536)
        t = time.time()
        try:
            if proto == "udp":
                s.send(query(qid))
                while True:
                    r = s.recv(4096)
                    if len(r) >= 2 and struct.unpack(">H", r[:2])[0] == qid: break
            else:
                with socket.create_connection(("127.0.0.1", a.port), timeout=1.0) as c:
                    q = query(qid)
                    c.sendall(struct.pack(">H", len(q)) + q)
                    n = struct.unpack(">H", recv_exact(c, 2))[0]
                    r = recv_exact(c, n)
            st, ttl = status(qid, r)
        except socket.timeout:
            st, ttl = "timeout", -1
        except ConnectionRefusedError:
            st, ttl = "refused", -1
        except Exception as e:
            st, ttl = "error:" + type(e).__name__, -1
        with lock:
            lines.append("%d %s %s %d" % (int(t * 1000), proto, st, ttl))
            if len(lines) == 20: open(a.out + ".started", "w").close()
        time.sleep(a.interval_ms / 1000)

ts = [threading.Thread(target=worker, args=("udp",)) for _ in range(a.udp)]
ts += [threading.Thread(target=worker, args=("tcp",)) for _ in range(a.tcp)]
for t in ts: t.start()
for t in ts: t.join()
with open(a.out, "w") as f:
    f.write("\n".join(sorted(lines)) + "\n")
EOF
  rm -f "$out.started"
  python3 "$WORK/loadgen.py" "$SRV_PORT" "$seconds" "$out" "$@" &
  LOAD_PID=$!
  E2E_PIDS+=("$LOAD_PID")
  wait_for "the load generator's first queries" 100 0.05 test -e "$out.started" || die "the load generator did not start"
}

# log_ms REGEX: the wall-clock time (ms) of the first server log line matching REGEX (text log format).
log_ms() {
  local line
  line=$(grep -E -m1 -- "$1" "$SRV_LOG") || return 1
  date -d "$(cut -d' ' -f1 <<<"$line" | tr T ' ')" +%s%3N
}
