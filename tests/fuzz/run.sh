#!/usr/bin/env bash
# Fuzzes the query path with libFuzzer for SECONDS (default 60): tests/fuzz/run.sh [SECONDS]
# New interesting inputs land in build-fuzz/corpus; copy the good ones into tests/fuzz/seeds/query.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out=$root/build-fuzz
cmake -S "$root" -B "$out" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DCLUSTERDNS_SANITIZE=ON \
  -DCLUSTERDNS_TESTS=OFF -DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
cmake --build "$out" -j"$(nproc)" --target clusterdns_zones >/dev/null
mkdir -p "$out/corpus"
clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I"$root" "$root/tests/fuzz/query_fuzz.cpp" \
  "$out/zones/libclusterdns_zones.a" "$out/dns/libclusterdns_dns_wire.a" "$out/discovery/libclusterdns_model.a" \
  $(pkg-config --libs ldns) -lspdlog -lfmt -o "$out/query_fuzz"
"$out/query_fuzz" -max_total_time="$secs" "$out/corpus" "$root/tests/fuzz/seeds/query"
