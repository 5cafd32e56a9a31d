#!/usr/bin/env python3
"""Prints the benchmark summary (markdown tables) from bench/run.sh's results.tsv and info.tsv.

usage: summarize.py RESULTS_TSV INFO_TSV
"""
import csv
import statistics
import sys
from collections import defaultdict

EXPECTED_RCODE = {"hit": "NOERROR", "nx": "NXDOMAIN"}
MIX_TITLE = {
    "hit": "hit mix (70% A ClusterIP, 10% SRV, 10% headless A, 10% AAAA NODATA)",
    "nx": "NXDOMAIN mix (search-path expansions)",
}


def med(values):
    return statistics.median(values) if values else float("nan")


def main() -> None:
    results_path, info_path = sys.argv[1], sys.argv[2]
    with open(results_path) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    info = defaultdict(list)
    with open(info_path) as f:
        for line in f:
            key, who, value = line.rstrip("\n").split("\t", 2)
            info[(key, who)].append(value)

    servers = list(dict.fromkeys(r["server"] for r in rows))
    mixes = list(dict.fromkeys(r["mix"] for r in rows))
    by = defaultdict(list)
    for r in rows:
        by[(r["mix"], r["server"])].append(r)

    warnings = []
    print("## Results (medians over rounds; one worker thread per server, pinned to one core)\n")
    for cfg in info.get(("config", "all"), []):
        print(f"Config: {cfg}\n")
    for b in info.get(("binary", "clusterdns"), []):
        print(f"clusterdns binary: {b}\n")
    for mix in mixes:
        print(f"### {MIX_TITLE.get(mix, mix)}\n")
        print("| server | queries/s (median) | runs (q/s) | lost (median) | lost per run | avg latency ms "
              "| response bytes | server CPU % | server CPU µs/query | dnsperf CPU % | limited by |")
        print("|---|---:|---|---:|---|---:|---:|---:|---:|---:|---|")
        medians, costs = {}, {}
        for s in servers:
            rs = sorted(by[(mix, s)], key=lambda r: int(r["round"]))
            if not rs:
                continue
            qps = [float(r["qps"]) for r in rs]
            lost = [int(r["lost"]) for r in rs]
            medians[s] = med(qps)
            costs[s] = med([float(r["server_us_per_query"]) for r in rs])
            scpu = med([float(r["server_cpu_pct"]) for r in rs])
            ccpu = med([float(r["dnsperf_cpu_pct"]) for r in rs])
            bound = "server" if scpu >= 90 else "dnsperf" if ccpu >= 90 else "neither (scheduling/noise)"
            print(f"| {s} | {med(qps):,.0f} | {' / '.join(f'{q:,.0f}' for q in qps)} | {med(lost):,.0f} "
                  f"| {' / '.join(str(x) for x in lost)} | {med([float(r['avg_lat_ms']) for r in rs]):.3f} "
                  f"| {rs[0]['resp_bytes']} | {med([float(r['server_cpu_pct']) for r in rs]):.0f} | {costs[s]:.2f} "
                  f"| {ccpu:.0f} | {bound} |")
            want = EXPECTED_RCODE.get(mix)
            for r in rs:
                if want and (not r["rcodes"].startswith(want) or "," in r["rcodes"]):
                    warnings.append(f"{mix} round {r['round']} {s}: response codes {r['rcodes']} (expected only {want})")
                if int(r["lost"]) > 0:
                    warnings.append(f"{mix} round {r['round']} {s}: {r['lost']} of {r['sent']} queries lost "
                                    f"({r['rcvbuf_drops']} UDP receive-buffer drops system-wide during the run)")
            if len({r["resp_bytes"] for r in rs}) > 1:
                warnings.append(f"{mix} {s}: average response size varies between runs")
        if "clusterdns" in medians:
            ratios = [f"clusterdns/{s} = {medians['clusterdns'] / medians[s]:.2f}"
                      for s in servers if s != "clusterdns" and medians.get(s)]
            if ratios:
                print(f"\nRatios of median queries/s: {', '.join(ratios)}")
            cr = [f"clusterdns/{s} = {costs['clusterdns'] / costs[s]:.2f}"
                  for s in servers if s != "clusterdns" and costs.get(s)]
            if cr:
                print(f"\nRatios of median server CPU per query (lower is better): {', '.join(cr)}")
        print()

    print("'limited by': the side whose CPU was >= 90% busy. When dnsperf is the limit, queries/s understates the "
          "gap between servers and 'server CPU µs/query' (server CPU time / answered queries) is the fairer figure.\n")
    print("### Startup and memory (after loading, and after all runs)\n")
    print("| server | ready after (ms) | idle after (ms) | RSS loaded (KiB) | PSS loaded (KiB) | RSS after runs (KiB) "
          "| processes | threads |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in servers:
        ready = info.get(("ready_ms", s), ["?"])[0]
        settled = info.get(("settled_ms", s), ["?"])[0]
        loaded = (info.get(("mem_loaded", s), ["? ? ?"])[0].split() + ["?"] * 3)[:3]
        after = (info.get(("mem_after", s), ["? ? ?"])[0].split() + ["?"] * 3)[:3]
        threads = info.get(("threads", s), ["?"])[0]
        print(f"| {s} | {ready} | {settled} | {loaded[0]} | {loaded[1]} | {after[0]} | {loaded[2]} | {threads} |")
    print("\n'ready after' = from process start until the last-generated service answers correctly (polled with dig "
          "every ~20 ms); 'idle after' = until its CPU use dropped below 2% (memory is measured then). RSS sums the process tree (NSD forks a server and an xfrd child that share pages; PSS "
          "does not double-count them).")
    rb = [f"{s} {info[('rcvbuf', s)][0]}" for s in servers if info.get(("rcvbuf", s))]
    if rb:
        print(f"\nUDP socket receive buffers (ss -m): {'; '.join(rb)}")
    for line in info.get(("loaded", "clusterdns"), []):
        print(f"\nclusterdns: {line.strip()}")
    snaps = info.get(("snapshot", "clusterdns"), [])
    for line in snaps:
        print(f"\nclusterdns: {line.strip()}")
    if len(snaps) > 1:
        warnings.append(f"clusterdns built {len(snaps)} snapshots from one unchanged manifest load")

    if warnings:
        print("\n### Warnings\n")
        for w in warnings:
            print(f"- {w}")


if __name__ == "__main__":
    main()
