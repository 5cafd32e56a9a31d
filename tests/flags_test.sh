#!/usr/bin/env bash
# Every flag of build/clusterdns (its --help, which the flag tables write) is documented in README.md, and
# every flag the docker/ manifests use (container args, the ConfigMap's config.yaml keys, commented-out ones
# included) is one the server has. Usage: flags_test.sh SOURCE_DIR CLUSTERDNS
set -uo pipefail
root=$1 clusterdns=$2
fail=0
help=$("$clusterdns" --help) || { echo "clusterdns --help failed"; exit 1; }
mapfile -t flags < <(sed -n 's/^  \(--[a-z][a-z-]*\).*/\1/p' <<<"$help")
[ "${#flags[@]}" -ge 30 ] || { echo "only ${#flags[@]} flags in --help"; fail=1; }
for f in "${flags[@]}"; do
  grep -qE -- "(^|[^a-z-])$f([^a-z-]|$)" "$root/README.md" || { echo "README.md does not mention $f"; fail=1; }
done
# No pipe into grep -q: under pipefail, printf's SIGPIPE when grep exits early would fail the match.
known() { local f; for f in "${flags[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
mapfile -t used < <(python3 - "$root"/docker/*.yaml <<'PY'
import re, sys, yaml
for path in sys.argv[1:]:
    for doc in yaml.safe_load_all(open(path)):
        if not isinstance(doc, dict):
            continue
        if doc.get("kind") == "ConfigMap" and "config.yaml" in (doc.get("data") or {}):
            # keys, also those commented out for the reader to enable ("# allow-recursion:")
            for line in doc["data"]["config.yaml"].splitlines():
                m = re.match(r"^(?:# ?)?([a-z][a-z-]*):(\s|$)", line)
                if m:
                    print(path, "--" + m.group(1))
        pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            if not str(c.get("image", "")).startswith("clusterdns"):
                continue
            for a in c.get("command", []) + c.get("args", []):
                if str(a).startswith("--"):
                    print(path, str(a).split("=", 1)[0])
PY
)
[ "${#used[@]}" -ge 10 ] || { echo "only ${#used[@]} flags found in docker/"; fail=1; }
for u in "${used[@]}"; do
  known "${u#* }" || { echo "${u% *} uses ${u#* }, which clusterdns does not have"; fail=1; }
done
# The version is CMake's project version.
version=$(sed -n 's/^project(clusterdns VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
"$clusterdns" --version | grep -q "^clusterdns $version " || { echo "--version is not $version"; fail=1; }
[ $fail -eq 0 ] && echo "flags: ${#flags[@]} in --help, all in README.md; ${#used[@]} uses in docker/, all known"
exit $fail
