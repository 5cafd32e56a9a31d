#!/usr/bin/env bash
# The webhook certificate is re-read when it changes, without a restart (issue 11 #14): two serving
# certificates from one CA, made here with the openssl CLI, mounted the way the kubelet mounts a Secret
# (tls.crt -> ..data/tls.crt, ..data -> a timestamped directory, swapped atomically on rotation, as
# cert-manager's renewals arrive). A new connection after the swap is served the second certificate; a
# pair that does not load (a key that does not match) keeps the previous one and is logged. Loopback only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init
source "$(dirname "${BASH_SOURCE[0]}")/ops_lib.sh"
need_tool openssl openssl

T=$WORK/tls
mkdir -p "$T"
(
  cd "$T" || exit 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=rotation-test-ca -keyout ca.key -out ca.crt
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  for n in one two; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=webhook-$n" -keyout "$n.key" -out "$n.csr"
    openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out "$n.crt"
  done
) >"$WORK/openssl.log" 2>&1 || { cat "$WORK/openssl.log"; die "openssl"; }

# The Secret volume: the files are symlinks through ..data.
V=$WORK/secret
mkdir -p "$V/..2026_01" "$V/..2026_02" "$V/..2026_03"
cp "$T/one.crt" "$V/..2026_01/tls.crt" && cp "$T/one.key" "$V/..2026_01/tls.key"
cp "$T/two.crt" "$V/..2026_02/tls.crt" && cp "$T/two.key" "$V/..2026_02/tls.key"
cp "$T/one.crt" "$V/..2026_03/tls.crt" && cp "$T/two.key" "$V/..2026_03/tls.key"  # a mismatched pair
ln -s ..2026_01 "$V/..data"
ln -s ..data/tls.crt "$V/tls.crt"
ln -s ..data/tls.key "$V/tls.key"
swap() { ln -s "$1" "$V/..data_tmp" && mv -T "$V/..data_tmp" "$V/..data"; }  # the kubelet's atomic writer

ops_start rotation --source "file:$EXAMPLES" --webhook 127.0.0.1:0 --tls-cert "$V/tls.crt" --tls-key "$V/tls.key"
WEBHOOK_PORT=$(grep -Eo 'webhook on https://127\.0\.0\.1:[0-9]+' "$SRV_LOG" | head -n1 | sed 's/.*://')
[ -n "$WEBHOOK_PORT" ] || { cat "$SRV_LOG"; die "no webhook port in the log"; }

# served_cn: the subject CN of the certificate a new TLS connection is served (verified against the CA).
served_cn() {
  timeout 5 openssl s_client -connect "127.0.0.1:$WEBHOOK_PORT" -CAfile "$T/ca.crt" -verify_return_error \
    </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null | sed 's/.*CN *= *//'
}
expect_eq "served the first certificate" webhook-one "$(served_cn)"

swap ..2026_02
is_two() { [ "$(served_cn)" = webhook-two ]; }
if wait_for "the rotated certificate" 30 0.2 is_two; then ok "a new connection gets the second certificate, no restart"; else bad "still $(served_cn) after the swap"; fi
expect_match "the reload is logged" 'webhook certificate .*tls.crt reloaded' "$(cat "$SRV_LOG")"
resp=$(curl -sS --max-time 5 --cacert "$T/ca.crt" -d '{}' "https://127.0.0.1:$WEBHOOK_PORT/mutate" -w '%{http_code}' -o /dev/null)
expect_eq "requests are served with the new certificate (curl verifies it)" 200 "$resp"

swap ..2026_03
# The files are looked at when a connection arrives (at most once a second): connect while waiting.
logged() { served_cn >/dev/null; grep -q 'webhook certificate changed but cannot be loaded' "$SRV_LOG"; }
if wait_for "the refusal in the log" 30 0.2 logged; then ok "a pair that does not match is refused and logged"; else bad "no log line for the bad pair"; fi
expect_eq "the previous certificate is still served" webhook-two "$(served_cn)"

swap ..2026_01
is_one() { [ "$(served_cn)" = webhook-one ]; }
if wait_for "back to the first" 30 0.2 is_one; then ok "a later good pair is loaded again"; else bad "not reloaded after a bad pair"; fi
kill -0 "$SRV_PID" 2>/dev/null && ok "clusterdns ran throughout (pid $SRV_PID)" || bad "clusterdns died"
finish
