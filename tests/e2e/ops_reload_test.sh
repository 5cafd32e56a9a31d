#!/usr/bin/env bash
# Reloads under a steady query load, without a failed query: a --config file laid out as a Kubernetes
# ConfigMap volume (config.yaml -> ..data/config.yaml, ..data -> ..v1). SIGHUP after a new TTL in place; an
# edit without a signal (inotify); a ConfigMap-style swap of the ..data symlink; an invalid edit (kept the old
# configuration, counted in coredns_reload_failed_total, logged with file, line and field); a change that
# needs a restart (logged as such). Every failed query is printed. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"

CFG=$WORK/config
mkdir -p "$CFG/..v1"
write_config() {  # write_config DIR TTL [EXTRA LINES]
  printf 'source: file:%s\nlisten:\n  - 127.0.0.1:0\nhttp: 127.0.0.1:0\nupstream: none\nttl: %s\nlameduck: 1s\n%b' \
    "$EXAMPLES" "$2" "${3:-}" >"$1/config.yaml.tmp"
  mv "$1/config.yaml.tmp" "$1/config.yaml"
}
write_config "$CFG/..v1" 30
ln -s ..v1 "$CFG/..data"
ln -s ..data/config.yaml "$CFG/config.yaml"

ops_start reload --config "$CFG/config.yaml"
ttl() { q +noall +answer A my-nginx.default.svc.cluster.local | awk '{print $2}'; }
expect_eq "TTL from the config file" 30 "$(ttl)"
expect_eq "reload failures at start" 0 "$(metric '^coredns_reload_failed_total$')"

loadgen "$WORK/load.txt" 9 --udp 2 --tcp 1 --interval-ms 3
sleep 0.2
wait_ttl() {  # wait_ttl WHAT EXPECTED
  local want=$2
  ttl_is() { [ "$(ttl)" = "$want" ]; }
  if wait_for "$1" 40 0.1 ttl_is; then ok "$1: TTL $want (${WAITED_MS} ms)"; else bad "$1: TTL $(ttl), want $want"; fi
}

# 1. SIGHUP after an in-place edit of the target file. (The edit alone also triggers a reload through
#    inotify; whichever comes first applies it, the second sees the same bytes or re-applies them.)
write_config "$CFG/..v1" 7
kill -HUP "$SRV_PID"
wait_ttl "SIGHUP" 7

# 2. An edit without a signal.
sleep 0.3
write_config "$CFG/..v1" 12
wait_ttl "config file edited (inotify)" 12

# 3. A ConfigMap update: the kubelet writes a new directory and swaps the ..data symlink atomically.
mkdir -p "$CFG/..v2"
write_config "$CFG/..v2" 20
ln -s ..v2 "$CFG/..data_tmp" && mv -T "$CFG/..data_tmp" "$CFG/..data"
wait_ttl "ConfigMap ..data swap" 20

# 4. An invalid edit: rejected, the old configuration stays.
failed0=$(metric '^coredns_reload_failed_total$')
mkdir -p "$CFG/..v3"
write_config "$CFG/..v3" 5 'tll: 5\n'
ln -s ..v3 "$CFG/..data_tmp" && mv -T "$CFG/..data_tmp" "$CFG/..data"
rejected() { [ "$(metric '^coredns_reload_failed_total$')" -gt "$failed0" ]; }
if wait_for "reload failure counted" 40 0.1 rejected; then ok "invalid config: coredns_reload_failed_total $(metric '^coredns_reload_failed_total$')"; else bad "invalid config not counted"; fi
expect_eq "TTL kept after the invalid edit" 20 "$(ttl)"
expect_match "log: the rejection names file, line and field" \
  "reload \(config file .* changed\) rejected, keeping the previous configuration: .*config\.yaml:8: tll: unknown field \(did you mean 'ttl'\?\)" \
  "$(cat "$SRV_LOG")"
http_get /ready
expect_eq "/ready after a rejected reload" 200 "$HTTP_CODE"

# 5. A change that needs a restart, beside one that does not.
mkdir -p "$CFG/..v4"
printf 'source: file:%s\nlisten:\n  - 127.0.0.1:5399\nhttp: 127.0.0.1:0\nupstream: none\nttl: 25\nlameduck: 1s\n' \
  "$EXAMPLES" >"$CFG/..v4/config.yaml"
ln -s ..v4 "$CFG/..data_tmp" && mv -T "$CFG/..data_tmp" "$CFG/..data"
wait_ttl "reload with a listen change" 25
expect_match "log: --listen needs a restart" \
  'config: --listen changed \(127\.0\.0\.1:0 -> 127\.0\.0\.1:5399\) but takes effect only after a restart' "$(cat "$SRV_LOG")"
expect_eq "still serving on the old port" 25 "$(ttl)"

wait "$LOAD_PID"
total=$(wc -l <"$WORK/load.txt")
fails=$(grep -vc ' ok ' "$WORK/load.txt")
echo "     $total queries during the reloads (2 UDP + 1 TCP workers, 9 s), $fails failed"
grep -v ' ok ' "$WORK/load.txt" | head -20 | sed 's/^/     failed: /'
expect_eq "failed queries across the reloads" 0 "$fails"
ttls=$(awk '$3 == "ok" {print $4}' "$WORK/load.txt" | sort -un | tr '\n' ' ')
expect_eq "TTLs the load saw" "7 12 20 25 30 " "$ttls"
expect_eq "reloads counted" 1 "$(($(metric '^clusterdns_config_reloads_total$') >= 4))"

# 6. --domain is reloadable too (after the load, which asks cluster.local names).
mkdir -p "$CFG/..v5"
write_config "$CFG/..v5" 25 'domain: example.internal\n'
ln -s ..v5 "$CFG/..data_tmp" && mv -T "$CFG/..data_tmp" "$CFG/..data"
moved() { [ "$(qs A my-nginx.default.svc.example.internal)" = 10.0.162.149 ]; }
if wait_for "domain reload" 40 0.1 moved; then ok "--domain reloaded: my-nginx.default.svc.example.internal"; else bad "--domain not reloaded"; fi
finish
