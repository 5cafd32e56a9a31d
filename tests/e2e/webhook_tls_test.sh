#!/usr/bin/env bash
# The envinject mutating admission webhook over TLS: a self-signed CA and serving certificate made here with
# the openssl CLI; a real-format admission.k8s.io/v1 AdmissionReview (the shape of the Kubernetes API
# reference's example, with userInfo, requestKind, options, ...) for a Pod CREATE is POSTed to /mutate; the
# returned base64 JSONPatch is applied to the pod with an RFC 6902 implementation written here, and the
# resulting containers' env is checked (the seed's variables, the container's own value winning, init
# containers, enableServiceLinks: false). Malformed reviews are allowed with a warning, undecodable bodies get
# 400. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"
need_tool openssl openssl

T=$WORK/tls
mkdir -p "$T"
(
  cd "$T" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=clusterdns-test-ca -keyout ca.key -out ca.crt
  openssl req -newkey rsa:2048 -nodes -subj /CN=clusterdns-webhook.kube-system.svc -keyout tls.key -out tls.csr
  printf 'subjectAltName=DNS:clusterdns-webhook.kube-system.svc,IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out tls.crt
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout other.key -out other.crt
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl"; }
ok "self-signed CA and serving certificate (SAN IP:127.0.0.1)"

ops_start webhook --source "file:$EXAMPLES" --webhook 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/tls.key"
WEBHOOK_PORT=$(grep -Eo 'webhook on https://127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
[ -n "$WEBHOOK_PORT" ] || { cat "$SRV_LOG"; die "no webhook port in the log"; }
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready" 50 0.1 ready || die "never ready"

# post FILE [CURL ARGS]: POST the review to /mutate over TLS, verifying the server against our CA.
post() {
  local f=$1
  shift
  curl -sS --max-time 5 --cacert "$T/ca.crt" -H 'Content-Type: application/json' --data-binary "@$f" "$@" \
    "https://127.0.0.1:$WEBHOOK_PORT/mutate?timeout=5s"
}

cat >"$WORK/review.json" <<'JSON'
{
  "apiVersion": "admission.k8s.io/v1",
  "kind": "AdmissionReview",
  "request": {
    "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
    "kind": {"group": "", "version": "v1", "kind": "Pod"},
    "resource": {"group": "", "version": "v1", "resource": "pods"},
    "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
    "requestResource": {"group": "", "version": "v1", "resource": "pods"},
    "name": "web-client",
    "namespace": "default",
    "operation": "CREATE",
    "userInfo": {
      "username": "admin",
      "uid": "014fbff9a07c",
      "groups": ["system:authenticated", "my-admin-group"],
      "extra": {"some-key": ["some-value1", "some-value2"]}
    },
    "object": {
      "apiVersion": "v1",
      "kind": "Pod",
      "metadata": {"name": "web-client", "namespace": "default", "labels": {"app": "web-client"}},
      "spec": {
        "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["true"]}],
        "containers": [
          {"name": "app", "image": "nginx:1.25",
           "env": [{"name": "MY_NGINX_SERVICE_HOST", "value": "overridden"},
                   {"name": "UPSTREAM", "value": "$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"}]},
          {"name": "sidecar", "image": "busybox:1.36"}
        ]
      }
    },
    "oldObject": null,
    "dryRun": false,
    "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
  }
}
JSON

# RFC 6902 (add, remove, replace, test) with RFC 6901 pointers, applied to the review's pod.
cat >"$WORK/apply_patch.py" <<'PY'
import base64, json, sys
review, response = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
pod = review["request"]["object"]
patch = json.loads(base64.b64decode(response["response"]["patch"]))
def walk(doc, pointer):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    for p in parts[:-1]:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc, parts[-1]
for op in patch:
    parent, key = walk(pod, op["path"])
    if op["op"] == "add":
        if isinstance(parent, list): parent.insert(len(parent) if key == "-" else int(key), op["value"])
        else: parent[key] = op["value"]
    elif op["op"] == "replace": parent[int(key) if isinstance(parent, list) else key] = op["value"]
    elif op["op"] == "remove": del parent[int(key) if isinstance(parent, list) else key]
    elif op["op"] == "test": assert parent[int(key) if isinstance(parent, list) else key] == op["value"]
    else: sys.exit("unexpected op " + op["op"])
json.dump(pod, open(sys.argv[3], "w"), indent=1)
for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
    for e in c.get("env", []):
        print(c["name"], e["name"] + "=" + e.get("value", ""))
PY

post "$WORK/review.json" -o "$WORK/response.json" || die "POST /mutate over TLS failed"
resp=$(cat "$WORK/response.json")
expect_eq "response apiVersion/kind" "admission.k8s.io/v1 AdmissionReview" \
  "$(jq -r '.apiVersion + " " + .kind' <<<"$resp")"
expect_eq "response uid = request uid" 705ab4f5-6393-11e8-b7cc-42010a800002 "$(jq -r .response.uid <<<"$resp")"
expect_eq "allowed" true "$(jq -r .response.allowed <<<"$resp")"
expect_eq "patchType" JSONPatch "$(jq -r .response.patchType <<<"$resp")"
expect_eq "no warnings" null "$(jq -r .response.warnings <<<"$resp")"
python3 "$WORK/apply_patch.py" "$WORK/review.json" "$WORK/response.json" "$WORK/patched.json" >"$WORK/env.txt" ||
  die "applying the JSONPatch failed"
env_of() { awk -v c="$1" '$1 == c { print $2 }' "$WORK/env.txt"; }
for c in init app sidecar; do
  for v in MY_NGINX_SERVICE_PORT=80 MY_NGINX_PORT=tcp://10.0.162.149:80 KUBERNETES_SERVICE_HOST=10.0.0.1 \
           KUBERNETES_SERVICE_PORT=443 KUBERNETES_SERVICE_PORT_HTTPS=443 MY_NGINX_PORT_80_TCP_ADDR=10.0.162.149; do
    expect_match "$c: $v" "^$v\$" "$(env_of $c)"
  done
done
expect_match "sidecar: MY_NGINX_SERVICE_HOST from the registry" '^MY_NGINX_SERVICE_HOST=10\.0\.162\.149$' "$(env_of sidecar)"
expect_eq "app: its own MY_NGINX_SERVICE_HOST wins (once)" "MY_NGINX_SERVICE_HOST=overridden" "$(env_of app | grep '^MY_NGINX_SERVICE_HOST=')"
# The variables go before the container's own, so the kubelet expands $(KUBERNETES_SERVICE_HOST) against them.
expect_eq "app: service variables precede the container's own" "UPSTREAM=\$(KUBERNETES_SERVICE_HOST):\$(KUBERNETES_SERVICE_PORT)" \
  "$(env_of app | tail -n1)"
expect_eq "app: everything else untouched" '["nginx:1.25","app"]' "$(jq -c '[.spec.containers[0].image, .spec.containers[0].name]' "$WORK/patched.json")"
if [ -x "$BUILD_DIR/envinject" ]; then
  expect_eq "CLI and webhook agree (sidecar env = envinject --namespace default)" \
    "$("$BUILD_DIR/envinject" --source "file:$EXAMPLES" --namespace default 2>/dev/null | sort)" "$(env_of sidecar | sort)"
fi

# enableServiceLinks: false — only the master service's variables.
jq '.request.object.spec.enableServiceLinks = false | .request.uid = "u2"' "$WORK/review.json" >"$WORK/review2.json"
post "$WORK/review2.json" -o "$WORK/response2.json"
python3 "$WORK/apply_patch.py" "$WORK/review2.json" "$WORK/response2.json" "$WORK/patched2.json" >"$WORK/env2.txt"
expect_eq "enableServiceLinks false: uid" u2 "$(jq -r .response.uid "$WORK/response2.json")"
expect_eq "enableServiceLinks false: only KUBERNETES_* added to sidecar" "" \
  "$(awk '$1 == "sidecar" { print $2 }' "$WORK/env2.txt" | grep -v '^KUBERNETES_')"

# Not a Pod CREATE: allowed, nothing changed, no warning.
jq '.request.operation = "UPDATE"' "$WORK/review.json" >"$WORK/update.json"
resp=$(post "$WORK/update.json")
expect_eq "UPDATE: allowed without a patch" "true null null" "$(jq -r '[.response.allowed, .response.patch, .response.warnings] | map(tostring) | join(" ")' <<<"$resp")"

# Malformed reviews: allowed, with a warning, and logged; never a failure.
printf '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u3","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"default","object":{"spec":{"containers":7}}}}' >"$WORK/bad.json"
resp=$(post "$WORK/bad.json")
expect_eq "malformed pod: allowed" "u3 true" "$(jq -r '.response.uid + " " + (.response.allowed | tostring)' <<<"$resp")"
expect_match "malformed pod: warning" 'clusterdns envinject: the Pod was not understood: spec.containers' "$(jq -r '.response.warnings[0]' <<<"$resp")"
printf 'this is not JSON' >"$WORK/garbage.json"
resp=$(post "$WORK/garbage.json" -w '\n%{http_code}')
expect_eq "garbage body: 400 (it cannot come from an API server)" 400 "${resp##*$'\n'}"
expect_match "garbage body: the reason" '"error":"the AdmissionReview was refused: not JSON' "$resp"
expect_match "malformed reviews are logged" 'envinject webhook: the Pod was not understood' "$(cat "$SRV_LOG")"

# TLS really is required and verified.
curl -sS --max-time 5 --cacert "$T/other.crt" -d @"$WORK/review.json" "https://127.0.0.1:$WEBHOOK_PORT/mutate" >/dev/null 2>&1
expect_eq "a client trusting another CA is refused (curl 60)" 60 "$?"
out=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -d @"$WORK/review.json" "http://127.0.0.1:$WEBHOOK_PORT/mutate")
expect_eq "plain HTTP on the webhook port gets no answer" 000 "$out"
out=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -d @"$WORK/review.json" "http://127.0.0.1:$HTTP_PORT/mutate")
expect_eq "/mutate is not served on the plain HTTP port" 404 "$out"

# A bad key is refused at start, in one line.
err=$(timeout 10 "$CLUSTERDNS" --source "file:$EXAMPLES" --listen 127.0.0.1:0 --http none --upstream none \
  --webhook 127.0.0.1:0 --tls-cert "$T/tls.crt" --tls-key "$T/other.key" 2>&1 >/dev/null)
expect_eq "mismatched key: exit 1" 1 "$?"
expect_eq "mismatched key: one clear line" "clusterdns: --tls-key $T/other.key does not match --tls-cert $T/tls.crt" \
  "$(grep '^clusterdns:' <<<"$err")"
finish
