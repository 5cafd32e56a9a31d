// The Kubernetes DNS specification 1.1.0 (SPEC.md §1–§9): registry state → records in a ZoneDraft.
#pragma once

#include <cstdint>
#include <string>

#include "discovery/model.hpp"
#include "zones/draft.hpp"

namespace clusterdns::zones {

enum class PodMode { Disabled, Insecure, Verified };

struct ClusterOptions {
  std::string domain = "cluster.local";
  uint32_t ttl = 30;
  PodMode pods = PodMode::Insecure;
  // The Service whose cluster IPs glue the apex NS (--dns-service): this server's own Service.
  std::string dns_service_ns = "kube-system", dns_service_name = "kube-dns";
};

inline constexpr uint32_t kDnsVersionTtl = 28800;  // CoreDNS's TTL for dns-version.<zone>

// The cluster zone and the two reverse zones, with their SOAs (SPEC.md §5). `serial` moves per change.
void add_cluster_zones(ZoneDraft& draft, const ClusterOptions& opts, uint32_t serial);
// Every record the registry implies. Call after add_cluster_zones (and after static zones, if any).
void add_cluster_records(ZoneDraft& draft, const discovery::RegistryState& state, const ClusterOptions& opts);

}  // namespace clusterdns::zones
