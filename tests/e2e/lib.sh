# Shared helpers for the clusterdns end-to-end tests (sourced, not run; not a *_test.sh, so ctest skips it).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   e2e_init                               # WORK temp dir, EXIT trap, checks the binary and dig
#   start_server NAME [clusterdns flags]   # free loopback port; sets SRV_PID SRV_PORT SRV_LOG; waits until it answers
#   q A my-nginx.default.svc.cluster.local  # dig @127.0.0.1 -p $SRV_PORT, bounded (never the system resolver)
#   expect_eq "what" EXPECTED ACTUAL; expect_match "what" REGEX TEXT; finish
#
# Every query goes to 127.0.0.1 (or an address the test owns): the machine's resolver 10.255.255.53 must
# never see a query. Every wait is bounded in count and time. The EXIT trap kills only the
# PIDs started here and removes the temp dirs.
set -uo pipefail

SOURCE_DIR=${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SOURCE_DIR/build}
CLUSTERDNS=${CLUSTERDNS:-$BUILD_DIR/clusterdns}
EXAMPLES=$SOURCE_DIR/examples

E2E_PIDS=()      # processes to kill on exit (started by this script only)
E2E_CLEANUP=()   # extra shell commands to run on exit (netns, /etc/netns dirs)
E2E_FAILS=0
WORK=""

e2e_cleanup() {
  local pid i cmd
  for pid in "${E2E_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || continue
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  for cmd in "${E2E_CLEANUP[@]}"; do eval "$cmd" >/dev/null 2>&1; done
  [ -n "$WORK" ] && rm -rf "$WORK"
}

skip() { echo "SKIP: $*"; exit 77; }
die() { echo "FAIL: $*"; exit 1; }

need_tool() { command -v "$1" >/dev/null || die "$1 not found (Debian package ${2:-$1})"; }

e2e_init() {
  [ -x "$CLUSTERDNS" ] || die "$CLUSTERDNS not built (cmake --build build --target clusterdns)"
  need_tool dig bind9-dnsutils
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/clusterdns-e2e.XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
}

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; E2E_FAILS=$((E2E_FAILS + 1)); }
expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then ok "$1"; else bad "$1"; echo "       expected: $(printf %q "$2")"; echo "       actual:   $(printf %q "$3")"; fi
}
expect_match() {  # expect_match WHAT EXTENDED-REGEX TEXT
  if grep -Eq -- "$2" <<<"$3"; then ok "$1"; else bad "$1"; echo "       no match for /$2/ in:"; sed 's/^/       | /' <<<"$3"; fi
}
expect_nomatch() {  # expect_nomatch WHAT EXTENDED-REGEX TEXT
  if ! grep -Eq -- "$2" <<<"$3"; then ok "$1"; else bad "$1"; echo "       unexpected /$2/ in:"; sed 's/^/       | /' <<<"$3"; fi
}
finish() {
  if [ "$E2E_FAILS" -eq 0 ]; then echo "PASS ($(basename "$0"))"; exit 0; fi
  echo "$E2E_FAILS check(s) FAILED ($(basename "$0"))"
  exit 1
}

# now_ms: monotonic-enough wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start_server NAME [FLAGS...]: starts clusterdns on 127.0.0.1 with a kernel-chosen port (port 0), unless the
# flags already carry a --listen, and with --upstream none unless they name upstreams. stdout/stderr go to
# $WORK/NAME.log; the bound addresses to $WORK/NAME.port (--port-file). Sets SRV_PID, SRV_PORT, SRV_LOG,
# SRV_PORT_FILE and waits (bounded: 10 s) until the port file names the 127.0.0.1 port and a SOA query
# answers. Dies if the server exits.
start_server() {
  local name=$1 i line
  shift
  local args=("$@")
  [[ " ${args[*]} " == *" --listen "* ]] || args+=(--listen 127.0.0.1:0)
  # Nothing may be forwarded to the machine's resolver (the default upstreams come from /etc/resolv.conf).
  [[ " ${args[*]} " == *" --upstream "* || " ${args[*]} " == *" --resolv-conf "* || " ${args[*]} " == *" --config "* ]] ||
    args+=(--upstream none)
  SRV_LOG=$WORK/$name.log
  SRV_PORT_FILE=$WORK/$name.port
  rm -f "$SRV_PORT_FILE"
  args+=(--port-file "$SRV_PORT_FILE")
  "$CLUSTERDNS" "${args[@]}" >"$SRV_LOG" 2>&1 &
  SRV_PID=$!
  E2E_PIDS+=("$SRV_PID")
  SRV_PORT=""
  for i in $(seq 1 200); do  # 200 x 50 ms = 10 s
    kill -0 "$SRV_PID" 2>/dev/null || { cat "$SRV_LOG"; die "clusterdns ($name) exited during start-up: ${args[*]}"; }
    # The file appears whole (written aside, then renamed) once every socket is bound.
    line=$(grep -Eo '^127\.0\.0\.1:[0-9]+$' "$SRV_PORT_FILE" 2>/dev/null | head -n1)
    if [ -n "$line" ]; then SRV_PORT=${line##*:}; break; fi
    sleep 0.05
  done
  [ -n "$SRV_PORT" ] || { cat "$SRV_LOG"; die "clusterdns ($name) did not write its port to $SRV_PORT_FILE within 10 s"; }
  for i in $(seq 1 50); do  # 50 x (<=1 s) : the port is bound, so this normally succeeds at once
    if dig @127.0.0.1 -p "$SRV_PORT" +tries=1 +time=1 +short SOA cluster.local 2>/dev/null | grep -q .; then
      echo "     started clusterdns ($name) pid $SRV_PID on 127.0.0.1:$SRV_PORT"
      return 0
    fi
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$SRV_LOG"
  die "clusterdns ($name) on port $SRV_PORT did not answer"
}

# stop_server PID: SIGTERM, bounded wait (2 s), then SIGKILL; returns the exit status.
stop_server() {
  local pid=$1 i rc
  kill "$pid" 2>/dev/null
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  return "$rc"
}

# q [DIG ARGS...]: dig against the test server (port $SRV_PORT unless PORT=... is set), 1 try, 2 s timeout.
q() { dig @127.0.0.1 -p "${PORT:-$SRV_PORT}" +tries=1 +time=2 "$@" 2>&1; }
# qs TYPE NAME [DIG ARGS...]: the answer section's RDATA only, sorted (one per line).
qs() { local t=$1 n=$2; shift 2; q +short "$@" "$n" "$t" | sort; }
# kq [KDIG ARGS...]: kdig against the test server.
kq() { kdig @127.0.0.1 -p "${PORT:-$SRV_PORT}" +retry=0 +timeout=2 "$@" 2>&1; }

# Header fields of a dig answer.
dig_status() { grep -Eo 'status: [A-Z]+' <<<"$1" | head -n1 | cut -d' ' -f2; }
dig_flags() { grep -Eo '^;; flags: [a-z ]*' <<<"$1" | head -n1 | sed 's/^;; flags: //; s/ *$//'; }
has_flag() { [[ " $(dig_flags "$1") " == *" $2 "* ]]; }
# dig_section TEXT NAME: the RR lines of section NAME (ANSWER, AUTHORITY, ADDITIONAL), comments dropped.
dig_section() { awk -v s=";; $2 SECTION:" '$0==s{on=1;next} on&&/^$/{exit} on&&!/^;/{print}' <<<"$1"; }

# wait_for DESCRIPTION TRIES SLEEP CMD...: runs CMD until it succeeds, at most TRIES times. Sets WAITED_MS.
wait_for() {
  local what=$1 tries=$2 pause=$3 i t0
  shift 3
  t0=$(now_ms)
  for i in $(seq 1 "$tries"); do
    if "$@"; then WAITED_MS=$(($(now_ms) - t0)); return 0; fi
    sleep "$pause"
  done
  WAITED_MS=$(($(now_ms) - t0))
  echo "     gave up waiting ($tries tries, ${WAITED_MS} ms) for: $what"
  return 1
}
