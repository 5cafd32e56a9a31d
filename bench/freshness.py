#!/usr/bin/env python3
"""Freshness: how long a registry change takes to reach DNS answers.

usage: freshness.py k8s API_URL DNS_PORT CHANGES NAMESPACE
       freshness.py etcd ETCD_PORT DNS_PORT CHANGES NAMESPACE

Changes the cluster IP of Service NAMESPACE/fresh CHANGES times, through the test API server's /test/apply
(k8s) or an etcd put through the v3 JSON gateway (etcd, the key kube-apiserver uses). Each change is timed from
the request to the first UDP answer from 127.0.0.1:DNS_PORT carrying the new address (polled every 0.5 ms, in
this one process, so no tool start-up counts). Prints "p50 X ms, p99 Y ms, max Z ms"; exits 1 if a change is
not answered within 5 s. Loopback only.
"""
import base64
import json
import socket
import struct
import sys
import time
import urllib.request


def main():
    mode, target, dns_port, changes, ns = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    qname = b"".join(bytes([len(l)]) + l.encode() for l in f"fresh.{ns}.svc.cluster.local".split(".")) + b"\0"

    def answer(qid):
        sock.sendto(struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1),
                    ("127.0.0.1", dns_port))
        try:
            data = sock.recv(512)
        except socket.timeout:
            return None
        if struct.unpack(">H", data[6:8])[0] == 0:
            return None
        rr = 12 + len(qname) + 4  # the first answer: compressed name (2), type, class, ttl, rdlength
        return socket.inet_ntoa(data[rr + 12:rr + 16])

    def change(ip):
        obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fresh", "namespace": ns},
               "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                        "ports": [{"port": 80, "protocol": "TCP"}]}}
        if mode == "k8s":
            req = urllib.request.Request(f"{target}/test/apply", json.dumps(obj).encode())
        else:
            b64 = lambda s: base64.b64encode(s.encode()).decode()
            body = {"key": b64(f"/registry/services/specs/{ns}/fresh"), "value": b64(json.dumps(obj))}
            req = urllib.request.Request(f"http://127.0.0.1:{target}/v3/kv/put", json.dumps(body).encode())
        urllib.request.urlopen(req, timeout=5).read()

    ms = []
    for i in range(changes):
        ip = f"10.99.{1 + i // 250}.{i % 250 + 1}"
        t0 = time.perf_counter()
        change(ip)
        while answer(i & 0xffff) != ip:
            if time.perf_counter() - t0 > 5:
                print(f"FAIL change {i} not answered within 5 s")
                return 1
            time.sleep(0.0005)
        ms.append((time.perf_counter() - t0) * 1000)
    ms.sort()
    print(f"p50 {ms[len(ms) // 2]:.1f} ms, p99 {ms[len(ms) * 99 // 100]:.1f} ms, max {ms[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
