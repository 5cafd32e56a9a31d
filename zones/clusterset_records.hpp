// clusterset.local (--clusterset-zone): the Multi-Cluster Services API's DNS (KEP-1645, the "Kubernetes
// DNS-Based Multicluster Service Discovery" specification 1.0.0 in kubernetes/enhancements), as CoreDNS's
// multicluster plugin serves it: <svc>.<ns>.svc.<zone> for each ServiceImport.
#pragma once

#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "zones/cluster_records.hpp"
#include "zones/draft.hpp"

namespace clusterdns::zones {

inline constexpr const char* kClustersetDnsVersion = "1.0.0";  // the multicluster schema's version (§1)

class ClustersetRecords {
 public:
  explicit ClustersetRecords(const ClusterOptions& opts);
  bool enabled() const { return !apex_.empty(); }
  // Adds the zone (apex SOA; the NS is the cluster zone's ns.dns.<domain>, written by ClusterRecords::fixed).
  void add_zone(ZoneDraft& draft) const;
  // svc.<zone> and dns-version.<zone> (§2.2).
  void fixed(RecordSink& out) const;
  // One ServiceImport with the EndpointSlices labelled multicluster.kubernetes.io/service-name=<its name>.
  void service_import(const discovery::ServiceImport& import,
                      const std::vector<const discovery::EndpointSet*>& sets, RecordSink& out) const;

 private:
  uint32_t ttl_;
  std::string apex_, svc_, mname_;
};

}  // namespace clusterdns::zones
