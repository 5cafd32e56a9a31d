#!/usr/bin/env bash
# The etcd source and clusterdnsctl over TLS with client certificates (etcd --client-cert-auth): a test CA made
# with openssl, the server certificate for 127.0.0.1, a client certificate; missing client cert or unknown CA
# are clear errors; clusterdns --source etcd:https://…?cacert=…&cert=…&key=… ranges and watches over TLS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CTL=${CLUSTERDNSCTL:-$BUILD_DIR/clusterdnsctl}
command -v etcd >/dev/null || skip "etcd not installed (etcd-server)"
command -v openssl >/dev/null || skip "openssl not installed"
command -v python3 >/dev/null || skip "python3 not installed (free ports)"
[ -x "$CTL" ] || die "$CTL not built (cmake --build build --target clusterdnsctl)"
e2e_init

# --- a CA, a server certificate for 127.0.0.1 and a client certificate (P-256, valid one day) ---
P=$WORK/pki
mkdir -p "$P"
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
openssl req -x509 "${newkey[@]}" -keyout "$P/ca.key" -out "$P/ca.crt" -days 1 -subj "/CN=clusterdns-test-ca" 2>/dev/null
issue() {  # issue NAME CN EXTENSIONS
  openssl req "${newkey[@]}" -keyout "$P/$1.key" -out "$P/$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%b' "$3" >"$P/$1.ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -out "$P/$1.crt" -days 1 \
    -extfile "$P/$1.ext" 2>/dev/null
}
issue server etcd 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'
issue client clusterdns 'extendedKeyUsage=clientAuth\n'
[ -s "$P/server.crt" ] && [ -s "$P/client.crt" ] || die "openssl could not make the test certificates"

# --- etcd serving clients over TLS, requiring client certificates ---
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ETCD_PORT=$(free_port); PEER=$(free_port); METRICS=$(free_port)
URL=https://127.0.0.1:$ETCD_PORT
etcd --name tls --data-dir "$WORK/etcd-data" --listen-client-urls "$URL" --advertise-client-urls "$URL" \
  --listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
  --initial-cluster "tls=http://127.0.0.1:$PEER" --listen-metrics-urls "http://127.0.0.1:$METRICS" \
  --cert-file "$P/server.crt" --key-file "$P/server.key" --trusted-ca-file "$P/ca.crt" --client-cert-auth \
  --experimental-watch-progress-notify-interval=1s >"$WORK/etcd.log" 2>&1 &
ETCD_PID=$!
E2E_PIDS+=("$ETCD_PID")
healthy=""
for i in $(seq 1 150); do
  curl -s --max-time 1 "http://127.0.0.1:$METRICS/health" 2>/dev/null | grep -q true && { healthy=1; break; }
  kill -0 "$ETCD_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$healthy" ] || { tail -n 20 "$WORK/etcd.log"; die "etcd (TLS) did not become healthy"; }
echo "     started etcd pid $ETCD_PID on $URL (client certificates required)"

TLS=(--cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key")
out=$("$CTL" --etcd "$URL" --timeout 2 --cacert "$P/ca.crt" get 2>&1); rc=$?
expect_eq "no client certificate: exit 1" 1 "$rc"
expect_match "no client certificate: the error names the URL" "etcd $URL: " "$out"
out=$("$CTL" --etcd "$URL" --timeout 2 --cert "$P/client.crt" --key "$P/client.key" get 2>&1); rc=$?
expect_eq "unknown CA (system trust store): exit 1" 1 "$rc"
expect_match "unknown CA: certificate not trusted" "server certificate not trusted" "$out"
out=$("$CTL" --etcd "$URL" --cacert "$P/ca.crt" --cert "$P/missing.crt" --key "$P/client.key" get 2>&1); rc=$?
expect_eq "unreadable client certificate: exit 1" 1 "$rc"
expect_match "unreadable client certificate: named" "missing\.crt" "$out"
expect_match "apply over TLS" "service default/my-nginx created" "$("$CTL" --etcd "$URL" "${TLS[@]}" apply -f "$EXAMPLES" 2>&1)"

SPEC="etcd:$URL?cacert=$P/ca.crt&cert=$P/client.crt&key=$P/client.key&read_timeout=5s"
start_server tls --source "$SPEC"
answers() { [ "$(qs "$2" "$1")" == "$3" ]; }
wait_for "my-nginx over TLS" 100 0.05 answers my-nginx.default.svc.cluster.local A 10.0.162.149
expect_eq "ranged over TLS: my-nginx A" 10.0.162.149 "$(qs A my-nginx.default.svc.cluster.local)"
printf 'apiVersion: v1\nkind: Service\nmetadata: {name: tls-svc, namespace: default}\nspec: {clusterIP: 10.0.210.1}\n' >"$WORK/s.yaml"
"$CTL" --etcd "$URL" "${TLS[@]}" apply -f "$WORK/s.yaml" >/dev/null
wait_for "watched over TLS" 100 0.05 answers tls-svc.default.svc.cluster.local A 10.0.210.1
expect_eq "watched over TLS: a new service" 10.0.210.1 "$(qs A tls-svc.default.svc.cluster.local)"
sleep 5.5  # idle for longer than the 5 s read timeout: etcd's progress notifications keep the watch up
expect_eq "idle TLS watch still up after the read timeout (progress notifications)" 0 \
  "$(grep -c 'keeping the last good state' "$SRV_LOG")"

stop_server "$SRV_PID"

# Without a client certificate the source cannot sync: it says why, and cluster names answer SERVFAIL.
LOG2=$WORK/nocert.log
NO_FORWARD=()  # nothing may be forwarded to the machine's resolver (as lib.sh's start_server does)
"$CLUSTERDNS" --help 2>&1 | grep -q -- "--upstream" && NO_FORWARD=(--upstream none)
"$CLUSTERDNS" --source "etcd:$URL?cacert=$P/ca.crt" --listen 127.0.0.1:0 "${NO_FORWARD[@]}" \
  --port-file "$WORK/nocert.port" >"$LOG2" 2>&1 &
NOCERT_PID=$!
E2E_PIDS+=("$NOCERT_PID")
logged() { grep -q "$1" "$LOG2"; }
wait_for "the no-certificate failure logged" 100 0.05 logged "no state yet"
expect_match "no client certificate: the source logs the endpoint and 'no state yet'" "$URL: .*no state yet" "$(cat "$LOG2")"
NOCERT_PORT=$(sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/nocert.port" 2>/dev/null | head -n1)
if [ -n "$NOCERT_PORT" ]; then
  expect_eq "not synced: SERVFAIL, not NXDOMAIN" SERVFAIL \
    "$(dig_status "$(PORT=$NOCERT_PORT q my-nginx.default.svc.cluster.local A)")"
fi
stop_server "$NOCERT_PID"
finish
