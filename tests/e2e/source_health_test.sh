#!/usr/bin/env bash
# The file source's health on /metrics: a manifest that is not YAML ("---\n,\n", which made yaml-cpp 0.7
# allocate without end) is refused with file:line, the last good answers stay, and
# clusterdns_source_rejected_total / clusterdns_source_stale say so; the fix clears stale and moves
# clusterdns_source_last_applied_timestamp_seconds. Loopback only; --upstream none.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

cp -r "$EXAMPLES" "$WORK/registry"
ops_start health --source "file:$WORK/registry"
ready() { http_get /ready; [ "$HTTP_CODE" = 200 ]; }
wait_for "/ready 200" 50 0.1 ready || { cat "$SRV_LOG"; die "never ready"; }
NGINX=my-nginx.default.svc.cluster.local
F='\{source="file:[^"]*"\}$'
expect_eq "nothing rejected at start" 0 "$(metric "^clusterdns_source_rejected_total$F")"
expect_eq "not stale at start" 0 "$(metric "^clusterdns_source_stale$F")"
applied0=$(metric "^clusterdns_source_last_applied_timestamp_seconds$F")
expect_match "last applied is a recent unix time" '^1[0-9]{9}$' "$applied0"
answer=$(qs A $NGINX)

printf -- '---\n,\n' >"$WORK/registry/bad.yaml"
stale() { [ "$(metric "^clusterdns_source_stale$F")" = 1 ]; }
if wait_for "stale after a non-YAML file" 50 0.1 stale; then ok "stale: 1"; else bad "stale not reported"; fi
expect_eq "rejected counted" 1 "$(metric "^clusterdns_source_rejected_total$F")"
expect_match "log names bad.yaml:2" "bad\.yaml:2: invalid YAML: did not find expected node content" "$(cat "$SRV_LOG")"
kill -0 "$SRV_PID" 2>/dev/null && ok "server still running" || bad "server died"
expect_eq "last good answer still served" "$answer" "$(qs A $NGINX)"

sleep 1.1  # the timestamp has one-second resolution in this check
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: fixed}\nspec: {clusterIP: 10.0.77.7}\n' >"$WORK/registry/bad.yaml"
fresh() { [ "$(metric "^clusterdns_source_stale$F")" = 0 ]; }
if wait_for "not stale after the fix" 50 0.1 fresh; then ok "stale: 0"; else bad "still stale"; fi
expect_eq "fixed file served" 10.0.77.7 "$(qs A fixed.default.svc.cluster.local)"
applied1=$(metric "^clusterdns_source_last_applied_timestamp_seconds$F")
[ "$applied1" -gt "$applied0" ] && ok "last applied moved ($applied0 -> $applied1)" || bad "last applied did not move"
finish
