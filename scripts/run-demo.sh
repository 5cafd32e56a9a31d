#!/usr/bin/env bash
# `make run`: serves the demo cluster in examples/ on 127.0.0.1:PORT (UDP and TCP) until Ctrl-C.
set -euo pipefail
build=${1:-build}
port=${2:-5353}
# Forwarding is off unless asked for (UPSTREAM=1.1.1.1 make run): the demo never queries a resolver by surprise.
upstream=${UPSTREAM:-none}
upstream_note="forwarding off; UPSTREAM=ADDR make run forwards them"
[ "$upstream" = none ] || upstream_note="forwarded to $upstream"
http_port=${HTTP_PORT:-9153}
http=(--http "127.0.0.1:$http_port")
http_note="metrics and probes: curl http://127.0.0.1:$http_port/metrics"
if command -v ss >/dev/null && [ -n "$(ss -Hltn "sport = :$http_port" 2>/dev/null)" ]; then
  http=(--http none)
  http_note="port $http_port is taken, so /metrics is off (HTTP_PORT=N make run picks another)"
fi
cd "$(dirname "$0")/.."
cat <<MSG

clusterdns is serving the demo cluster (examples/) on 127.0.0.1:$port, UDP and TCP. Try, in another terminal:

  dig @127.0.0.1 -p $port my-nginx.default.svc.cluster.local
  dig @127.0.0.1 -p $port -x 10.0.162.149
  dig @127.0.0.1 -p $port _http._tcp.my-nginx.default.svc.cluster.local SRV
  dig @127.0.0.1 -p $port web.default.svc.cluster.local
  dig @127.0.0.1 -p $port dns-version.cluster.local TXT
  nslookup -port=$port kube-dns.kube-system.svc.cluster.local 127.0.0.1

Edit a file in examples/ and ask again: the answer follows within 100 ms. Ctrl-C stops the server.
Names outside cluster.local: $upstream_note; $http_note.

MSG
listen=(--listen "127.0.0.1:$port")
# IPv6 loopback too, where the machine has it.
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then listen+=(--listen "[::1]:$port"); fi
exec "$build/clusterdns" --source file:examples/ "${listen[@]}" --upstream "$upstream" "${http[@]}"
