// clusterset.local records; section numbers refer to the Kubernetes DNS-Based Multicluster Service Discovery
// specification 1.0.0 (kubernetes/enhancements keps/sig-multicluster/1645-multi-cluster-services-api).
#include "zones/clusterset_records.hpp"

#include <algorithm>
#include <deque>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using discovery::Endpoint;
using discovery::EndpointSet;
using discovery::ImportType;
using discovery::ServiceImport;

ClustersetRecords::ClustersetRecords(const ClusterOptions& opts) : ttl_(opts.ttl) {
  if (opts.clusterset_zone.empty()) return;
  auto apex = wire::name_from_text(opts.clusterset_zone);
  auto cluster = wire::name_from_text(opts.domain);
  if (!apex || !cluster) return;
  apex_ = wire::lowercase(*apex);
  svc_ = wire_label("svc") + apex_;
  mname_ = wire_label("ns") + wire_label("dns") + wire::lowercase(*cluster);  // the cluster zone's nameserver
}

void ClustersetRecords::add_zone(ZoneDraft& draft) const {
  if (apex_.empty()) return;
  DraftZone z;
  z.apex = apex_;
  z.mname = mname_;
  z.rname = wire_label("hostmaster") + apex_;
  z.minimum = ttl_;
  z.soa_ttl = std::min<uint32_t>(ttl_, 300);
  z.registry_backed = true;
  draft.add_zone(std::move(z));
}

void ClustersetRecords::fixed(RecordSink& out) const {
  if (apex_.empty()) return;
  out.exists(svc_);
  out.record(wire_label("dns-version") + apex_, wire::rrtype::TXT, kDnsVersionTtl,
             rdata_txt(kClustersetDnsVersion));
}

void ClustersetRecords::service_import(const ServiceImport& import,
                                       const std::vector<const EndpointSet*>& sets, RecordSink& out) const {
  if (apex_.empty() || !is_dns_label(import.ns) || !is_dns_label(import.name)) return;
  const std::string name = wire_label(import.name) + wire_label(import.ns) + svc_;
  std::vector<SrvRecord> srv;
  std::deque<std::string> kept;  // what `srv` views
  if (import.type == ImportType::ClusterSetIp) {
    // §2.3.1-§2.3.3: the clusterset IPs and their PTRs (where the cluster zone has one for the address, the
    // snapshot compiler leaves ours out: SnapshotCompiler's yielding_ptr_zone), SRV per named port to the
    // service name. No <clusterid> names (§2.3.4).
    for (const std::string& ip : import.ips) {
      out.address(name, ttl_, ip);
      out.ptr(ip, ttl_, name);
    }
    for (const auto& port : import.ports) {
      if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
      srv.push_back(SrvRecord{kept.emplace_back(srv_labels(port.name, port.protocol)),
                              static_cast<uint16_t>(port.port), name});
    }
    write_srv(out, name, ttl_, srv);
    out.exists(name);  // an import without IPs yet is NODATA, as a ClusterIP service without one
    return;
  }
  // §2.4: every ready endpoint of every exporting cluster; <hostname>.<clusterid>.<svc> per endpoint whose
  // slice names its cluster (multicluster.kubernetes.io/source-cluster); the hostname, else the dashed IP
  // (the "system-assigned identifier" of §2.1, as the cluster zone names endpoints).
  for (const EndpointSet* set : sets) {
    const bool named = is_dns_label(wire::lowercase(set->source_cluster));
    for (const Endpoint& ep : set->endpoints) {
      if (!ep.ready) continue;
      for (const std::string& ip : ep.addresses) {
        out.address(name, ttl_, ip);
        if (!named) continue;
        const std::string host_label =
            !ep.hostname.empty() && is_dns_label(wire::lowercase(ep.hostname)) ? ep.hostname : dashed_ip(ip);
        const std::string& host =
            kept.emplace_back(wire_label(host_label) + wire_label(set->source_cluster) + name);
        out.address(host, ttl_, ip);
        out.ptr(ip, ttl_, host);
        for (const auto& port : set->ports) {
          if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
          srv.push_back(SrvRecord{kept.emplace_back(srv_labels(port.name, port.protocol)),
                                  static_cast<uint16_t>(port.port), host});
        }
      }
    }
  }
  write_srv(out, name, ttl_, srv);  // no ready endpoint: no records at all, NXDOMAIN (§2.4.1)
}

}  // namespace clusterdns::zones
