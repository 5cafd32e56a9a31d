#!/usr/bin/env bash
# build/envinject end to end on the demo manifests: the seed's five variables and their Docker-link set,
# --format json/shell, --no-service-links, -- COMMAND, --pod (the pod's own variable kept), and the one-line
# errors for a bad flag and a broken manifest. Exit 77 (skip) when the binary was not built.
set -uo pipefail

SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
BIN=$BUILD_DIR/envinject
SRC=file:$SOURCE_DIR/examples/

if [ -d "$BIN" ]; then
  echo "FAIL: $BIN is a directory (the envinject/ library's build dir), so the executable cannot be written there"
  exit 1
fi
if [ ! -x "$BIN" ]; then
  echo "SKIP: $BIN not built"
  exit 77
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail=0
check() {  # check DESCRIPTION COMMAND...: runs the command, reports
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
has_line() { grep -qxF -- "$2" "$1"; }

# 1. The seed's example, in env format.
"$BIN" --source "$SRC" --namespace default >"$WORK/env" 2>"$WORK/err"
check "env: exit 0" test $? -eq 0
check "env: nothing on stderr" test ! -s "$WORK/err"
for line in \
  MY_NGINX_SERVICE_HOST=10.0.162.149 MY_NGINX_SERVICE_PORT=80 KUBERNETES_SERVICE_HOST=10.0.0.1 \
  KUBERNETES_SERVICE_PORT=443 KUBERNETES_SERVICE_PORT_HTTPS=443 \
  MY_NGINX_PORT=tcp://10.0.162.149:80 MY_NGINX_PORT_80_TCP=tcp://10.0.162.149:80 MY_NGINX_PORT_80_TCP_PROTO=tcp \
  MY_NGINX_PORT_80_TCP_PORT=80 MY_NGINX_PORT_80_TCP_ADDR=10.0.162.149 \
  KUBERNETES_PORT=tcp://10.0.0.1:443 KUBERNETES_PORT_443_TCP=tcp://10.0.0.1:443 KUBERNETES_PORT_443_TCP_PROTO=tcp \
  KUBERNETES_PORT_443_TCP_PORT=443 KUBERNETES_PORT_443_TCP_ADDR=10.0.0.1; do
  check "env: $line" has_line "$WORK/env" "$line"
done
check "env: sorted by name" bash -c "cut -d= -f1 '$WORK/env' | LC_ALL=C sort -c"
check "env: other namespaces left out" bash -c "! grep -q '^KUBE_DNS_' '$WORK/env'"

# 2. --no-service-links: only default/kubernetes.
"$BIN" --source "$SRC" --namespace default --no-service-links >"$WORK/nolinks"
check "no-service-links: only KUBERNETES_*" bash -c "test -s '$WORK/nolinks' && ! grep -qv '^KUBERNETES_' '$WORK/nolinks'"

# 3. Formats: json parses and holds the same list; shell is sourceable.
"$BIN" --source "$SRC" --namespace default --format json >"$WORK/json"
check "json: parses" python3 -m json.tool "$WORK/json" /dev/null
check "json: same variables as env" bash -c "python3 -c 'import json,sys; [print(v[\"name\"]+\"=\"+v[\"value\"]) for v in json.load(open(sys.argv[1]))]' '$WORK/json' | diff - '$WORK/env'"
"$BIN" --source "$SRC" --namespace default --format shell >"$WORK/shell"
check "shell: sourced gives the same values" bash -c "env -i bash -c \"set -a; . '$WORK/shell'; env\" | grep -vE '^(PWD|SHLVL|_)=' | LC_ALL=C sort | diff - '$WORK/env'"
"$BIN" --source "$SRC" --namespace kube-system >"$WORK/ks"
check "kube-system: DNS first port is udp" has_line "$WORK/ks" "KUBE_DNS_PORT=udp://10.0.0.10:53"

# 4. -- COMMAND runs with the variables; the environment's own value wins. (A clean environment: CI may itself
# run in a pod with KUBERNETES_* set.)
env -i PATH="$PATH" MY_NGINX_SERVICE_PORT=8080 "$BIN" --source "$SRC" --namespace default -- env >"$WORK/cmd"
check "exec: MY_NGINX_SERVICE_HOST set" has_line "$WORK/cmd" "MY_NGINX_SERVICE_HOST=10.0.162.149"
check "exec: KUBERNETES_SERVICE_PORT_HTTPS set" has_line "$WORK/cmd" "KUBERNETES_SERVICE_PORT_HTTPS=443"
check "exec: own value wins" has_line "$WORK/cmd" "MY_NGINX_SERVICE_PORT=8080"
"$BIN" --source "$SRC" -- sh -c 'exit 7'
check "exec: command's exit status" test $? -eq 7

# 5. --pod: variables added to containers and init containers, the pod's own variable kept.
cat >"$WORK/pod.yaml" <<'POD'
apiVersion: v1
kind: Pod
metadata: {name: demo, namespace: default}
spec:
  initContainers: [{name: init, image: busybox}]
  containers:
  - name: app
    image: nginx
    env:
    - {name: MY_NGINX_SERVICE_HOST, value: user-defined}
    - {name: URL, value: "http://$(MY_NGINX_SERVICE_HOST):$(MY_NGINX_SERVICE_PORT)"}
POD
"$BIN" --source "$SRC" --pod "$WORK/pod.yaml" >"$WORK/pod.json"
check "pod: exit 0 and JSON" python3 -m json.tool "$WORK/pod.json" /dev/null
check "pod: user-defined var kept, services added" python3 - "$WORK/pod.json" <<'PY'
import json, sys
pod = json.load(open(sys.argv[1]))
app = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
init = {e["name"]: e.get("value") for e in pod["spec"]["initContainers"][0]["env"]}
names = [e["name"] for e in pod["spec"]["containers"][0]["env"]]
assert app["MY_NGINX_SERVICE_HOST"] == "user-defined", app
assert names.count("MY_NGINX_SERVICE_HOST") == 1, names
assert app["URL"] == "http://$(MY_NGINX_SERVICE_HOST):$(MY_NGINX_SERVICE_PORT)", app
assert app["KUBERNETES_SERVICE_HOST"] == "10.0.0.1" and app["MY_NGINX_SERVICE_PORT"] == "80", app
assert init["MY_NGINX_SERVICE_HOST"] == "10.0.162.149", init
PY
"$BIN" --source "$SRC" --pod "$WORK/pod.yaml" --patch >"$WORK/patch.json"
check "pod: --patch is a JSON Patch array" python3 -c "import json,sys; p=json.load(open(sys.argv[1])); assert isinstance(p, list) and p and all(o['op']=='add' for o in p)" "$WORK/patch.json"

# 6. Errors: one line, right status.
"$BIN" --source "$SRC" --frobnicate 2>"$WORK/err" >/dev/null
check "bad flag: exit 2" test $? -eq 2
check "bad flag: one line naming it" bash -c "test \$(wc -l <'$WORK/err') -eq 1 && grep -q -- '--frobnicate' '$WORK/err'"
mkdir -p "$WORK/broken"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  clusterIP: 10.0.0.9\n  ports: [{port: 99999}]\n' \
  >"$WORK/broken/svc.yaml"
"$BIN" --source "file:$WORK/broken" 2>"$WORK/err" >/dev/null
check "broken manifest: exit 1" test $? -eq 1
check "broken manifest: reason given" grep -q "99999" "$WORK/err"
"$BIN" --help | grep -q -- "--no-service-links"
check "--help" test $? -eq 0

[ $fail -eq 0 ] && echo "envinject cli: all checks passed"
exit $fail
