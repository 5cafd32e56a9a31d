# Helpers for the forwarding end-to-end tests (sourced after lib.sh; not a *_test.sh, so ctest skips it).
#
#   free_port                        a port free for UDP and TCP on 127.0.0.1
#   test_resolv_conf [LINES...]      writes $WORK/resolv.conf (never the machine's): sets RESOLV
#   start_responder NAME [ARGS...]   forward_responder.py on 127.0.0.1 (port 0 unless --port): sets RESP_PORT
#                                    RESP_PID RESP_LOG; NAME_PORT etc. are not kept, copy what you need
#   resp_count LOG REGEX             queries in a responder's log matching REGEX
#   start_knot ZONEFILE              knotd serving example.test from ZONEFILE: sets KNOT_PORT KNOT_PID
#   kill_pid PID                     TERM (then KILL) one process this test started, and wait for it
#
# Every upstream is a process this test starts on 127.0.0.1; clusterdns always gets explicit --upstream
# and --resolv-conf "$RESOLV", so the machine's resolver never sees a query.
RESPONDER=$(dirname "${BASH_SOURCE[0]}")/forward_responder.py
need_tool python3 python3
export PATH=$PATH:/usr/sbin

free_port() {
  python3 - <<'EOF'
import socket
while True:
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        t.close()
EOF
}

test_resolv_conf() {
  RESOLV=$WORK/resolv.conf
  printf '%s\n' "${@:-options timeout:1 attempts:2}" >"$RESOLV"
}

start_responder() {
  local name=$1 i
  shift
  RESP_LOG=$WORK/$name.queries
  : >"$RESP_LOG"
  python3 "$RESPONDER" --log "$RESP_LOG" "$@" >"$WORK/$name.out" 2>&1 &
  RESP_PID=$!
  E2E_PIDS+=("$RESP_PID")
  RESP_PORT=""
  for i in $(seq 1 100); do
    RESP_PORT=$(sed -n 's/^ready //p' "$WORK/$name.out")
    [ -n "$RESP_PORT" ] && break
    kill -0 "$RESP_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$RESP_PORT" ] || { cat "$WORK/$name.out"; die "responder $name did not start"; }
  echo "     started responder ($name) pid $RESP_PID on 127.0.0.1:$RESP_PORT"
}

resp_count() { grep -Ec -- "$2" "$1"; }

start_knot() {
  local zonefile=$1 dir=$WORK/knot i
  mkdir -p "$dir/db"
  cp "$zonefile" "$dir/example.test.zone"
  KNOT_PORT=$(free_port)
  cat >"$dir/knot.conf" <<EOF
server:
  rundir: "$dir"
  pidfile: "$dir/knot.pid"
  user: root:root
  listen: 127.0.0.1@$KNOT_PORT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
control:
  listen: "$dir/knot.sock"
log:
  - target: stderr
    any: info
database:
  storage: "$dir/db"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: example.test
    file: example.test.zone
EOF
  knotd -c "$dir/knot.conf" >"$WORK/knot.log" 2>&1 &
  KNOT_PID=$!
  E2E_PIDS+=("$KNOT_PID")
  for i in $(seq 1 100); do
    dig @127.0.0.1 -p "$KNOT_PORT" +tries=1 +time=1 +short SOA example.test 2>/dev/null | grep -q hostmaster && {
      echo "     started knotd pid $KNOT_PID on 127.0.0.1:$KNOT_PORT"
      return 0
    }
    kill -0 "$KNOT_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/knot.log"
  die "knotd did not answer"
}

kill_pid() {
  local pid=$1 i
  kill "$pid" 2>/dev/null
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

# The answer section's first TTL of a dig output.
first_ttl() { dig_section "$1" ANSWER | head -n1 | awk '{print $2}'; }

# write_example_zone FILE: the upstream test zone (www, AAAA, MX, TXT, a CNAME, a 4.5 KB TXT RRset).
write_example_zone() {
  {
    cat <<'ZONE'
$ORIGIN example.test.
$TTL 300
@      IN SOA ns.example.test. hostmaster.example.test. 1 7200 1800 86400 60
@      IN NS ns.example.test.
ns     IN A 127.0.0.1
www    IN A 192.0.2.10
www    IN AAAA 2001:db8::10
@      IN MX 10 mail.example.test.
mail   IN A 192.0.2.25
txt    IN TXT "hello from knot"
alias  IN CNAME www.example.test.
ZONE
    for i in $(seq -w 0 39); do printf 'big IN TXT "r%s%s"\n' "$i" "$(printf 'x%.0s' $(seq 1 96))"; done
  } >"$1"
}
