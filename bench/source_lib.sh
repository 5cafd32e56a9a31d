# Sourced by bench/k8s_source.sh and bench/etcd_source.sh (which set CLUSTERDNS, TMP, N and PIDS).
# start_clusterdns LABEL SOURCE: starts clusterdns on a free loopback port, waits (at most 60 s) for the first
# snapshot built from the synced registry, and reports the time that took, the log lines that say what was read,
# and the peak and settled RSS. Sets PID and PORT.
start_clusterdns() {
  local label=$1 source=$2 t0 ready_ms hwm rss
  synced() { grep -a 'snapshot [0-9]*: [0-9]* names .* built in' "$TMP/clusterdns.log" | grep -qv 'not synced'; }
  t0=$(date +%s%N)
  "$CLUSTERDNS" --source "$source" --listen 127.0.0.1:0 --upstream none --http none --threads 1 \
    >"$TMP/clusterdns.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 1200); do  # 1200 x 50 ms = 60 s
    synced && break
    kill -0 "$PID" 2>/dev/null || { cat "$TMP/clusterdns.log"; exit 1; }
    sleep 0.05
  done
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  synced || { cat "$TMP/clusterdns.log"; echo "not synced in 60 s" >&2; exit 1; }
  PORT=$(grep -aEo 'serving [^ ]+ on 127\.0\.0\.1:[0-9]+' "$TMP/clusterdns.log" | head -1 | sed 's/.*://')
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
  echo "$label: $N services (+1) read and compiled $ready_ms ms after the process started"
  grep -aE 'listed [0-9]+ objects|read [0-9]+ objects|snapshot .* names' "$TMP/clusterdns.log" | sed 's/^/  log: /' | head -6
  echo "clusterdns peak RSS (VmHWM) $((hwm / 1024)) MiB, RSS after sync $((rss / 1024)) MiB"
}
