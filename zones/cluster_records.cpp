// Record synthesis; section numbers refer to the Kubernetes DNS specification 1.1.0.
#include "zones/cluster_records.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <utility>

#include "base/ip_address.hpp"

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
  const std::optional<base::IpAddress> address = base::IpAddress::parse(ip);
  if (!address) return;
  const auto bytes = address->bytes();
  record(owner, address->is_v6() ? wire::rrtype::AAAA : wire::rrtype::A, ttl,
         RdataView({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, Rdata::kNoName));
}

void RecordSink::ptr(const std::string& ip, uint32_t ttl, std::string_view target) {
  if (reverse_name_into(ip, owner_)) record(owner_, wire::rrtype::PTR, ttl, RdataView(target, 0));
}

void RecordSink::srv(std::string_view labels, std::string_view name, uint32_t ttl, uint16_t weight,
                     uint16_t port, std::string_view target) {
  owner_.assign(labels).append(name);
  rdata_.clear();
  append_srv_rdata(rdata_, 0, weight, port, target);
  record(owner_, wire::rrtype::SRV, ttl, RdataView(rdata_, Rdata::kNoName));
}

void write_srv(RecordSink& out, std::string_view name, uint32_t ttl, std::vector<SrvRecord>& srvs,
               bool also_bare) {
  std::sort(srvs.begin(), srvs.end());
  srvs.erase(std::unique(srvs.begin(), srvs.end()), srvs.end());
  if (srvs.empty()) return;
  std::vector<std::pair<uint16_t, std::string_view>> all;
  all.reserve(srvs.size());
  for (size_t i = 0; i < srvs.size();) {
    size_t j = i;
    while (j < srvs.size() && srvs[j].labels == srvs[i].labels)
      ++j;
    const auto weight = static_cast<uint16_t>(100 / (j - i));
    for (; i < j; ++i) {
      out.srv(srvs[i].labels, name, ttl, weight, srvs[i].port, srvs[i].target);
      if (also_bare) all.emplace_back(srvs[i].port, srvs[i].target);
    }
  }
  if (!also_bare) return;
  // Under the bare name, 53/udp and 53/tcp to one target are one record: weigh what is left.
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  const auto weight = static_cast<uint16_t>(100 / all.size());
  for (const auto& [port, target] : all)
    out.srv({}, name, ttl, weight, port, target);
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
  std::vector<SrvRecord> srv;
  std::deque<std::string> kept;  // what `srv` views: SRV labels and the endpoint names they point to
  std::vector<std::pair<std::string_view, uint16_t>> set_ports;
  std::string host;
  bool any_ready = false;
  for (const EndpointSet* set : sets) {
    set_ports.clear();
    if (headless) {
      for (const auto& port : set->ports) {
        if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
        set_ports.emplace_back(kept.emplace_back(srv_labels(port.name, port.protocol)),
                               static_cast<uint16_t>(port.port));
      }
    }
    for (const Endpoint& ep : set->endpoints) {
      if (!ep.ready && !svc.publish_not_ready) continue;
      for (const auto& ip : ep.addresses) {
        host.assign(wire_label(endpoint_label(ep, ip))).append(name);
        any_ready = true;
        out.address(host, opts_.ttl, ip);
        out.ptr(ip, opts_.ttl, host);
        if (headless) {
          out.address(name, opts_.ttl, ip);
          if (set_ports.empty()) continue;
          const std::string_view target = kept.emplace_back(host);
          for (const auto& [labels, port] : set_ports)
            srv.push_back(SrvRecord{labels, port, target});
        }
      }
    }
  }
  if (headless) {
    // Headless with no ready endpoint does not exist (spec §2.4.1): no records at all.
    if (any_ready) write_srv(out, name, opts_.ttl, srv);
    return;
  }
  for (const auto& ip : svc.cluster_ips) {
    out.address(name, opts_.ttl, ip);
    out.ptr(ip, opts_.ttl, name);
  }
  for (const auto& port : svc.ports) {
    if (port.name.empty()) continue;  // unnamed ports have no SRV (§2.3.2)
    srv.push_back(SrvRecord{kept.emplace_back(srv_labels(port.name, port.protocol)),
                            static_cast<uint16_t>(port.port), name});
  }
  write_srv(out, name, opts_.ttl, srv);
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
