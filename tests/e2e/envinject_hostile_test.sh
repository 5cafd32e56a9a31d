#!/usr/bin/env bash
# Hostile input to build/envinject --pod and to the server's /v1/env and /mutate (issue 11 #2, #9, #10): a
# 10,000-deep JSON pod, a value that is not UTF-8, wrongly typed fields, a 500,000-deep AdmissionReview and a
# registry name that tries to forge a log line. Each gets a one-line reason and exit 1 / 400 / a warning;
# never a crash (SIGSEGV, SIGABRT) or a 500, and the server keeps answering. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"
need_tool python3 python3
need_tool openssl openssl
BIN=$BUILD_DIR/envinject
[ -x "$BIN" ] || skip "$BIN not built"
SRC=file:$EXAMPLES/

# run_envinject FILE: sets RC and ERR (stderr); stdout to $WORK/out.
run_envinject() {
  timeout 20 "$BIN" --source "$SRC" --pod "$1" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  ERR=$(cat "$WORK/err")
}

python3 -c 'import sys; d=10000; sys.stdout.write("{\"kind\":\"Pod\",\"spec\":{\"containers\":[{\"name\":\"c\",\"x\":" + "["*d + "]"*d + "}]}}")' >"$WORK/deep.json"
run_envinject "$WORK/deep.json"
expect_eq "10,000-deep JSON pod: exit 1 (was a crash)" 1 "$RC"
expect_match "10,000-deep JSON pod: the reason" 'nests deeper than 64 levels' "$ERR"

printf '{"kind":"Pod","spec":{"containers":[{"name":"c","env":[{"name":"A","value":"\xff\xfe"}]}]}}' >"$WORK/latin1.json"
run_envinject "$WORK/latin1.json"
expect_eq "non-UTF-8 JSON value: exit 1" 1 "$RC"
expect_match "non-UTF-8 JSON value: the reason" 'not JSON: .*UTF-8' "$ERR"

printf 'kind: Pod\nspec:\n  containers:\n  - name: c\n    env:\n    - name: A\n      value: "caf\xe9"\n' >"$WORK/latin1.yaml"
run_envinject "$WORK/latin1.yaml"
expect_eq "non-UTF-8 YAML value: exit 1 (was SIGABRT)" 1 "$RC"
expect_match "non-UTF-8 YAML value: the reason" 'not valid UTF-8|not YAML' "$ERR"

printf '{"kind":"Pod","spec":{"enableServiceLinks":"yes","containers":[{"name":"c"}]}}' >"$WORK/typed.json"
run_envinject "$WORK/typed.json"
expect_eq "wrongly typed field: exit 1" 1 "$RC"
expect_match "wrongly typed field: the reason" 'spec.enableServiceLinks is not a boolean' "$ERR"

# The server: /v1/env and the webhook.
T=$WORK/tls
mkdir -p "$T"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hostile -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/tls.key" -out "$T/tls.crt" >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl"; }
M=$WORK/manifests
mkdir -p "$M"
cp "$EXAMPLES"/*.yaml "$M"/
ops_start hostile --source "file:$M" --webhook 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
WEBHOOK_PORT=$(grep -Eo 'webhook on https://127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready" 50 0.1 ready || die "never ready"
# A Service whose name tries to forge a log line and clear the terminal: refused (the last good registry keeps
# serving) and quoted in the log.
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: "evil\\n2026-01-01T00:00:00.000 info [discovery] forged\\u001b[2J"\n  namespace: default\nspec:\n  clusterIP: 10.0.99.99\n  ports:\n  - port: 80\n' >"$M/zz-evil.yaml"
quoted() { grep -q 'forged' "$SRV_LOG"; }
wait_for "the rejected manifest in the log" 50 0.1 quoted || bad "the evil manifest was not logged"

http_get '/v1/env?namespace=%ff%fe'
expect_eq "/v1/env with a non-UTF-8 namespace: 400 (was 500)" 400 "$HTTP_CODE"
http_get '/v1/env?namespace=default&enableServiceLinks=%ff'
expect_eq "/v1/env with a non-UTF-8 enableServiceLinks: 400 (was 500)" 400 "$HTTP_CODE"
python3 -c 'import json; json.loads(open(0).read())' <<<"$HTTP_BODY" && ok "the 400 body is valid JSON" || bad "invalid JSON: $HTTP_BODY"

python3 -c 'import sys; d=500000; sys.stdout.write("{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"u\",\"kind\":{\"group\":\"\",\"version\":\"v1\",\"kind\":\"Pod\"},\"namespace\":\"default\",\"operation\":\"CREATE\",\"object\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"x\":" + "["*d + "]"*d + "}]}}}}")' >"$WORK/deep-review.json"
code=$(curl -s --max-time 10 -k -H "Content-Type: application/json" -o "$WORK/deep-reply" -w '%{http_code}' --data-binary @"$WORK/deep-review.json" "https://127.0.0.1:$WEBHOOK_PORT/mutate")
expect_eq "500,000-deep AdmissionReview: 400 (was a SIGSEGV of the whole server)" 400 "$code"
expect_match "500,000-deep AdmissionReview: the reason" 'nests deeper than 64 levels' "$(cat "$WORK/deep-reply")"
printf '{"apiVersion":"admission.k8s.io/v1","kind":5,"request":{"uid":[]}}' >"$WORK/typed-review.json"
code=$(curl -s --max-time 5 -k -H "Content-Type: application/json" -o "$WORK/typed-reply" -w '%{http_code}' --data-binary @"$WORK/typed-review.json" "https://127.0.0.1:$WEBHOOK_PORT/mutate")
expect_eq "wrongly typed AdmissionReview: 200 allowed with a warning (was 500)" "200 true" "$code $(jq -r .response.allowed "$WORK/typed-reply")"
kill -0 "$SRV_PID" 2>/dev/null && ok "clusterdns still running" || bad "clusterdns died"
expect_match "DNS still answers" 'status: NOERROR' "$(q A my-nginx.default.svc.cluster.local)"

# The log: one line per message, no escape byte, the forged text inside the real line.
expect_nomatch "no forged line starts with the attacker's timestamp" '^2026-01-01T00:00:00.000' "$(cat "$SRV_LOG")"
if grep -q $'\x1b' "$SRV_LOG"; then bad "an ESC byte reached the log"; else ok "no ESC byte in the log"; fi
finish
