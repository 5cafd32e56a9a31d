// The external zone. Its answers follow CoreDNS's k8s_external plugin (plugin/k8s_external: README, apex.go,
// external_test.go, apex_test.go) and the kubernetes plugin's External() it calls.
#include "zones/external_records.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using discovery::Endpoint;
using discovery::EndpointSet;
using discovery::Service;
using discovery::ServiceKind;

namespace {

// The service's addresses outside the cluster: load balancer ingress IPs, then spec.externalIPs (CoreDNS's
// object.Service.ExternalIPs order), each once.
std::vector<std::string> external_ips(const Service& svc) {
  std::vector<std::string> ips;
  const auto add = [&](const std::string& ip) {
    if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
  };
  for (const auto& in : svc.load_balancer)
    add(in.ip);
  for (const auto& ip : svc.external_ips)
    add(ip);
  return ips;
}

}  // namespace

ExternalRecords::ExternalRecords(const ClusterOptions& opts)
    : opts_(opts.external), dns_service_ns_(opts.dns_service_ns), dns_service_name_(opts.dns_service_name) {
  for (const std::string& text : opts_.zones) {
    auto apex = wire::name_from_text(text);
    if (!apex) continue;
    const std::string lower = wire::lowercase(*apex);
    if (std::any_of(zones_.begin(), zones_.end(), [&](const Zone& z) { return z.apex == lower; })) continue;
    zones_.push_back({lower, wire_label("ns1") + wire_label("dns") + lower});
  }
}

void ExternalRecords::add_zones(ZoneDraft& draft) const {
  for (const Zone& z : zones_) {
    DraftZone dz;
    dz.apex = z.apex;
    dz.mname = z.ns1;
    dz.rname = wire_label("hostmaster") + wire_label("dns") + z.apex;
    // apex.go: refresh 7200, retry 1800, expire 86400 (DraftZone's defaults), minimum and TTL the zone's.
    dz.minimum = opts_.ttl;
    dz.soa_ttl = opts_.ttl;
    dz.registry_backed = true;  // SERVFAIL until the registry has synced, as the cluster zone
    draft.add_zone(std::move(dz));
  }
}

void ExternalRecords::fixed(RecordSink& out) const {
  for (const Zone& z : zones_) {
    out.record(z.apex, wire::rrtype::NS, opts_.ttl, rdata_name(z.ns1));
    // ns1.dns.<zone> exists even before its glue does (NODATA, apex_test.go); dns.<zone> is its parent.
    out.exists(z.ns1);
    for (const std::string& ip : opts_.ns_addresses)
      out.address(z.ns1, opts_.ttl, ip);
  }
}

void ExternalRecords::service(const Service& svc, const std::vector<const EndpointSet*>& sets,
                              RecordSink& out) const {
  if (zones_.empty() || !is_dns_label(svc.ns) || !is_dns_label(svc.name)) return;
  if (opts_.ns_addresses.empty() && svc.ns == dns_service_ns_ && svc.name == dns_service_name_) {
    // The NS glue: this server's addresses as seen from outside (the kubernetes plugin's nsAddrs with
    // external set), or its cluster IPs when its Service has none.
    std::vector<std::string> glue = external_ips(svc);
    if (glue.empty()) glue = svc.cluster_ips;
    for (const Zone& z : zones_) {
      for (const std::string& ip : glue)
        out.address(z.ns1, opts_.ttl, ip);
    }
  }
  // dns.<zone> holds the nameserver names (k8s_external's serveSubApex answers everything below it): a
  // namespace called "dns" has no external names. ExternalName services have no addresses of their own.
  if (svc.ns == "dns" || svc.kind == ServiceKind::ExternalName) return;
  for (const Zone& z : zones_) {
    const std::string name = wire_label(svc.name) + wire_label(svc.ns) + z.apex;
    if (opts_.headless && svc.kind == ServiceKind::Headless) {
      headless(svc, sets, name, out);
      continue;
    }
    std::vector<SrvRecord> srv;
    std::deque<std::string> kept;  // what `srv` views
    const std::vector<std::string> ips = external_ips(svc);
    std::string target = name;
    if (!ips.empty()) {
      for (const std::string& ip : ips) {
        out.address(name, opts_.ttl, ip);
        if (opts_.ptr) out.ptr(ip, opts_.ttl, name);
      }
    } else {
      // Only load balancer hostnames (ELB style): the name is a CNAME to the first (a name owns one CNAME),
      // and SRV targets name it directly, as k8s_external answers.
      auto host = std::find_if(svc.load_balancer.begin(), svc.load_balancer.end(),
                               [](const auto& in) { return !in.hostname.empty(); });
      if (host == svc.load_balancer.end()) continue;  // no external address: not in the zone (NXDOMAIN)
      auto wire_host = wire::name_from_text(host->hostname);
      if (!wire_host) continue;
      target = wire::lowercase(*wire_host);
      out.record(name, wire::rrtype::CNAME, opts_.ttl, rdata_name(target));
    }
    for (const auto& port : svc.ports) {
      if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
      srv.push_back(SrvRecord{kept.emplace_back(srv_labels(port.name, port.protocol)),
                              static_cast<uint16_t>(port.port), target});
    }
    // A CNAME owner has no other data (RFC 1034 §3.6.2): SRV at the bare name only beside addresses.
    write_srv(out, name, opts_.ttl, srv, target == name);
  }
}

void ExternalRecords::headless(const Service& svc, const std::vector<const EndpointSet*>& sets,
                               const std::string& name, RecordSink& out) const {
  std::vector<SrvRecord> srv;
  std::deque<std::string> kept;                   // what `srv` views
  std::map<std::string, std::set<uint16_t>> own;  // endpoint name -> its ports (SRV at the endpoint name)
  for (const EndpointSet* set : sets) {
    for (const Endpoint& ep : set->endpoints) {
      if (!ep.ready && !svc.publish_not_ready) continue;  // ready endpoints only, as the cluster zone
      for (const std::string& ip : ep.addresses) {
        const std::string& host = kept.emplace_back(wire_label(endpoint_label(ep, ip)) + name);
        out.address(host, opts_.ttl, ip);
        out.address(name, opts_.ttl, ip);
        auto& ports = own[host];
        for (const auto& port : set->ports) {
          if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
          const auto p = static_cast<uint16_t>(port.port);
          srv.push_back(SrvRecord{kept.emplace_back(srv_labels(port.name, port.protocol)), p, host});
          ports.insert(p);
        }
      }
    }
  }
  write_srv(out, name, opts_.ttl, srv);
  // SRV at an endpoint's own name: one per port, targeting itself (external_test.go, endpoint-svc-0).
  for (const auto& [host, ports] : own) {
    if (ports.empty()) continue;
    const auto weight = static_cast<uint16_t>(100 / ports.size());
    for (uint16_t p : ports)
      out.record(host, wire::rrtype::SRV, opts_.ttl, rdata_srv(0, weight, p, host));
  }
}

}  // namespace clusterdns::zones
