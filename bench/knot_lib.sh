# Sourced by the benchmarks that run Knot beside clusterdns on the same records (gen_cluster.py's zone files).

# knot_conf DATADIR PORT RUNDIR [LOG_LEVEL]: writes RUNDIR/knot.conf for one UDP and one TCP worker on
# 127.0.0.1@PORT serving DATADIR/zones/{cluster.local,in-addr.arpa}.zone, loaded whole, never written back.
knot_conf() {
  mkdir -p "$3/db"
  cat >"$3/knot.conf" <<CONF
server:
  rundir: "$3"
  pidfile: "$3/knot.pid"
  user: root:root
  listen: 127.0.0.1@$2
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
  identity: ""
  version: ""
control:
  listen: "$3/knot.sock"
log:
  - target: stderr
    any: ${4:-info}
database:
  storage: "$3/db"
template:
  - id: default
    storage: "$1/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: cluster.local
    file: cluster.local.zone
  - domain: in-addr.arpa
    file: in-addr.arpa.zone
CONF
}
