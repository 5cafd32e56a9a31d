#!/usr/bin/env bash
# /metrics after a known set of dig queries: coredns_dns_* counts by type, rcode and proto; promtool check
# metrics; /health, /ready, kube-dns's /readiness and /healthcheck/kubedns; /v1/env equal to the envinject CLI;
# the sampled query log in JSON; coredns_kubernetes_dns_programming_duration_seconds for a slice stamped by
# its "endpoints controller" (the last-change-trigger-time annotation). Loopback only; --upstream none, so nothing is forwarded.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

cp -r "$EXAMPLES" "$WORK/registry"  # a copy: the programming-latency check below adds a file
ops_start metrics --source "file:$WORK/registry" --query-log 1 --log-format json
# Wait for the registry: the probes must be 200 before the known queries start.
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready 200" 50 0.1 ready || { cat "$SRV_LOG"; die "never ready"; }

S='server="dns://127.0.0.1:'$SRV_PORT'",zone="\.",view=""'
req() { metric "^coredns_dns_requests_total\\{$S,proto=\"$1\",family=\"1\",type=\"$2\"\\}$"; }
resp() { metric "^coredns_dns_responses_total\\{$S,rcode=\"$1\",plugin=\"kubernetes\"\\}$"; }
declare -A before
for k in "udp A" "udp AAAA" "udp SRV" "udp PTR" "udp other" "tcp A"; do before[$k]=$(req $k); done
for r in NOERROR NXDOMAIN REFUSED; do before[$r]=$(resp $r); done

# The known set: 10 UDP and 3 TCP queries.
for i in 1 2 3; do q +short A my-nginx.default.svc.cluster.local >/dev/null; done      # udp A NOERROR x3
for i in 1 2; do q +short AAAA my-nginx.default.svc.cluster.local >/dev/null; done     # udp AAAA NOERROR (no data) x2
q +short SRV _http._tcp.my-nginx.default.svc.cluster.local >/dev/null                   # udp SRV NOERROR
q +short -x 10.0.162.149 >/dev/null                                                      # udp PTR NOERROR
q +short A nope.default.svc.cluster.local >/dev/null                                     # udp A NXDOMAIN
q +short TYPE65534 my-nginx.default.svc.cluster.local >/dev/null                         # udp other NOERROR
q +short A www.example.com >/dev/null                                                    # udp A REFUSED (no upstream)
for i in 1 2; do q +tcp +short A my-nginx.default.svc.cluster.local >/dev/null; done  # tcp A NOERROR x2
q +tcp +short A nope.default.svc.cluster.local >/dev/null                                # tcp A NXDOMAIN

d() { echo $(($2 - ${before[$1]})); }
expect_eq "requests udp A"     5 "$(d 'udp A' "$(req udp A)")"
expect_eq "requests udp AAAA"  2 "$(d 'udp AAAA' "$(req udp AAAA)")"
expect_eq "requests udp SRV"   1 "$(d 'udp SRV' "$(req udp SRV)")"
expect_eq "requests udp PTR"   1 "$(d 'udp PTR' "$(req udp PTR)")"
expect_eq "requests udp other" 1 "$(d 'udp other' "$(req udp other)")"
expect_eq "requests tcp A"     3 "$(d 'tcp A' "$(req tcp A)")"
expect_eq "responses NOERROR" 10 "$(d NOERROR "$(resp NOERROR)")"
expect_eq "responses NXDOMAIN" 2 "$(d NXDOMAIN "$(resp NXDOMAIN)")"
expect_eq "responses REFUSED"  1 "$(d REFUSED "$(resp REFUSED)")"
expect_eq "duration histogram +Inf = count (type A)" \
  "$(metric "^coredns_dns_request_duration_seconds_count\\{$S,type=\"A\"\\}$")" \
  "$(metric "^coredns_dns_request_duration_seconds_bucket\\{$S,type=\"A\",le=\"\\+Inf\"\\}$")"
expect_eq "tcp request sizes counted" "$(req tcp A)" "$(metric "^coredns_dns_request_size_bytes_count\\{$S,proto=\"tcp\"\\}$")"
expect_eq "registry services" 7 "$(metric '^clusterdns_registry_objects\{kind="service"\}$')"
expect_eq "source synced" 1 "$(metric '^clusterdns_source_synced\{source="file:')"
expect_eq "panics" 0 "$(metric '^coredns_panics_total$')"
expect_eq "reload failures" 0 "$(metric '^coredns_reload_failed_total$')"
expect_eq "build info" 1 "$(metric '^coredns_build_info\{version="0\.1\.0"')"

http_get /metrics
printf '%s\n' "$HTTP_BODY" >"$WORK/metrics.txt"
if command -v promtool >/dev/null; then
  if out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1); then ok "promtool check metrics"; else bad "promtool check metrics"; echo "$out"; fi
else
  bad "promtool not found (Debian package prometheus; scripts/install-deps.sh installs it)"
fi
echo "     /metrics sample:"
grep -E '^coredns_dns_(requests|responses)_total|^coredns_build_info|^clusterdns_(snapshot_names|registry_objects|source_synced)' \
  "$WORK/metrics.txt" | sed 's/^/       /'

# The limits' counters: DNS TCP connections the server closed itself, the HTTP port's refusals.
expect_eq "dns tcp evicted" 0 "$(metric '^clusterdns_dns_tcp_connections_closed_total\{reason="evicted"\}$')"
expect_eq "dns tcp timed out" 0 "$(metric '^clusterdns_dns_tcp_connections_closed_total\{reason="timed_out"\}$')"
expect_eq "http 431 before" 0 "$(metric '^clusterdns_http_requests_refused_total\{server="http",reason="too_large"\}$')"
big=$(printf 'a%.0s' $(seq 1 20000))
code=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' -H "X-Big: $big" "http://127.0.0.1:$HTTP_PORT/health")
expect_eq "a 20 kB header" 431 "$code"
expect_eq "http 431 counted" 1 "$(metric '^clusterdns_http_requests_refused_total\{server="http",reason="too_large"\}$')"
expect_eq "webhook port absent: zero" 0 "$(metric '^clusterdns_http_connections_refused_total\{server="webhook"\}$')"

http_get /health;               expect_eq "/health" "200 OK" "$HTTP_CODE $HTTP_BODY"
http_get /ready;                expect_eq "/ready" "200 OK" "$HTTP_CODE $HTTP_BODY"
http_get /readiness;            expect_eq "/readiness (kube-dns)" "200 OK" "$HTTP_CODE $HTTP_BODY"
http_get /healthcheck/kubedns;  expect_eq "/healthcheck/kubedns (kube-dns)" "200 OK" "$HTTP_CODE $HTTP_BODY"
http_get /nope;                 expect_eq "unknown path" 404 "$HTTP_CODE"

# /v1/env: the same list as `envinject --format json`.
http_get "/v1/env?namespace=default"
expect_eq "/v1/env status" 200 "$HTTP_CODE"
printf '%s\n' "$HTTP_BODY" >"$WORK/env.json"
if [ -x "$BUILD_DIR/envinject" ]; then
  "$BUILD_DIR/envinject" --source "file:$EXAMPLES" --namespace default --format json >"$WORK/cli.json" 2>/dev/null
  expect_eq "/v1/env equals the envinject CLI" "$(python3 -m json.tool --sort-keys "$WORK/cli.json")" \
    "$(python3 -m json.tool --sort-keys "$WORK/env.json")"
fi
expect_match "/v1/env has the seed's variable" '"MY_NGINX_SERVICE_HOST"' "$HTTP_BODY"
http_get "/v1/env?namespace=default&enableServiceLinks=false"
expect_nomatch "/v1/env enableServiceLinks=false drops MY_NGINX" 'MY_NGINX' "$HTTP_BODY"
expect_match "/v1/env enableServiceLinks=false keeps KUBERNETES" '"KUBERNETES_SERVICE_HOST"' "$HTTP_BODY"
http_get "/v1/env"
expect_eq "/v1/env without a namespace" 400 "$HTTP_CODE"

# The sampled query log (rate 1: every query), one JSON object per line, written by the logger thread.
wait_for "query log line" 30 0.1 grep -q '"logger":"query".*nope\.default\.svc\.cluster\.local\. tcp' "$SRV_LOG"
line=$(grep '"logger":"query"' "$SRV_LOG" | grep -m1 'NXDOMAIN')
expect_match "query log: JSON with the CoreDNS-style line" \
  '^\{"time":"[^"]+","level":"info","logger":"query","msg":"127\.0\.0\.1:[0-9]+ - [0-9]+ \\"A IN nope\.default\.svc\.cluster\.local\. (udp|tcp) [0-9]+\\" NXDOMAIN [0-9]+ [0-9.]+s"\}$' "$line"
if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]' "$SRV_LOG"; then
  ok "every log line is valid JSON"
else
  bad "log lines are not all JSON"
fi

# DNS programming latency: a new EndpointSlice of my-nginx whose change the controller stamped just now.
programmed() { metric '^coredns_kubernetes_dns_programming_duration_seconds_count\{service_kind="cluster_ip"\}$'; }
expect_eq "programming latency: nothing observed at start" 0 "$(programmed)"
cat >"$WORK/registry/zz-programming.yaml" <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: my-nginx-stamped
  namespace: default
  labels: {kubernetes.io/service-name: my-nginx}
  annotations: {endpoints.kubernetes.io/last-change-trigger-time: "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"}
addressType: IPv4
endpoints: [{addresses: [10.244.9.9]}]
YAML
programmed_once() { [ "$(programmed)" = 1 ]; }
if wait_for "programming latency observed" 50 0.1 programmed_once; then
  ok "programming latency: the stamped slice observed once (cluster_ip)"
else
  bad "programming latency: count $(programmed), want 1"
fi
# That change rebuilt the snapshot: only the names it touched were compiled again.
names=$(metric '^clusterdns_snapshot_names$')
compiled=$(metric '^clusterdns_snapshot_names_compiled$')
if [ "${compiled:-0}" -gt 0 ] && [ "$compiled" -lt "${names:-0}" ]; then
  ok "the rebuild compiled $compiled of $names names, borrowing the rest"
else
  bad "snapshot names compiled: '$compiled' of '$names'"
fi
under_a_second=$(metric '^coredns_kubernetes_dns_programming_duration_seconds_bucket\{service_kind="cluster_ip",le="1\.024"\}$')
expect_eq "programming latency: under a second" 1 "$under_a_second"
finish
