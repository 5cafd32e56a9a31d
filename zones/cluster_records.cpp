// Record synthesis; section numbers refer to the Kubernetes DNS specification 1.1.0.
#include "zones/cluster_records.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using discovery::Endpoint;
using discovery::EndpointSet;
using discovery::Service;
using discovery::ServiceKind;

ClusterRecords::ClusterRecords(const ClusterOptions& opts) : opts_(opts) {
  zone_ = wire::name_from_text(opts.domain).value_or(std::string(1, '\0'));
  svc_ = wire_label("svc") + zone_;
  pod_ = wire_label("pod") + zone_;
  ns_name_ = wire_label("ns") + wire_label("dns") + zone_;
}

void ClusterRecords::fixed(const std::vector<DraftZone>& zones, RecordSink& out) const {
  out.exists(svc_);
  out.exists(pod_);  // exists in every pod mode
  // §2.2 schema version.
  out.record(wire_label("dns-version") + zone_, wire::rrtype::TXT, kDnsVersionTtl, rdata_txt("1.1.0"));
  // NS at every apex: ns.dns.<zone>, glued to the DNS Service's addresses (--dns-service,
  // written by service()).
  for (const auto& zone : zones) {
    if (zone.registry_backed) out.record(zone.apex, wire::rrtype::NS, opts_.ttl, rdata_name(ns_name_));
  }
}

bool ClusterRecords::namespace_named(const std::string& ns) {
  return is_dns_label(ns);
}

void ClusterRecords::name_space(const std::string& ns, RecordSink& out) const {
  if (!namespace_named(ns)) return;
  out.exists(wire_label(ns) + svc_);  // an existing namespace is NODATA, never NXDOMAIN (§4)
  if (opts_.pods == PodMode::Disabled) return;
  const std::string pod_ns = wire_label(ns) + pod_;
  out.exists(pod_ns);
  if (opts_.pods == PodMode::Insecure) out.insecure_pod_parent(pod_ns);
}

void RecordSink::address(std::string_view owner, uint32_t ttl, const std::string& ip) {
  uint16_t type = 0;
  Rdata rd;
  if (rdata_ip(ip, type, rd)) record(owner, type, ttl, std::move(rd));
}

void RecordSink::ptr(const std::string& ip, uint32_t ttl, std::string_view target) {
  const std::string rev = reverse_name(ip);
  if (!rev.empty()) record(rev, wire::rrtype::PTR, ttl, rdata_name(target));
}

// §2.3.2 / §2.4.2: one SRV per target under _port._proto, all of them under the service name too
// (CoreDNS extension); weight = 100 / number of targets.
void ClusterRecords::add_srv(RecordSink& out, const std::string& service_name,
                             const std::map<std::string, std::set<SrvTarget>>& by_port) const {
  std::set<SrvTarget> all;
  for (const auto& [key, targets] : by_port) {
    const auto weight = static_cast<uint16_t>(100 / targets.size());
    for (const auto& t : targets) {
      out.record(key + service_name, wire::rrtype::SRV, opts_.ttl, rdata_srv(0, weight, t.port, t.target));
      all.insert(t);
    }
  }
  if (all.empty()) return;
  // Under the bare name, 53/udp and 53/tcp to one target are one record: weigh what is left.
  const auto weight = static_cast<uint16_t>(100 / all.size());
  for (const auto& t : all) {
    out.record(service_name, wire::rrtype::SRV, opts_.ttl, rdata_srv(0, weight, t.port, t.target));
  }
}

void ClusterRecords::service(const Service& svc, const std::vector<const EndpointSet*>& sets,
                             RecordSink& out) const {
  if (!namespace_named(svc.ns) || !is_dns_label(svc.name)) return;
  if (svc.ns == opts_.dns_service_ns && svc.name == opts_.dns_service_name) {
    for (const auto& ip : svc.cluster_ips)
      out.address(ns_name_, opts_.ttl, ip);  // the NS glue (fixed())
  }
  const std::string name = wire_label(svc.name) + wire_label(svc.ns) + svc_;
  if (svc.kind == ServiceKind::ExternalName) {
    // §2.5: a CNAME to the absolute external name; an IP literal is not a name.
    if (discovery::canonical_ip(svc.external_name)) return;
    auto target = wire::name_from_text(svc.external_name);
    if (target) out.record(name, wire::rrtype::CNAME, opts_.ttl, rdata_name(*target));
    return;
  }
  const bool headless = svc.kind == ServiceKind::Headless;
  // Ready endpoints, merged across slices; not-ready ones are invisible (§2.4.1).
  std::map<std::string, std::set<SrvTarget>> srv;
  bool any_ready = false;
  for (const EndpointSet* set : sets) {
    for (const Endpoint& ep : set->endpoints) {
      if (!ep.ready && !svc.publish_not_ready) continue;
      for (const auto& ip : ep.addresses) {
        const std::string host = wire_label(endpoint_label(ep, ip)) + name;
        any_ready = true;
        out.address(host, opts_.ttl, ip);
        out.ptr(ip, opts_.ttl, host);
        if (headless) {
          out.address(name, opts_.ttl, ip);
          for (const auto& port : set->ports) {
            if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
            srv[srv_labels(port.name, port.protocol)].insert(
                SrvTarget{static_cast<uint16_t>(port.port), host});
          }
        }
      }
    }
  }
  if (headless) {
    // Headless with no ready endpoint does not exist (spec §2.4.1): no records at all.
    if (any_ready) add_srv(out, name, srv);
    return;
  }
  for (const auto& ip : svc.cluster_ips) {
    out.address(name, opts_.ttl, ip);
    out.ptr(ip, opts_.ttl, name);
  }
  for (const auto& port : svc.ports) {
    if (port.name.empty()) continue;  // unnamed ports have no SRV (§2.3.2)
    srv[srv_labels(port.name, port.protocol)].insert(SrvTarget{static_cast<uint16_t>(port.port), name});
  }
  add_srv(out, name, srv);
  out.exists(name);  // a ClusterIP service exists even without endpoints or IPs
}

void ClusterRecords::pod(const discovery::Pod& pod, RecordSink& out) const {
  if (opts_.pods != PodMode::Verified || !namespace_named(pod.ns)) return;
  if (pod.ip.empty() || pod.terminating) return;
  if (pod.phase == "Succeeded" || pod.phase == "Failed" || pod.phase == "Unknown") return;
  out.address(wire_label(dashed_ip(pod.ip)) + wire_label(pod.ns) + pod_, opts_.ttl, pod.ip);
}

void add_cluster_zones(ZoneDraft& draft, const ClusterOptions& opts) {
  const std::string zone = wire::name_from_text(opts.domain).value_or(std::string(1, '\0'));
  const std::string mname = wire_label("ns") + wire_label("dns") + zone;
  const std::string rname = wire_label("hostmaster") + zone;
  for (const char* apex : {"", "in-addr.arpa", "ip6.arpa"}) {
    DraftZone z;
    z.apex = *apex ? *wire::name_from_text(apex) : zone;
    z.mname = mname;
    z.rname = rname;
    z.minimum = opts.ttl;
    z.soa_ttl = std::min<uint32_t>(opts.ttl, 300);
    z.registry_backed = true;
    draft.add_zone(std::move(z));
  }
}

}  // namespace clusterdns::zones
