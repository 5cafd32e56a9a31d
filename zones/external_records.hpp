// The external zone (--external-zone), as CoreDNS's k8s_external plugin serves it: <svc>.<ns>.<zone> for the
// addresses a Service has outside the cluster (status.loadBalancer.ingress, spec.externalIPs).
#pragma once

#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "zones/cluster_records.hpp"
#include "zones/draft.hpp"

namespace clusterdns::zones {

// The records of the external zones, one object at a time, written through the same RecordSink as the
// cluster zone's (so a change adds and removes exactly what it touched). Each zone's apex has an SOA
// (mname ns1.dns.<zone>, rname hostmaster.dns.<zone>, minimum = the external TTL) and an NS ns1.dns.<zone>
// glued to this server's addresses.
class ExternalRecords {
 public:
  explicit ExternalRecords(const ClusterOptions& opts);
  bool enabled() const { return !zones_.empty(); }
  // Adds the zones (apex SOA) to the draft; before any record of theirs.
  void add_zones(ZoneDraft& draft) const;
  // Records no object owns: the apexes' NS, ns1.dns.<zone> (and its glue when --external-ns-address).
  void fixed(RecordSink& out) const;
  // A service's external names (and the NS glue when it is the --dns-service one). `sets`: the endpoint
  // sets naming it, for --external-headless.
  void service(const discovery::Service& svc, const std::vector<const discovery::EndpointSet*>& sets,
               RecordSink& out) const;

 private:
  struct Zone {
    std::string apex;  // wire form
    std::string ns1;   // ns1.dns.<apex>
  };
  void headless(const discovery::Service& svc, const std::vector<const discovery::EndpointSet*>& sets,
                const std::string& name, RecordSink& out) const;

  ExternalOptions opts_;
  std::string dns_service_ns_, dns_service_name_;
  std::vector<Zone> zones_;
};

}  // namespace clusterdns::zones
