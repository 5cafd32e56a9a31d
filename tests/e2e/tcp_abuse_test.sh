#!/usr/bin/env bash
# TCP under abuse (issue 11 #16-#18), against the real binary: one address hoarding connections, slowloris and
# trickling clients, and a client pipelining queries without ever reading. A fresh TCP client must still be
# answered throughout, slow messages must be cut off long before the 10 s idle timeout, and the server's memory
# must stay bounded.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
need_tool python3

start_server abuse --source "file:$EXAMPLES"
NAME=my-nginx.default.svc.cluster.local
fresh_tcp() { qs A $NAME +tcp; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status"; }
server_conns() { ss -Htn state established "( sport = :$SRV_PORT )" 2>/dev/null | wc -l; }

# Holds connections until SIGTERM: hold PORT COUNT SOURCE_PREFIX SOURCES FIRST_BYTES_HEX
cat >"$WORK/hold.py" <<'PY'
import signal, socket, sys, time
port, count, prefix, sources, first = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
held = []
for i in range(count):
    s = socket.socket()
    s.bind((f"{prefix}{i % sources + 1}", 0))
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", port))
        if first:
            s.send(first)
    except OSError:
        pass
    held.append(s)
print("opened", flush=True)
while True:
    time.sleep(1)
PY

# 1. One address opens 300 idle connections: it gets its share (128), everyone else still gets in.
python3 "$WORK/hold.py" "$SRV_PORT" 300 127.0.3. 1 "" >"$WORK/hoard.out" 2>&1 &
HOARD=$!
E2E_PIDS+=("$HOARD")
wait_for "hoard connections" 100 0.1 grep -q opened "$WORK/hoard.out"
sleep 0.5
n=$(server_conns)
expect_eq "one address holds at most 128 connections" 1 "$([ "$n" -le 128 ] && echo 1 || echo "0 ($n)")"
expect_eq "a fresh TCP client is answered while one address hoards" 10.0.162.149 "$(fresh_tcp)"

# 2. 100 slowloris (1 byte of the length prefix) and 100 trickling (65,535 bytes announced) connections from
#    100 addresses: cut off within the 1 s message deadline, not the 10 s idle timeout.
python3 "$WORK/hold.py" "$SRV_PORT" 100 127.0.4. 100 "00" >"$WORK/slow.out" 2>&1 &
SLOW=$!
E2E_PIDS+=("$SLOW")
python3 "$WORK/hold.py" "$SRV_PORT" 100 127.0.5. 100 "ffff010203" >"$WORK/trickle.out" 2>&1 &
TRICKLE=$!
E2E_PIDS+=("$TRICKLE")
wait_for "slow connections" 100 0.1 grep -q opened "$WORK/slow.out"
wait_for "trickle connections" 100 0.1 grep -q opened "$WORK/trickle.out"
expect_eq "a fresh TCP client is answered beside slowloris clients" 10.0.162.149 "$(fresh_tcp)"
sleep 3
slow_left=$(ss -Htn state established "( sport = :$SRV_PORT )" 2>/dev/null | grep -cE '127\.0\.(4|5)\.')
expect_eq "partial messages cut off within 3 s" 0 "$slow_left"
kill "$HOARD" "$SLOW" "$TRICKLE" 2>/dev/null
wait "$HOARD" "$SLOW" "$TRICKLE" 2>/dev/null

# 3. One connection pipelines 50,000 queries and never reads: memory stays bounded, others are answered.
before=$(rss_kib)
python3 - "$SRV_PORT" >"$WORK/pipe.out" 2>&1 <<'PY' &
import socket, struct, sys, time
port = int(sys.argv[1])
name = b"".join(bytes([len(p)]) + p.encode() for p in "my-nginx.default.svc.cluster.local".split(".")) + b"\0"
msg = lambda i: struct.pack(">HHHHHH", i & 0xFFFF, 0, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
data = b"".join(struct.pack(">H", len(msg(i))) + msg(i) for i in range(50000))
s = socket.create_connection(("127.0.0.1", port))
s.setblocking(False)
sent, deadline = 0, time.time() + 4
while sent < len(data) and time.time() < deadline:
    try:
        sent += s.send(data[sent:sent + 65536])
    except BlockingIOError:
        time.sleep(0.01)
print("sent", sent, "of", len(data), flush=True)
time.sleep(30)
PY
PIPE=$!
E2E_PIDS+=("$PIPE")
peak=$before
for _ in $(seq 50); do
  r=$(rss_kib)
  ((r > peak)) && peak=$r
  sleep 0.1
done
grown=$(((peak - before) / 1024))
expect_eq "a client that never reads costs < 16 MiB (grew $grown MiB)" 1 "$([ "$grown" -lt 16 ] && echo 1 || echo 0)"
expect_eq "a fresh TCP client is answered beside it" 10.0.162.149 "$(fresh_tcp)"
expect_eq "UDP still answered" 10.0.162.149 "$(qs A $NAME)"
kill "$PIPE" 2>/dev/null
wait "$PIPE" 2>/dev/null
finish
