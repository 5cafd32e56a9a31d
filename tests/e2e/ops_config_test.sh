#!/usr/bin/env bash
# Bad input at start-up: an unknown flag, a bad address, a config file with a typo, a bad value or broken
# YAML — each one line on stderr (naming file, line and field for the config file) and exit status 2, with
# nothing bound. And the reverse: every config key and flag the docker/ manifests use is a real one (the
# ConfigMap's config.yaml, the Deployment's and the DaemonSet's args), checked against the binary itself.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init

# start_fails WHAT EXPECTED-LINE ARGS...: runs clusterdns, which must exit 2 at once with exactly that line.
start_fails() {
  local what=$1 want=$2 rc err
  shift 2
  err=$(timeout 10 "$CLUSTERDNS" "$@" 2>&1 >/dev/null)
  rc=$?
  expect_eq "$what: exit status" 2 "$rc"
  expect_eq "$what: one line" "$want" "$err"
}
start_fails "unknown flag" "clusterdns: unknown flag --lamedcuk (did you mean '--lameduck'?) (see --help)" \
  --source "file:$EXAMPLES" --lamedcuk 3s
start_fails "bad DNS address" "clusterdns: invalid value '127.0.0.1:99999' for --listen: listen address \"127.0.0.1:99999\": port must be a number from 0 to 65535 (see --help)" \
  --listen 127.0.0.1:99999
start_fails "bad HTTP address" "clusterdns: invalid value '0.0.0.0' for --http: listen address \"0.0.0.0\": expected host:port, e.g. 127.0.0.1:53 or [::1]:53 (see --help)" \
  --http 0.0.0.0
start_fails "bad duration" "clusterdns: invalid value '5' for --lameduck: invalid duration '5': expected e.g. 5s, 300ms, 1m30s (see --help)" \
  --lameduck 5
start_fails "tls-cert without tls-key" "clusterdns: --tls-cert needs --tls-key (see --help)" --tls-cert /x.pem

C=$WORK/config.yaml
printf 'source: file:%s\nlisten:\n  - 127.0.0.1:0\ntll: 5\n' "$EXAMPLES" >"$C"
start_fails "config typo" "clusterdns: $C:4: tll: unknown field (did you mean 'ttl'?) (see --help)" --config "$C"
printf 'ttl: 30\nlisten:\n  - 127.0.0.1:0\n  - 127.0.0.1:http\n' >"$C"
start_fails "config bad list item" \
  "clusterdns: $C:4: listen: invalid value '127.0.0.1:http' for --listen: listen address \"127.0.0.1:http\": port must be a number from 0 to 65535 (see --help)" \
  --config "$C"
printf 'ttl: 30\nlisten: [127.0.0.1:0\n' >"$C"
err=$(timeout 10 "$CLUSTERDNS" --config "$C" 2>&1 >/dev/null); rc=$?
expect_eq "config broken YAML: exit status" 2 "$rc"
expect_match "config broken YAML: one line naming the file" "^clusterdns: $C:[0-9]+: not valid YAML: .+ \(see --help\)$" "$err"
expect_eq "config broken YAML: one line" 1 "$(wc -l <<<"$err")"
printf 'ttl: 30\nttl: 40\n' >"$C"
start_fails "config key twice" "clusterdns: $C:2: ttl: given twice (first on line 1) (see --help)" --config "$C"
start_fails "config missing" "clusterdns: $WORK/none.yaml: cannot read the config file (see --help)" --config "$WORK/none.yaml"

# The docker/ manifests' keys and flags are real: parse them with the binary. --source names a path that does
# not exist, so the server stops (exit 1) right after the flags were accepted, before binding anything.
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  D=$SOURCE_DIR/docker
  python3 - "$D" "$WORK" <<'PY'
import sys, yaml
d, work = sys.argv[1], sys.argv[2]
cm = yaml.safe_load(open(d + "/configmap.yaml"))
open(work + "/docker-config.yaml", "w").write(cm["data"]["config.yaml"])
dep = yaml.safe_load(open(d + "/deployment.yaml"))
ds = yaml.safe_load(open(d + "/nodelocal-daemonset.yaml"))
args = lambda w: [a.replace("$(CLUSTER_DNS_IP)", "10.96.0.10") for a in w["spec"]["template"]["spec"]["containers"][0]["args"]]
open(work + "/deployment.args", "w").write("\n".join(args(dep)) + "\n")
open(work + "/daemonset.args", "w").write("\n".join(args(ds)) + "\n")
PY
  missing=$WORK/does-not-exist
  check_args() {  # check_args WHAT ARGS...: accepted by the flag parser (exit 1 from the missing source, not 2)
    local what=$1 rc err
    shift
    err=$(timeout 10 "$CLUSTERDNS" "$@" --source "file:$missing" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne 2 ] && grep -q "no such file or directory: $missing" <<<"$err"; then ok "$what: accepted"; else
      bad "$what: rejected (exit $rc)"; echo "       $err"; fi
  }
  mapfile -t dep_args <"$WORK/deployment.args"
  mapfile -t ds_args <"$WORK/daemonset.args"
  sed -i 's|^config: .*||' "$WORK/docker-config.yaml"
  # The Deployment's args name /etc/clusterdns/config.yaml: use the ConfigMap's content instead.
  for i in "${!dep_args[@]}"; do [ "${dep_args[$i]}" = /etc/clusterdns/config.yaml ] && dep_args[$i]=$WORK/docker-config.yaml; done
  check_args "docker/configmap.yaml config.yaml keys" --config "$WORK/docker-config.yaml"
  check_args "docker/deployment.yaml args" "${dep_args[@]}"
  # The DaemonSet creates 169.254.20.10 (node-local): with --source given it still parses everything, and the
  # missing source stops it before the interface is touched.
  check_args "docker/nodelocal-daemonset.yaml args" "${ds_args[@]}"
  # And the commented-out optional keys of the ConfigMap, enabled.
  sed -n 's/^    # \(stub-domain:\|upstream:\|autopath:\|allow-recursion:\|dns-service:\|webhook:\|tls-cert:\|tls-key:\|  - \)/\1/p' "$D/configmap.yaml" \
    | sed 's/^  - /  - /' >"$WORK/optional.yaml"
  echo "     optional keys: $(tr '\n' ' ' <"$WORK/optional.yaml")"
  check_args "docker/configmap.yaml optional keys" --config "$WORK/optional.yaml"
else
  echo "     (python3 with PyYAML missing: docker/ key check skipped)"
fi
finish
