#!/usr/bin/env python3
"""Freshness: how long a registry change takes to reach DNS answers.

usage: freshness.py k8s API_URL DNS_PORT CHANGES NAMESPACE
       freshness.py etcd ETCD_PORT DNS_PORT CHANGES NAMESPACE
       freshness.py file DIR DNS_PORT CHANGES service NAMESPACE
       freshness.py file DIR DNS_PORT CHANGES endpoint NAMESPACE SERVICE
       freshness.py file DIR DNS_PORT CHANGES pod NAMESPACE

Changes the cluster IP of Service NAMESPACE/fresh CHANGES times, through the test API server's /test/apply
(k8s) or an etcd put through the v3 JSON gateway (etcd, the key kube-apiserver uses). Each change is timed from
the request to the first UDP answer from 127.0.0.1:DNS_PORT carrying the new address (polled every 0.5 ms, in
this one process, so no tool start-up counts). Prints "p50 X ms, p99 Y ms, max Z ms"; exits 1 if a change is
not answered within 5 s. Loopback only.

`file` writes a manifest into DIR (the `--source file:` directory; written beside DIR, then renamed in) and times
from the write to the answer:
  service   Service NAMESPACE/fresh in fresh.yaml, its cluster IP changed each time (fresh.<ns>.svc);
  endpoint  one more EndpointSlice of Service NAMESPACE/SERVICE in fresh-slice.yaml, its one endpoint (hostname
            `fresh`) at a new address each time: the Service's every record is rewritten (fresh.<svc>.<ns>.svc);
  pod       a new running Pod in fresh-pod-N.yaml each time (<a-b-c-d>.<ns>.pod, with --pods verified).
"""
import os
import base64
import json
import socket
import struct
import sys
import time
import urllib.request


def main():
    mode, target, dns_port, changes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    kind = sys.argv[5] if mode == "file" else "service"
    ns = sys.argv[6] if mode == "file" else sys.argv[5]
    service = sys.argv[7] if kind == "endpoint" else "fresh"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)

    def wire_name(text):
        return b"".join(bytes([len(l)]) + l.encode() for l in text.split(".")) + b"\0"

    qname = wire_name(f"fresh.{service}.{ns}.svc.cluster.local" if kind == "endpoint"
                      else f"fresh.{ns}.svc.cluster.local")

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

    def write_file(name, obj):
        # Aside outside the watched tree (same file system): a hidden file inside it makes the file source
        # re-list the tree and re-read every file (it may be a ConfigMap's "..data" swap).
        aside = os.path.join(os.path.dirname(os.path.abspath(target)), f"{name}.aside")
        with open(aside, "w") as f:
            json.dump(obj, f)  # JSON is YAML
        os.rename(aside, os.path.join(target, name))

    def change(ip, i):
        nonlocal qname
        if kind == "endpoint":
            write_file("fresh-slice.yaml", {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"name": f"{service}-fresh", "namespace": ns,
                             "labels": {"kubernetes.io/service-name": service}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": [ip], "hostname": "fresh", "conditions": {"ready": True}}],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})
            return
        if kind == "pod":
            qname = wire_name(f"{ip.replace('.', '-')}.{ns}.pod.cluster.local")
            write_file(f"fresh-pod-{i}.yaml", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"fresh-{i}", "namespace": ns},
                "spec": {"containers": [{"name": "app", "image": "app"}]},
                "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                           "conditions": [{"type": "Ready", "status": "True"}]}})
            return
        obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "fresh", "namespace": ns},
               "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                        "ports": [{"port": 80, "protocol": "TCP"}]}}
        if mode == "file":
            write_file("fresh.yaml", obj)
            return
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
        change(ip, i)
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
