#!/usr/bin/env bash
# Probes are served whatever other HTTP clients do (issue 11 #4): hundreds of connections trickling a header
# line every second from many loopback addresses, TLS connections doing the same on the webhook port, and idle
# keep-alives; meanwhile /health and a webhook review are asked every 0.5 s with a 1 s timeout and must all
# be answered. Before, 500 such connections made /health time out 16/16 and 4 idle keep-alives delayed it 4 s
# (one thread per connection in a pool of 4). Loopback only (127.0.0.1–127.0.0.51).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"
need_tool openssl openssl
need_tool python3 python3

T=$WORK/tls
mkdir -p "$T"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=clusterdns-webhook -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/tls.key" -out "$T/tls.crt" >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl"; }

ops_start slow --source "file:$EXAMPLES" --webhook 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
WEBHOOK_PORT=$(grep -Eo 'webhook on https://127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
[ -n "$WEBHOOK_PORT" ] || { cat "$SRV_LOG"; die "no webhook port in the log"; }
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready" 50 0.1 ready || die "never ready"

out=$(timeout 60 python3 "$(dirname "${BASH_SOURCE[0]}")/slow_http_clients.py" --port "$HTTP_PORT" \
  --webhook-port "$WEBHOOK_PORT" --slow 400 --slow-webhook 100 --idle 4 --sources 50 --interval 1 --duration 6 2>&1)
rc=$?
echo "$out" | sed 's/^/     /'
expect_eq "every probe answered within 1 s while 500 slow and 4 idle connections are held" 0 "$rc"
expect_match "/health answered" 'health ok=([0-9]+)/\1 ' "$out"
expect_match "the webhook answered" 'webhook ok=([0-9]+)/\1 ' "$out"
kill -0 "$SRV_PID" 2>/dev/null && ok "clusterdns still running" || bad "clusterdns died"
# DNS kept answering throughout.
expect_match "DNS still answers" 'status: NOERROR' "$(q A my-nginx.default.svc.cluster.local)"
finish
