#!/usr/bin/env python3
"""A small upstream DNS server for the forwarding tests (UDP and TCP on one loopback port), standard library only.

  forward_responder.py --port PORT [--ip 192.0.2.1] [--ttl 300] [--log FILE] [--delay 2.0]

Prints "ready PORT" once bound (PORT 0: the kernel's choice). Logs one line per query: "udp|tcp ID QNAME QTYPE".
What it answers depends on the first label of the question:
  tc-*        over UDP: TC set, no records (so the client retries over TCP); over TCP: the answer
  drop-*      nothing, ever (a timeout)
  slow-*      the answer after --delay seconds
  servfail-*  SERVFAIL          refused-*  REFUSED
  nx-*        NXDOMAIN with an SOA (TTL 60, MINIMUM --neg-ttl)
  big-*       40 TXT records of 100 bytes (about 4.5 KB: truncated over UDP)
  anything else: A --ip / AAAA 2001:db8::1 with --ttl; other types NODATA with the SOA.
Names under "*.corp.test" are NXDOMAIN (a node's search domain that holds nothing).
SIGTERM or SIGINT ends it.
"""
import argparse
import signal
import socket
import struct
import sys
import threading
import time

TYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV"}


def parse_question(msg):
    pos, labels = 12, []
    while pos < len(msg) and msg[pos] != 0:
        n = msg[pos]
        labels.append(msg[pos + 1:pos + 1 + n].decode("ascii", "replace"))
        pos += 1 + n
    qtype, _qclass = struct.unpack("!HH", msg[pos + 1:pos + 5])
    return ".".join(labels), qtype, pos + 5


def rr(rtype, ttl, rdata, owner=b"\xc0\x0c"):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def soa(neg_ttl):
    rdata = b"\x02ns\x04test\x00\x0ahostmaster\x04test\x00" + struct.pack("!IIIII", 1, 7200, 1800, 86400, neg_ttl)
    return rr(6, 60, rdata, owner=b"\x04test\x00")


def answer(msg, proto, args):
    if len(msg) < 12:
        return None
    qid, flags = struct.unpack("!HH", msg[:4])
    qname, qtype, qend = parse_question(msg)
    first = qname.split(".")[0].lower()
    with args.lock:
        args.logf.write(f"{proto} {qid} {qname.lower()} {TYPES.get(qtype, qtype)}\n")
        args.logf.flush()
    if first.startswith("drop-"):
        return None
    if first.startswith("slow-"):
        time.sleep(args.delay)
    rcode, an, ns, tc = 0, [], [], False
    if first.startswith("servfail-"):
        rcode = 2
    elif first.startswith("refused-"):
        rcode = 5
    elif first.startswith("nx-") or qname.lower().endswith(".corp.test"):
        rcode, ns = 3, [soa(args.neg_ttl)]
    elif first.startswith("tc-") and proto == "udp":
        tc = True
    elif first.startswith("big-") and qtype == 16:
        an = [rr(16, args.ttl, bytes([99]) + (b"r%02d" % i) + b"x" * 96) for i in range(40)]
    elif qtype == 1:
        an = [rr(1, args.ttl, socket.inet_pton(socket.AF_INET, args.ip))]
    elif qtype == 28:
        an = [rr(28, args.ttl, socket.inet_pton(socket.AF_INET6, "2001:db8::1"))]
    else:
        ns = [soa(args.neg_ttl)]
    # The client's EDNS OPT, if any, is echoed as a minimal OPT (RFC 6891 §7).
    arcount = struct.unpack("!H", msg[10:12])[0]
    opt = b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0) if arcount else b""
    out_flags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode | (0x0200 if tc else 0)
    header = struct.pack("!HHHHHH", qid, out_flags, 1, len(an), len(ns), 1 if opt else 0)
    body = b"".join(an) + b"".join(ns)
    limit = 512
    if arcount and len(msg) >= qend + 11:
        limit = max(512, struct.unpack("!H", msg[qend + 3:qend + 5])[0])
    if proto == "udp" and len(header) + (qend - 12) + len(body) + len(opt) > limit:
        header = struct.pack("!HHHHHH", qid, out_flags | 0x0200, 1, 0, 0, 1 if opt else 0)
        body = b""
    return header + msg[12:qend] + body + opt


def serve_udp(sock, args):
    while True:
        try:
            msg, peer = sock.recvfrom(65535)
        except OSError:
            return
        def reply(msg=msg, peer=peer):
            r = answer(msg, "udp", args)
            if r is not None:
                try:
                    sock.sendto(r, peer)
                except OSError:
                    pass
        threading.Thread(target=reply, daemon=True).start()


def serve_tcp_conn(conn, args):
    with conn:
        buf = b""
        while True:
            try:
                data = conn.recv(65535)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 2:
                n = struct.unpack("!H", buf[:2])[0]
                if len(buf) < 2 + n:
                    break
                msg, buf = buf[2:2 + n], buf[2 + n:]
                r = answer(msg, "tcp", args)
                if r is not None:
                    try:
                        conn.sendall(struct.pack("!H", len(r)) + r)
                    except OSError:
                        return


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--address", default="127.0.0.1")
    p.add_argument("--ip", default="192.0.2.1")
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--neg-ttl", type=int, default=60)
    p.add_argument("--delay", type=float, default=2.0)
    p.add_argument("--log", default="/dev/null")
    args = p.parse_args()
    args.lock = threading.Lock()
    args.logf = open(args.log, "a")
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((args.address, args.port))
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((args.address, port))
    tcp.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Thread(target=serve_udp, args=(udp, args), daemon=True).start()
    print(f"ready {port}", flush=True)
    try:
        while True:
            conn, _ = tcp.accept()
            threading.Thread(target=serve_tcp_conn, args=(conn, args), daemon=True).start()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
