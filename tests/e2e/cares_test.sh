#!/usr/bin/env bash
# c-ares as a library (tests/e2e/cares_client.cpp) against clusterdns serving examples/ plus a 60-endpoint
# headless service: A, SRV, PTR (v4 and v6), AAAA, NXDOMAIN, NODATA, REFUSED over UDP and over TCP
# (ARES_FLAG_USEVC), then the truncation -> TCP retry, ARES_FLAG_IGNTC and EDNS. ctest name: e2e_cares_test (from the glob).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
CLIENT=$BUILD_DIR/tests/e2e/cares_client
[ -x "$CLIENT" ] || die "$CLIENT not built (cmake --build build --target cares_client)"

mkdir "$WORK/m"
cp "$EXAMPLES"/*.yaml "$SOURCE_DIR/tests/e2e/fixtures/headless60.yaml" "$WORK/m/"
start_server cares --source "file:$WORK/m"

timeout 60 "$CLIENT" 127.0.0.1 "$SRV_PORT" big.default.svc.cluster.local 60
rc=$?
expect_eq "cares_client exit status (0 = every check passed)" 0 "$rc"
kill -0 "$SRV_PID"
expect_eq "server still running" 0 $?
finish
