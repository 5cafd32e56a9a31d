#!/usr/bin/env bash
# Installs every Debian 12 package clusterdns needs to build, test and benchmark; skips what is present.
set -euo pipefail
PKGS=(build-essential cmake pkg-config clang clang-format libc-ares-dev libldns-dev libboost-dev libcpp-httplib-dev
  libspdlog-dev libgtest-dev libgmock-dev nlohmann-json3-dev libyaml-cpp-dev libyaml-dev libsimdjson-dev libjemalloc-dev libssl-dev etcd-server etcd-client
  bind9-dnsutils ldnsutils knot-dnsutils dnsperf nsd knot iproute2 libc-bin python3-yaml
  prometheus curl jq openssl libcap2-bin musl-tools)  # promtool; the ops/webhook e2e tests' HTTP, JSON, TLS and capsh; a musl resolver client
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
apt_install() {
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}
# A busy dpkg lock or a stale package list: refresh and retry once.
if ! apt_install; then
  sleep 5
  $SUDO apt-get update
  apt_install
fi
# Debian starts these daemons on install; tests start their own on loopback ports.
for svc in nsd knot etcd prometheus prometheus-node-exporter; do $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; done
