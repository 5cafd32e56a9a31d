#!/usr/bin/env bash
# Manifests edited while clusterdns runs (inotify): sed -i, an in-place rewrite, a new file, a deleted file,
# a broken file (the last good zone keeps serving, the error names file:line) and its fix, and an editor-style
# `mv` over the file, both in a watched directory and for a single watched file (replaced twice).
# Prints the measured delays: server side (write -> snapshot published, from the log's ms timestamps) and
# client side (write -> first dig that sees the change; includes dig's own start-up, ~100 ms on a busy machine).
# The spec's target is 100 ms; the hard limit here is LIVE_UPDATE_BUDGET_MS (1000) so a loaded CI host passes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init

M=$WORK/manifests
cp -r "$EXAMPLES" "$M"
NGINX=my-nginx.default.svc.cluster.local
BUDGET_MS=${LIVE_UPDATE_BUDGET_MS:-1000}   # hard limit per change for the server-side delay (spec target: 100 ms)

start_server live --source "file:$M"
WATCHED=$M
LOG=$SRV_LOG

# answers NAME TYPE EXPECTED: true when the server's sorted answer is EXPECTED ("" = none)
answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
# logged_since N REGEX: a log line after line N matches REGEX
logged_since() { tail -n +"$(($1 + 1))" "$LOG" | grep -Eq -- "$2"; }
# last_write_ms: epoch ms of the newest change in $WATCHED (a dir or a file's parent dir): the max of the
# dir's mtime (create, delete, rename) and its entries' mtimes (in-place writes). Process start/exit on a
# busy host takes longer than the server's reload, so shell timestamps around the edit are useless.
last_write_ms() { stat -c '%.3Y' "$WATCHED" "$WATCHED"/* "$WATCHED"/.[!.]* 2>/dev/null | sort -n | tail -n1 | tr -d .; }
# log_ms LINE: epoch ms of a log line's leading timestamp (2026-12-01T14:59:18.154)
log_ms() { date -d "$(cut -d' ' -f1 <<<"$1")" +%s%3N; }

# change WHAT NAME TYPE EXPECTED CMD...: runs CMD (the edit), then polls (100 x 20 ms + query time) until NAME
# TYPE answers EXPECTED; reports client and server delays; fails on time-out or a server delay over budget.
change() {
  local what=$1 name=$2 type=$3 want=$4 lines t0 snap server_ms client_ms
  shift 4
  lines=$(wc -l <"$LOG")
  "$@"
  t0=$(last_write_ms)   # when the edit hit the file system
  if wait_for "$what" 100 0.02 answers "$name" "$type" "$want"; then
    client_ms=$(($(now_ms) - t0))
    snap=$(tail -n +"$((lines + 1))" "$LOG" | grep -m1 '\[zones\] snapshot')
    if [ -n "$snap" ]; then server_ms=$(($(log_ms "$snap") - t0)); else server_ms="?"; fi
    echo "     delay: ${client_ms} ms until dig saw it, ${server_ms} ms until the snapshot was published ($what)"
    DELAYS+=("$server_ms")
    if [ "$server_ms" != "?" ] && [ "$server_ms" -gt "$BUDGET_MS" ]; then bad "$what: server delay ${server_ms} ms > ${BUDGET_MS} ms"
    else ok "$what"; fi
  else
    bad "$what: $name $type never answered '$want' (last: '$(qs "$type" "$name" | tr '\n' ' ')')"
  fi
}
DELAYS=()

expect_eq "before: my-nginx" 10.0.162.149 "$(qs A $NGINX)"

# 1. sed -i (writes a temp file in the watched dir, then renames it over default.yaml)
change "sed -i clusterIP 10.0.162.149 -> 10.0.162.150" $NGINX A 10.0.162.150 \
  sed -i 's/clusterIP: 10\.0\.162\.149/clusterIP: 10.0.162.150/' "$M/default.yaml"
expect_eq "PTR of the new IP" "$NGINX." "$(q +short -x 10.0.162.150)"
expect_eq "old IP's PTR gone: NXDOMAIN" NXDOMAIN "$(dig_status "$(q -x 10.0.162.149)")"
expect_eq "other services unchanged" 10.0.0.10 "$(qs A kube-dns.kube-system.svc.cluster.local)"

# 2. in-place rewrite of the same inode (truncate + write)
sed 's/clusterIP: 10\.0\.162\.150/clusterIP: 10.0.162.151/' "$M/default.yaml" >"$WORK/default.new"
change "in-place rewrite clusterIP -> 10.0.162.151" $NGINX A 10.0.162.151 cp "$WORK/default.new" "$M/default.yaml"

# 3. a new Service file, then its deletion
cat >"$WORK/extra.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata:
  name: extra
  namespace: default
spec:
  clusterIP: 10.0.88.8
  ports:
  - {name: http, port: 80, protocol: TCP}
EOF
change "new file extra.yaml -> extra answers" extra.default.svc.cluster.local A 10.0.88.8 cp "$WORK/extra.yaml" "$M/extra.yaml"
expect_eq "extra SRV" "0 100 80 extra.default.svc.cluster.local." "$(qs SRV _http._tcp.extra.default.svc.cluster.local)"
change "rm extra.yaml -> extra gone" extra.default.svc.cluster.local A "" rm "$M/extra.yaml"
expect_eq "extra: NXDOMAIN" NXDOMAIN "$(dig_status "$(q A extra.default.svc.cluster.local)")"

# 4. a broken file: bad YAML, then an invalid IP; the last good zone keeps serving; then the fix
lines=$(wc -l <"$LOG")
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  namespace: default\nspec:\n  clusterIP: [10.0.99.9\n' >"$M/broken.yaml"
wait_for "bad YAML logged" 100 0.02 logged_since "$lines" 'broken\.yaml:[0-9]+'
for i in 1 2 3 4 5; do
  expect_eq "bad YAML: old answer still served ($i/5)" 10.0.162.151 "$(qs A $NGINX)"
  sleep 0.05
done
expect_eq "bad YAML: nothing half-applied (broken: NXDOMAIN)" NXDOMAIN "$(dig_status "$(q A broken.default.svc.cluster.local)")"
err=$(tail -n +"$((lines + 1))" "$LOG" | grep 'broken\.yaml')
expect_match "bad YAML: stderr names $M/broken.yaml:LINE" "$M/broken\.yaml:[0-9]+: .*YAML" "$err"
expect_eq "bad YAML: reported once" 1 "$(grep -c . <<<"$err")"

lines=$(wc -l <"$LOG")
printf 'apiVersion: v1\nkind: Service\nmetadata:\n  name: broken\n  namespace: default\nspec:\n  clusterIP: 10.0.99.300\n' >"$M/broken.yaml"
wait_for "invalid IP logged" 100 0.02 logged_since "$lines" 'broken\.yaml:7'

err=$(tail -n +"$((lines + 1))" "$LOG" | grep 'broken\.yaml')
expect_match "invalid IP: stderr has broken.yaml:7 and the value" "$M/broken\.yaml:7: .*10\.0\.99\.300" "$err"
expect_eq "invalid IP: old answer still served" 10.0.162.151 "$(qs A $NGINX)"
expect_eq "invalid IP: broken not served" NXDOMAIN "$(dig_status "$(q A broken.default.svc.cluster.local)")"

change "fix broken.yaml -> served" broken.default.svc.cluster.local A 10.0.99.9 \
  sed -i 's/10\.0\.99\.300/10.0.99.9/' "$M/broken.yaml"
expect_eq "after the fix: my-nginx still served" 10.0.162.151 "$(qs A $NGINX)"

# 5. editor-style replace: write elsewhere, mv over the watched file (new inode), twice
sed 's/clusterIP: 10\.0\.162\.151/clusterIP: 10.0.162.152/' "$M/default.yaml" >"$WORK/default.mv1"
change "mv over default.yaml -> 10.0.162.152" $NGINX A 10.0.162.152 mv "$WORK/default.mv1" "$M/default.yaml"
sed 's/clusterIP: 10\.0\.162\.152/clusterIP: 10.0.162.153/' "$M/default.yaml" >"$M/.default.yaml.swp"
change "mv within the dir (vim-like) -> 10.0.162.153" $NGINX A 10.0.162.153 mv "$M/.default.yaml.swp" "$M/default.yaml"

# 6. a single watched file (not a directory), replaced by mv twice: the watch must follow the new inode
mkdir "$WORK/single"
S=$WORK/single/single.yaml   # alone in its dir: the logs in $WORK would spoil last_write_ms
sed 's/clusterIP: 10\.0\.162\.153/clusterIP: 10.0.162.160/' "$M/default.yaml" >"$S"
start_server single --source "file:$S"
WATCHED=$WORK/single
LOG=$SRV_LOG
expect_eq "single file: initial" 10.0.162.160 "$(qs A $NGINX)"
for ip in 10.0.162.161 10.0.162.162; do
  sed "s/clusterIP: 10\.0\.162\.16[0-9]/clusterIP: $ip/" "$S" >"$WORK/single.new"
  change "single file: mv over it -> $ip" $NGINX A $ip mv "$WORK/single.new" "$S"
done
change "single file: sed -i -> 10.0.162.163" $NGINX A 10.0.162.163 sed -i 's/10\.0\.162\.162/10.0.162.163/' "$S"

kill -0 "$SRV_PID" && kill -0 "${E2E_PIDS[0]}"
expect_eq "both servers still running" 0 $?
echo "     server-side delays (ms, write complete -> snapshot published): ${DELAYS[*]}"
over=0; for d in "${DELAYS[@]}"; do [ "$d" != "?" ] && [ "$d" -gt 100 ] && over=$((over + 1)); done
echo "     changes over the spec's 100 ms: $over of ${#DELAYS[@]}"
finish
