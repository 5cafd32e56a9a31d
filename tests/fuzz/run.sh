#!/usr/bin/env bash
# Fuzzes every libFuzzer target for SECONDS each (default 60): tests/fuzz/run.sh [SECONDS] [TARGET...]
# Targets are those declared with clusterdns_fuzz_target() in tests/fuzz/CMakeLists.txt; each starts from
# its committed seeds (tests/fuzz/seeds/NAME) and writes new inputs to build-fuzz/corpus/NAME. Copy the
# good ones into the seeds; a crash leaves crash-* in build-fuzz/ and a non-zero exit.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
shift || true
out=$root/build-fuzz
cmake -S "$root" -B "$out" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCLUSTERDNS_SANITIZE=ON \
  -DCLUSTERDNS_FUZZ=ON -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(find "$root/tests/fuzz" -maxdepth 1 -name '*_fuzz.cpp' -printf '%f\n' | sed 's/_fuzz.cpp$//' | sort)
fi
cmake --build "$out" -j"$(nproc)" --target "${targets[@]}" >/dev/null
status=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  echo "== $t: ${secs}s"
  (cd "$out" && "./tests/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 "corpus/$t" "$root/tests/fuzz/seeds/$t" 2>&1 |
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss|INFO: seed corpus|==[0-9]+==ERROR|SUMMARY)' ) || status=1
done
exit $status
