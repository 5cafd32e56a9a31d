#!/usr/bin/env python3
"""Asks every server the same sample of queries (one `dig -f` batch each, always @127.0.0.1) and reports
where the answers differ: response code and answer RRset (TTL ignored, RRs sorted).

usage: compare_answers.py QUERY_FILE COUNT SEED NAME=PORT [NAME=PORT ...]
       compare_answers.py --expected EXPECTED_TSV NAME=PORT [NAME=PORT ...]
The first form exits 1 when any server differs from the first one, or leaves a query unanswered. The second
checks every server against gen_cluster.py's expected.tsv (qname, qtype, rcode, `dig +short` lines joined by |).
"""
import random
import re
import subprocess
import sys
import tempfile

STATUS = re.compile(r"->>HEADER<<- opcode: \w+, status: (\w+)")


def ask(port: int, queries: list) -> list:
    with tempfile.NamedTemporaryFile("w", suffix=".dig") as batch:
        batch.write("".join(f"{q} {t}\n" for q, t in queries))
        batch.flush()
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2", "+norec", "+noedns",
             "+noall", "+comments", "+answer", "-f", batch.name],
            capture_output=True, text=True, timeout=300).stdout
    results, cur = [], None
    for line in out.splitlines():
        m = STATUS.search(line)
        if m:
            cur = [m.group(1), []]
            results.append(cur)
        elif cur is not None and line and not line.startswith(";"):
            f = line.split()
            if len(f) >= 5:
                cur[1].append(" ".join([f[0].lower(), f[3]] + f[4:]))  # drop TTL and class
    return [(status, tuple(sorted(rrs))) for status, rrs in results]


def check_expected(path: str, servers: list) -> None:
    rows = []
    with open(path) as f:
        for line in f:
            qname, qtype, rcode, answers = line.rstrip("\n").split("\t")
            rows.append((qname, qtype, rcode, tuple(sorted(a for a in answers.split("|") if a))))
    bad = 0
    for name, port in servers:
        got = ask(port, [(q, t) for q, t, _, _ in rows])
        if len(got) != len(rows):
            print(f"{name}: answered {len(got)} of {len(rows)} sample queries (timeouts?)")
            bad += 1
            continue
        for (q, t, rcode, want), (status, rrs) in zip(rows, got):
            rdata = tuple(sorted(rr.split(" ", 2)[2] for rr in rrs if rr.split(" ")[1] == t))
            if (status, rdata) != (rcode, want):
                print(f"WRONG ANSWER from {name}: {q} {t} -> {status} {list(rdata)}, expected {rcode} {list(want)}")
                bad += 1
    print(f"checked {len(rows)} sample queries against the generated data on {', '.join(n for n, _ in servers)}: "
          f"{'all correct' if not bad else f'{bad} wrong'}")
    sys.exit(1 if bad else 0)


def main() -> None:
    if sys.argv[1] == "--expected":
        check_expected(sys.argv[2], [(a.split("=")[0], int(a.split("=")[1])) for a in sys.argv[3:]])
    qfile, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    servers = [(a.split("=")[0], int(a.split("=")[1])) for a in sys.argv[4:]]
    with open(qfile) as f:
        lines = [l.split() for l in f if l.strip()]
    queries = random.Random(seed).sample(lines, min(count, len(lines)))
    answers = {name: ask(port, queries) for name, port in servers}
    bad = 0
    ref_name = servers[0][0]
    for name, _ in servers:
        if len(answers[name]) != len(queries):
            print(f"{name}: answered {len(answers[name])} of {len(queries)} queries (timeouts?)")
            bad = 1
    for i, (q, t) in enumerate(queries):
        ref = answers[ref_name][i] if i < len(answers[ref_name]) else None
        for name, _ in servers[1:]:
            got = answers[name][i] if i < len(answers[name]) else None
            if got != ref:
                bad += 1
                if bad <= 10:
                    print(f"DIFFERENT: {q} {t}: {ref_name} {ref} vs {name} {got}")
    print(f"compared {len(queries)} queries from {qfile.rsplit('/', 1)[-1]} across "
          f"{', '.join(n for n, _ in servers)}: {'all identical' if not bad else f'{bad} differences'}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
