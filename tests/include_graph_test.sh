#!/usr/bin/env bash
# Fails when a file includes a header its folder may not depend on (README.md, "Layout": the "may include" column).
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fail=0
# allowed <folder> <regex of allowed project includes>
check() {
  local folder=$1 allowed=$2 f inc
  while IFS= read -r f; do
    while IFS= read -r inc; do
      case "$inc" in
        base/* | dns/* | discovery/* | zones/* | envinject/* | ops/* | cmd/*)
          if ! [[ "$inc" =~ $allowed ]]; then
            echo "forbidden include: $f includes \"$inc\" (allowed for $folder: $allowed)"
            fail=1
          fi ;;
      esac
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
    if [[ "$folder" == zones || "$folder" == dns/wire || "$folder" == envinject || "$folder" == discovery ]] &&
      grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<boost/asio' "$f"; then
      echo "forbidden include: $f includes Asio (only dns/ servers and cmd/ may)"
      fail=1
    fi
  done < <(find "$folder" \( -name "*.hpp" -o -name "*.cpp" \) | sort)
}
# base/ (publishing, counters, locks, loggers) includes nothing of ours; every folder may include it.
check base '^base/'
check dns/wire '^dns/wire/'
check dns '^(base/|dns/)'
# Forwarding is a query handler like the responder: no transport, no zones.
check dns/forward '^(base/|dns/forward/|dns/wire/|dns/handler\.hpp$)'
check discovery '^(base/|discovery/)'
# The object decoder the three sources share: the model and nothing else of discovery/.
check discovery/objects '^(base/|discovery/objects/|discovery/model\.hpp$)'
check zones '^(base/|zones/|dns/wire/|dns/handler\.hpp$|discovery/model\.hpp$)'
check envinject '^(base/|envinject/|discovery/model\.hpp$)'
# ops/ sits above every library; only the composition root includes it. Inside it, one way:
# http (the operations server) → runtime (readiness, reload, pipeline) → metrics (the /metrics page).
check ops/metrics '^(base/|ops/metrics/|dns/|discovery/model\.hpp$)'
check ops/runtime '^(base/|ops/runtime/|ops/metrics/|dns/|zones/|discovery/)'
check ops/http '^(base/|ops/http/|ops/runtime/|ops/metrics/|dns/|zones/|discovery/|envinject/)'
# Self-test: the checker must reject a planted violation.
if [ "${2:-}" != "--no-selftest" ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/zones" "$tmp/dns/wire" "$tmp/discovery/objects" "$tmp/envinject" "$tmp/tests"
  echo '#include "dns/server/udp.hpp"' > "$tmp/zones/bad.cpp"
  mkdir -p "$tmp/base" "$tmp/dns/forward" "$tmp/ops/metrics" "$tmp/ops/runtime" "$tmp/ops/http"
  echo '#include "ops/runtime/readiness.hpp"' > "$tmp/ops/metrics/bad.cpp"
  cp "$0" "$tmp/tests/"
  found=$(bash "$tmp/tests/include_graph_test.sh" "$tmp" --no-selftest | grep -c '^forbidden include')
  if [ "$found" != 2 ]; then
    echo "self-test failed: $found of 2 planted forbidden includes reported"
    fail=1
  fi
  rm -rf "$tmp"
fi
[ $fail -eq 0 ] && echo "include graph: ok"
exit $fail
