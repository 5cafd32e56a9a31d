#!/usr/bin/env python3
"""Slow and idle HTTP clients against clusterdns's operations ports while probes are timed (issue 11 #4).

Opens --slow connections (spread over --sources loopback addresses 127.0.0.2...) that send a request line and
then one header line every --interval seconds, and --idle keep-alive connections that made one request and
stay open; meanwhile GETs /health (and, with --webhook-port, POSTs a review to /mutate over TLS) from 127.0.0.1
every 0.5 s with a 1 s timeout. Prints one summary line per probed endpoint:
  health ok=16/16 max_ms=12 p50_ms=3
and exits 1 when a probe failed. Loopback only; everything it opens is closed when it exits.
"""
import argparse, json, socket, ssl, statistics, sys, threading, time

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--webhook-port", type=int)
p.add_argument("--slow", type=int, default=500)
p.add_argument("--slow-webhook", type=int, default=0, help="slow connections to the webhook port too")
p.add_argument("--idle", type=int, default=4)
p.add_argument("--sources", type=int, default=50)
p.add_argument("--interval", type=float, default=3.0)
p.add_argument("--duration", type=float, default=8.0)
a = p.parse_args()

held = []
lock = threading.Lock()
stop = threading.Event()


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def open_slow(port, i, tls=False):
    s = socket.socket()
    try:
        s.bind((f"127.0.0.{2 + i % a.sources}", 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        if tls:  # a completed handshake, then the same trickle inside TLS
            s = client_context().wrap_socket(s)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        with lock:
            held.append(s)
    except (OSError, ssl.SSLError):
        s.close()


def trickle():
    n = 0
    while not stop.wait(a.interval):
        n += 1
        with lock:
            for s in held:
                try:
                    s.send(b"X-Slow-%d: 1\r\n" % n)
                except (OSError, ssl.SSLError):
                    pass


def open_idle(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(4096)
    with lock:
        held.append(s)


def probe_health():
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=1)
        s.settimeout(max(0.01, 1 - (time.monotonic() - t0)))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(4096)
        s.close()
        return data.startswith(b"HTTP/1.1 200"), (time.monotonic() - t0) * 1000
    except OSError:
        return False, (time.monotonic() - t0) * 1000


REVIEW = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": "default",
    "operation": "CREATE", "object": {"spec": {"containers": [{"name": "c"}]}}}}).encode()


def probe_webhook():
    t0 = time.monotonic()
    ctx = client_context()
    try:
        raw = socket.create_connection(("127.0.0.1", a.webhook_port), timeout=1)
        s = ctx.wrap_socket(raw)
        s.settimeout(max(0.01, 1 - (time.monotonic() - t0)))
        s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(REVIEW) + REVIEW)
        data = s.recv(65536)
        s.close()
        return data.startswith(b"HTTP/1.1 200"), (time.monotonic() - t0) * 1000
    except (OSError, ssl.SSLError):
        return False, (time.monotonic() - t0) * 1000


openers = [threading.Thread(target=open_slow, args=(a.port, i)) for i in range(a.slow)]
if a.webhook_port:
    openers += [threading.Thread(target=open_slow, args=(a.webhook_port, i, True)) for i in range(a.slow_webhook)]
for t in openers:
    t.start()
for t in openers:
    t.join()
for _ in range(a.idle):
    try:
        open_idle(a.port)
    except OSError:
        pass
threading.Thread(target=trickle, daemon=True).start()
print(f"holding {len(held)} connections", flush=True)

results = {"health": []}
if a.webhook_port:
    results["webhook"] = []
end = time.monotonic() + a.duration
while time.monotonic() < end:
    results["health"].append(probe_health())
    if a.webhook_port:
        results["webhook"].append(probe_webhook())
    time.sleep(0.5)
stop.set()
failed = False
for name, rs in results.items():
    ok = sum(1 for r in rs if r[0])
    ms = [r[1] for r in rs]
    print(f"{name} ok={ok}/{len(rs)} max_ms={max(ms):.0f} p50_ms={statistics.median(ms):.0f}")
    failed |= ok != len(rs)
for s in held:
    s.close()
sys.exit(1 if failed else 0)
