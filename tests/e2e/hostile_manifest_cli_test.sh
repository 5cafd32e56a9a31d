#!/usr/bin/env bash
# The command-line readers of manifests and pods against hostile YAML (issue 11 #1 and #9): the 6 bytes
# "---\n,\n" (yaml-cpp 0.7 looped on them, allocating ~200 MB/s, in `clusterdnsctl apply` and `envinject
# --source file:` as in the server) and a 1 KB alias bomb given to `envinject --pod` (it took 18 s and 2 GiB,
# then printed 200 MB). Each must exit 1 at once with file:line and the reason, and print nothing else. The
# server's reader is tested by ManifestGuard.* and e2e source_health_test. No server, no network.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
ENVINJECT=$BUILD_DIR/envinject
CTL=$BUILD_DIR/clusterdnsctl
[ -x "$ENVINJECT" ] || skip "$ENVINJECT not built"
[ -x "$CTL" ] || skip "$CTL not built"

mkdir -p "$WORK/bad"
cp "$EXAMPLES"/*.yaml "$WORK/bad/"
printf -- '---\n,\n' >"$WORK/bad/zz-comma.yaml"

# run COMMAND...: sets RC, OUT, ERR; a hang is cut at 10 s (no ulimit -v: ASan reserves terabytes).
run() {
  timeout 10 "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(head -c 2000 "$WORK/out")
  ERR=$(head -c 2000 "$WORK/err")
}

run "$ENVINJECT" --source "file:$WORK/bad/" --pod /dev/null
expect_eq "envinject --source file: with \"---\\n,\\n\": exit 1 (was a loop until OOM)" 1 "$RC"
expect_match "envinject --source: file:line and the reason" 'zz-comma\.yaml:2: invalid YAML' "$ERR"

run "$CTL" --etcd http://127.0.0.1:9 apply -f "$WORK/bad/zz-comma.yaml"
expect_eq "clusterdnsctl apply with \"---\\n,\\n\": exit 1 before any connection (was a loop until OOM)" 1 "$RC"
expect_match "clusterdnsctl apply: file:line and the reason" 'zz-comma\.yaml:2: invalid YAML' "$ERR"
expect_match "clusterdnsctl apply: nothing written" 'nothing written' "$ERR"

# 10 levels of 10 references under a Pod's labels: 10^10 nodes once expanded, from ~700 bytes.
python3 - "$WORK/bomb.yaml" <<'EOF' || die "python3"
import sys
lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
for i in range(1, 10):
    lines.append("a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 10)))
text = "kind: Pod\nmetadata:\n  labels:\n" + "".join("    %s\n" % l for l in lines)
open(sys.argv[1], "w").write(text + "spec:\n  containers:\n  - name: c\n")
EOF
run "$ENVINJECT" --source "file:$EXAMPLES/" --pod "$WORK/bomb.yaml"
expect_eq "envinject --pod with a 1 KB alias bomb: exit 1 (was 18 s, 2 GiB and 200 MB of output)" 1 "$RC"
expect_match "envinject --pod alias bomb: file:line and the reason" 'bomb\.yaml:[0-9]+: not YAML: aliases expand to more than' "$ERR"
expect_eq "envinject --pod alias bomb: no output" "" "$OUT"
finish
