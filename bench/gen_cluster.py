#!/usr/bin/env python3
"""Generates a synthetic Kubernetes cluster for the DNS benchmark.

usage: gen_cluster.py N OUTDIR [--namespaces K] [--seed S] [--queries Q]
                       [--headless-services H --headless-endpoints E] [--pods P]

Writes, under OUTDIR:
  manifests/cluster.yaml        Namespaces, Services, EndpointSlices (one multi-document YAML) for clusterdns
  zones/cluster.local.zone      the same records as an RFC 1035 zone file, for NSD and Knot
  zones/in-addr.arpa.zone       the PTR records clusterdns also builds (so memory figures compare like with like)
  queries-hit.txt               dnsperf input: names that exist (70% A ClusterIP, 10% SRV, 10% headless A,
                                10% AAAA = NODATA)
  queries-nx.txt                dnsperf input: search-path expansions that do not exist (NXDOMAIN)
  expected.tsv                  a few sample queries with the answer every server must give:
                                qname <TAB> qtype <TAB> rcode <TAB> sorted `dig +short` lines joined by '|'
  summary.txt                   counts

Scale axes (bench/scale_axes.sh; all off by default, and then the output is as without them):
  --headless-services H --headless-endpoints E
                                H more headless Services big-NNNNNN (spread over the namespaces), each with E
                                ready endpoints without hostnames (a Deployment's pods) in EndpointSlices of at
                                most 100 endpoints, as the EndpointSlice controller cuts them
                                (--max-endpoints-per-slice, default 100), in manifests/headless.yaml; the
                                endpoints are named by their dashed address (<a-b-c-d>.<svc>.<ns>.svc)
  --pods P                      P running, ready Pods pod-NNNNNN (round-robin over the namespaces) with
                                status.podIP from 10.192.0.0/10, in manifests/pods.yaml; the zone gets their
                                <a-b-c-d>.<ns>.pod.<zone> A records (what `--pods verified` serves)
  --namespaces K                K namespaces ns-00 … (wider numbers above 100), the services spread over them (existed before)
  probe.tsv                     qname <TAB> qtype <TAB> answer of the last object generated (readiness probe)

The zone mirrors what clusterdns synthesizes (Kubernetes DNS specification 1.1.0 §2.3-2.5, zones/cluster_records.cpp) with the default
options (--domain cluster.local --ttl 30):
  * SOA ns.dns.<zone> hostmaster.<zone> … 7200 1800 86400 30, TTL 30; NS ns.dns.<zone> (glue: kube-dns IP)
  * dns-version.<zone> TXT "1.1.0" (TTL 28800)
  * ClusterIP service: <svc>.<ns>.svc A <clusterIP>; SRV _<port>._<proto>.<svc>.<ns>.svc and, as CoreDNS
    does, the same SRV at <svc>.<ns>.svc; PTR for the cluster IP
  * headless service (every 10th): <svc>.<ns>.svc A × ready endpoints; <host>.<svc>.<ns>.svc A; SRV with
    the endpoint-slice port (8080) and target <host>.<svc>.<ns>.svc, weight 100/3 = 33; PTRs
  * --headless-services: as above, with the endpoint named <a-b-c-d> and SRV weight 100/E (0 from 101 on)
  * --pods: <a-b-c-d>.<ns>.pod.<zone> A <podIP> (`--pods verified`; `insecure` answers these names the same)
Not mirrored (not queried by the benchmark): the rest of the pod.<zone> subtree (clusterdns synthesizes
<a-b-c-d>.<ns>.pod.<zone> for any address in `--pods insecure` mode), the empty ip6.arpa zone, and the
names of namespaces without services (<ns>.svc.<zone> is NODATA in clusterdns, NXDOMAIN in the zone file).
"""
import argparse
import ipaddress
import os
import random
import sys

ZONE = "cluster.local"
TTL = 30
SOA = f"ns.dns.{ZONE}. hostmaster.{ZONE}. 1 7200 1800 86400 30"
CLUSTER_NET = ipaddress.IPv4Network("10.96.0.0/12")
POD_NET = ipaddress.IPv4Network("10.128.0.0/9")
KUBE_DNS_IP = "10.96.0.10"
HEADLESS_EVERY = 10
ENDPOINTS_PER_HEADLESS = 3
SVC_PORT = 80
EP_PORT = 8080
SLICE_MAX = 100  # the EndpointSlice controller's default --max-endpoints-per-slice
BIG_HEADLESS_BASE = int(ipaddress.IPv4Address("10.130.0.0"))  # up to 10.191.255.255: 4M endpoints
POD_ADDR_BASE = int(ipaddress.IPv4Address("10.192.0.0"))


def ptr_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."


def dashed(ip: str) -> str:
    return ip.replace(".", "-")


class Cluster:
    def __init__(self, n: int, namespaces: int, big_services: int = 0, big_endpoints: int = 0, pods: int = 0):
        if n < 10:
            sys.exit("gen_cluster.py: N must be at least 10")
        if n > CLUSTER_NET.num_addresses - 1024:
            sys.exit(f"gen_cluster.py: N must be below {CLUSTER_NET.num_addresses - 1024} (10.96.0.0/12)")
        width = 2 if namespaces <= 100 else len(str(namespaces - 1))
        self.namespaces = [f"ns-{i:0{width}d}" for i in range(namespaces)]
        self.services = []  # dicts: name, ns, headless, ip | endpoints[(host, ip)]
        pod_base = int(POD_NET.network_address) + 256
        ep_index = 0
        for i in range(n):
            ns = self.namespaces[i % namespaces]
            name = f"svc-{i:06d}"
            if i % HEADLESS_EVERY == HEADLESS_EVERY - 1:
                eps = []
                for k in range(ENDPOINTS_PER_HEADLESS):
                    ip = str(ipaddress.IPv4Address(pod_base + ep_index))
                    ep_index += 1
                    eps.append((f"{name}-{k}", ip))
                self.services.append(dict(name=name, ns=ns, headless=True, endpoints=eps))
            else:
                ip = str(ipaddress.IPv4Address(int(CLUSTER_NET.network_address) + 256 + i))
                self.services.append(dict(name=name, ns=ns, headless=False, ip=ip))
        if big_services * big_endpoints > POD_ADDR_BASE - BIG_HEADLESS_BASE:
            sys.exit("gen_cluster.py: too many headless endpoints (at most 4,194,304)")
        # Scale axes: H headless services of E endpoints each; P pods. Kept apart from self.services so the
        # default output, its queries and expected answers are unchanged.
        self.big = []  # dicts: name, ns, ips
        for i in range(big_services):
            base = BIG_HEADLESS_BASE + i * big_endpoints
            ips = [str(ipaddress.IPv4Address(base + k)) for k in range(big_endpoints)]
            self.big.append(dict(name=f"big-{i:06d}", ns=self.namespaces[i % namespaces], ips=ips))
        if pods > (1 << 22):
            sys.exit("gen_cluster.py: at most 4,194,304 pods (10.192.0.0/10)")
        self.pods = [(f"pod-{i:06d}", self.namespaces[i % namespaces], str(ipaddress.IPv4Address(POD_ADDR_BASE + i)))
                     for i in range(pods)]

    # ---------------------------------------------------------------- manifests
    def write_manifests(self, path: str) -> None:
        out = []
        w = out.append
        for ns in ["kube-system"] + self.namespaces:
            w(f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n")
        # kube-dns: gives ns.dns.<zone> its glue address, as in a real cluster.
        w(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n"
            f"spec:\n  type: ClusterIP\n  clusterIP: {KUBE_DNS_IP}\n  clusterIPs: [{KUBE_DNS_IP}]\n"
            "  ports:\n  - {name: dns, port: 53, protocol: UDP}\n  - {name: dns-tcp, port: 53, protocol: TCP}\n"
        )
        for s in self.services:
            meta = f"metadata:\n  name: {s['name']}\n  namespace: {s['ns']}\n  labels: {{app: {s['name']}}}\n"
            if s["headless"]:
                w(
                    f"apiVersion: v1\nkind: Service\n{meta}spec:\n  clusterIP: None\n"
                    f"  ports:\n  - name: http\n    port: {SVC_PORT}\n    protocol: TCP\n    targetPort: {EP_PORT}\n"
                )
                eps = "".join(
                    f"- addresses: [{ip}]\n  hostname: {host}\n  conditions: {{ready: true}}\n"
                    for host, ip in s["endpoints"]
                )
                w(
                    "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                    f"metadata:\n  name: {s['name']}-abcde\n  namespace: {s['ns']}\n"
                    f"  labels:\n    kubernetes.io/service-name: {s['name']}\n"
                    f"addressType: IPv4\nendpoints:\n{eps}"
                    f"ports:\n- name: http\n  port: {EP_PORT}\n  protocol: TCP\n"
                )
            else:
                w(
                    f"apiVersion: v1\nkind: Service\n{meta}spec:\n  type: ClusterIP\n"
                    f"  clusterIP: {s['ip']}\n  clusterIPs: [{s['ip']}]\n"
                    f"  ports:\n  - name: http\n    port: {SVC_PORT}\n    protocol: TCP\n    targetPort: {EP_PORT}\n"
                )
        with open(path, "w") as f:
            f.write("---\n".join(out))

    def write_big_headless(self, path: str) -> None:
        with open(path, "w") as f:
            for s in self.big:
                f.write(
                    f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: {s['name']}\n  namespace: {s['ns']}\n"
                    f"  labels: {{app: {s['name']}}}\nspec:\n  clusterIP: None\n"
                    f"  ports:\n  - name: http\n    port: {SVC_PORT}\n    protocol: TCP\n    targetPort: {EP_PORT}\n"
                )
                ips = s["ips"]
                for k in range(0, len(ips), SLICE_MAX):
                    eps = "".join(f"- addresses: [{ip}]\n  conditions: {{ready: true}}\n" for ip in ips[k:k + SLICE_MAX])
                    f.write(
                        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
                        f"metadata:\n  name: {s['name']}-{k // SLICE_MAX:05d}\n  namespace: {s['ns']}\n"
                        f"  labels:\n    kubernetes.io/service-name: {s['name']}\n"
                        f"addressType: IPv4\nendpoints:\n{eps}"
                        f"ports:\n- name: http\n  port: {EP_PORT}\n  protocol: TCP\n"
                    )

    def write_pods(self, path: str) -> None:
        with open(path, "w") as f:
            for name, ns, ip in self.pods:
                f.write(
                    f"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n"
                    f"spec:\n  containers:\n  - name: app\n    image: app\n"
                    f"status:\n  phase: Running\n  podIP: {ip}\n  podIPs:\n  - ip: {ip}\n"
                    f"  conditions:\n  - {{type: Ready, status: \"True\"}}\n"
                )

    # ---------------------------------------------------------------- zone files
    def write_zones(self, fwd_path: str, rev_path: str) -> int:
        z = []
        r = []
        zw = z.append
        rw = r.append
        zw(f"$ORIGIN {ZONE}.\n$TTL {TTL}\n")
        zw(f"@ {TTL} IN SOA {SOA}\n")
        zw(f"@ {TTL} IN NS ns.dns.{ZONE}.\n")
        zw(f"ns.dns {TTL} IN A {KUBE_DNS_IP}\n")
        zw(f'dns-version 28800 IN TXT "1.1.0"\n')
        rw(f"$ORIGIN in-addr.arpa.\n$TTL {TTL}\n")
        rw(f"@ {TTL} IN SOA {SOA}\n")
        rw(f"@ {TTL} IN NS ns.dns.{ZONE}.\n")
        # kube-dns (two named ports → weight 100/1 per port, 100/2 at the service name)
        kd = f"kube-dns.kube-system.svc.{ZONE}."
        zw(f"{kd} {TTL} IN A {KUBE_DNS_IP}\n")
        zw(f"_dns._udp.{kd} {TTL} IN SRV 0 100 53 {kd}\n")
        zw(f"_dns-tcp._tcp.{kd} {TTL} IN SRV 0 100 53 {kd}\n")
        zw(f"{kd} {TTL} IN SRV 0 50 53 {kd}\n")
        rw(f"{ptr_name(KUBE_DNS_IP)} {TTL} IN PTR {kd}\n")
        records = 0
        for s in self.services:
            fq = f"{s['name']}.{s['ns']}.svc.{ZONE}."
            if s["headless"]:
                eps = s["endpoints"]
                weight = 100 // len(eps)
                for host, ip in eps:
                    zw(f"{fq} {TTL} IN A {ip}\n")
                    zw(f"{host}.{fq} {TTL} IN A {ip}\n")
                    zw(f"_http._tcp.{fq} {TTL} IN SRV 0 {weight} {EP_PORT} {host}.{fq}\n")
                    zw(f"{fq} {TTL} IN SRV 0 {weight} {EP_PORT} {host}.{fq}\n")
                    rw(f"{ptr_name(ip)} {TTL} IN PTR {host}.{fq}\n")
                    records += 5
            else:
                zw(f"{fq} {TTL} IN A {s['ip']}\n")
                zw(f"_http._tcp.{fq} {TTL} IN SRV 0 100 {SVC_PORT} {fq}\n")
                zw(f"{fq} {TTL} IN SRV 0 100 {SVC_PORT} {fq}\n")
                rw(f"{ptr_name(s['ip'])} {TTL} IN PTR {fq}\n")
                records += 4
        for s in self.big:
            fq = f"{s['name']}.{s['ns']}.svc.{ZONE}."
            weight = 100 // len(s["ips"]) if s["ips"] else 0
            for ip in s["ips"]:
                host = f"{dashed(ip)}.{fq}"
                zw(f"{fq} {TTL} IN A {ip}\n")
                zw(f"{host} {TTL} IN A {ip}\n")
                zw(f"_http._tcp.{fq} {TTL} IN SRV 0 {weight} {EP_PORT} {host}\n")
                zw(f"{fq} {TTL} IN SRV 0 {weight} {EP_PORT} {host}\n")
                rw(f"{ptr_name(ip)} {TTL} IN PTR {host}\n")
                records += 5
        for _, ns, ip in self.pods:
            zw(f"{dashed(ip)}.{ns}.pod.{ZONE}. {TTL} IN A {ip}\n")
            records += 1
        with open(fwd_path, "w") as f:
            f.write("".join(z))
        with open(rev_path, "w") as f:
            f.write("".join(r))
        return records

    # ---------------------------------------------------------------- queries
    def write_queries(self, hit_path: str, nx_path: str, count: int, rng: random.Random) -> None:
        clusterip = [s for s in self.services if not s["headless"]]
        headless = [s for s in self.services if s["headless"]]

        def fq(s):
            return f"{s['name']}.{s['ns']}.svc.{ZONE}"

        hits = []
        for _ in range(count):
            x = rng.random()
            if x < 0.70:
                hits.append(f"{fq(rng.choice(clusterip))} A")
            elif x < 0.80:
                hits.append(f"_http._tcp.{fq(rng.choice(self.services))} SRV")
            elif x < 0.90:
                hits.append(f"{fq(rng.choice(headless))} A")
            else:
                hits.append(f"{fq(rng.choice(clusterip))} AAAA")
        externals = [
            "www.example.com", "api.github.com", "registry-1.docker.io", "s3.amazonaws.com",
            "login.microsoftonline.com", "storage.googleapis.com", "pypi.org", "sentry.io",
            "db.internal.corp", "metadata.google.internal",
        ]
        nx = []
        for _ in range(count):
            name = rng.choice(externals)
            if rng.random() < 0.5:
                name = f"h{rng.randrange(100000)}.{name}"  # many distinct names, as real traffic has
            # the search list of a pod in namespace <ns> (ndots:5): <ns>.svc.<zone>, svc.<zone>, <zone>
            ns = rng.choice(self.namespaces)
            suffix = rng.choice([f"{ns}.svc.{ZONE}", f"{ns}.svc.{ZONE}", f"svc.{ZONE}", ZONE])
            qtype = "A" if rng.random() < 0.5 else "AAAA"
            nx.append(f"{name}.{suffix} {qtype}")
        with open(hit_path, "w") as f:
            f.write("\n".join(hits) + "\n")
        with open(nx_path, "w") as f:
            f.write("\n".join(nx) + "\n")

    def write_probe(self, path: str) -> None:
        """The last object generated, for "ready": a pod, else a big headless service's last endpoint, else the
        last ClusterIP service (what bench/run.sh probes)."""
        if self.pods:
            _, ns, ip = self.pods[-1]
            row = (f"{dashed(ip)}.{ns}.pod.{ZONE}", "A", ip)
        elif self.big:
            s = self.big[-1]
            ip = s["ips"][-1]
            row = (f"{dashed(ip)}.{s['name']}.{s['ns']}.svc.{ZONE}", "A", ip)
        else:
            s = [s for s in self.services if not s["headless"]][-1]
            row = (f"{s['name']}.{s['ns']}.svc.{ZONE}", "A", s["ip"])
        with open(path, "w") as f:
            f.write("\t".join(row) + "\n")

    def write_expected(self, path: str) -> None:
        ci = [s for s in self.services if not s["headless"]]
        hl = [s for s in self.services if s["headless"]]

        def fq(s):
            return f"{s['name']}.{s['ns']}.svc.{ZONE}"

        rows = []
        for s in (ci[0], ci[len(ci) // 2], ci[-1]):
            rows.append((fq(s), "A", "NOERROR", [s["ip"]]))
        s = ci[7]
        rows.append((f"_http._tcp.{fq(s)}", "SRV", "NOERROR", [f"0 100 {SVC_PORT} {fq(s)}."]))
        rows.append((fq(s), "AAAA", "NOERROR", []))
        h = hl[len(hl) // 3]
        rows.append((fq(h), "A", "NOERROR", sorted(ip for _, ip in h["endpoints"])))
        w = 100 // len(h["endpoints"])
        rows.append((f"_http._tcp.{fq(h)}", "SRV", "NOERROR",
                     sorted(f"0 {w} {EP_PORT} {host}.{fq(h)}." for host, _ in h["endpoints"])))
        host, ip = h["endpoints"][1]
        rows.append((f"{host}.{fq(h)}", "A", "NOERROR", [ip]))
        rows.append((ZONE, "NS", "NOERROR", [f"ns.dns.{ZONE}."]))
        rows.append((f"www.example.com.{h['ns']}.svc.{ZONE}", "A", "NXDOMAIN", []))
        rows.append((f"www.example.com.svc.{ZONE}", "AAAA", "NXDOMAIN", []))
        rows.append((f"www.example.com.{ZONE}", "A", "NXDOMAIN", []))
        rows.append((f"nope.{fq(s)}", "A", "NXDOMAIN", []))
        with open(path, "w") as f:
            for qname, qtype, rcode, answers in rows:
                f.write(f"{qname}\t{qtype}\t{rcode}\t{'|'.join(answers)}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, nargs="?", default=10000, help="number of services (default 10000)")
    ap.add_argument("outdir")
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--queries", type=int, default=100000, help="lines per query file")
    ap.add_argument("--headless-services", type=int, default=0, help="extra headless services (scale axis)")
    ap.add_argument("--headless-endpoints", type=int, default=0, help="endpoints of each of those")
    ap.add_argument("--pods", type=int, default=0, help="running pods (scale axis)")
    a = ap.parse_args()
    if (a.headless_services > 0) != (a.headless_endpoints > 0):
        sys.exit("gen_cluster.py: --headless-services and --headless-endpoints go together")
    for sub in ("manifests", "zones"):
        os.makedirs(os.path.join(a.outdir, sub), exist_ok=True)
    c = Cluster(a.n, a.namespaces, a.headless_services, a.headless_endpoints, a.pods)
    c.write_manifests(os.path.join(a.outdir, "manifests", "cluster.yaml"))
    if c.big:
        c.write_big_headless(os.path.join(a.outdir, "manifests", "headless.yaml"))
    if c.pods:
        c.write_pods(os.path.join(a.outdir, "manifests", "pods.yaml"))
    c.write_probe(os.path.join(a.outdir, "probe.tsv"))
    records = c.write_zones(os.path.join(a.outdir, "zones", f"{ZONE}.zone"),
                            os.path.join(a.outdir, "zones", "in-addr.arpa.zone"))
    c.write_queries(os.path.join(a.outdir, "queries-hit.txt"), os.path.join(a.outdir, "queries-nx.txt"),
                    a.queries, random.Random(a.seed))
    c.write_expected(os.path.join(a.outdir, "expected.tsv"))
    headless = sum(1 for s in c.services if s["headless"])
    with open(os.path.join(a.outdir, "summary.txt"), "w") as f:
        f.write(f"services={a.n} headless={headless} namespaces={len(c.namespaces)} "
                f"endpoints={headless * ENDPOINTS_PER_HEADLESS} zone_records~{records}")
        if c.big or c.pods:
            f.write(f" big_headless={len(c.big)}x{a.headless_endpoints} pods={len(c.pods)}")
        f.write("\n")


if __name__ == "__main__":
    main()
