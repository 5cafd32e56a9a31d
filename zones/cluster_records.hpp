// The Kubernetes DNS specification 1.1.0: registry state → records in a ZoneDraft.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "discovery/model.hpp"
#include "zones/draft.hpp"

namespace clusterdns::zones {

enum class PodMode { Disabled, Insecure, Verified };

// Names beyond the cluster zone for addresses reachable from outside it (CoreDNS's k8s_external plugin):
// <svc>.<ns>.<zone> for each --external-zone.
struct ExternalOptions {
  std::vector<std::string> zones;  // --external-zone, lower case, without trailing dot; empty: off
  uint32_t ttl = 5;                // --external-ttl (k8s_external's default)
  bool ptr = false;                // --external-ptr: PTR records for the external addresses
  bool headless = false;           // --external-headless: headless services' ready endpoints under the zone
  // --external-ns-address: the glue of ns1.dns.<zone>; empty: the DNS Service's external addresses, or its
  // cluster IPs when it has none.
  std::vector<std::string> ns_addresses;
};

struct ClusterOptions {
  std::string domain = "cluster.local";
  uint32_t ttl = 30;
  PodMode pods = PodMode::Insecure;
  // The Service whose cluster IPs glue the apex NS (--dns-service): this server's own Service.
  std::string dns_service_ns = "kube-system", dns_service_name = "kube-dns";
  ExternalOptions external;
  std::string clusterset_zone;  // --clusterset-zone (e.g. clusterset.local), lower case; "" = off
};

inline constexpr uint32_t kDnsVersionTtl = 28800;  // CoreDNS's TTL for dns-version.<zone>

// Where record synthesis writes one object's records: into a draft (adding), or out of it (removing exactly
// what adding the same object wrote), so a registry change costs the records of the objects it touched.
class RecordSink {
 public:
  RecordSink(ZoneDraft& draft, bool adding) : draft_(draft), adding_(adding) {}
  // Removals are applied last-written first: an RRset's records were written in byte order, so each one
  // removed is its set's last and a Service of 40,000 ports is undone in linear time.
  ~RecordSink() {
    for (auto it = removed_.rbegin(); it != removed_.rend(); ++it)
      draft_.remove(it->owner, it->type, it->ttl, it->rdata);
  }
  RecordSink(const RecordSink&) = delete;
  RecordSink& operator=(const RecordSink&) = delete;
  void record(std::string_view owner, uint16_t type, uint32_t ttl, Rdata rdata) {
    if (adding_) {
      draft_.add(owner, type, ttl, rdata);
    } else {
      removed_.push_back({std::string(owner), type, ttl, std::move(rdata)});
    }
  }
  // The same from views (copied only when kept for removal): a build from nothing at 100,000
  // Services writes 510,000 records, and a string per owner and RDATA was a malloc and a free each.
  void record(std::string_view owner, uint16_t type, uint32_t ttl, RdataView rdata) {
    if (adding_) {
      draft_.add(owner, type, ttl, rdata);
    } else {
      removed_.push_back({std::string(owner), type, ttl, Rdata{std::pmr::string(rdata.raw), rdata.name_at}});
    }
  }
  // An A or AAAA record of `ip` (canonical text) at owner; nothing when it is not an address.
  void address(std::string_view owner, uint32_t ttl, const std::string& ip);
  // The PTR record of `ip` to target; nothing when it is not an address.
  void ptr(const std::string& ip, uint32_t ttl, std::string_view target);
  // SRV (RFC 2782) at `labels` + `name` (labels may be empty): priority 0, the target never compressed.
  void srv(std::string_view labels, std::string_view name, uint32_t ttl, uint16_t weight, uint16_t port,
           std::string_view target);
  void exists(std::string_view owner) {
    adding_ ? void(draft_.add_empty(owner)) : draft_.remove_empty(owner);
  }
  void insecure_pod_parent(std::string_view owner) { draft_.set_insecure_pod_parent(owner, adding_); }

 private:
  struct Removed {
    std::string owner;
    uint16_t type;
    uint32_t ttl;
    Rdata rdata;
  };
  ZoneDraft& draft_;
  bool adding_;
  std::vector<Removed> removed_;
  std::string owner_, rdata_;  // scratch, reused by every record written through it
};

// One SRV before weighing: `port` on `target`, under `labels` (_port._proto). Views: the caller keeps the
// strings they view until write_srv returns.
struct SrvRecord {
  std::string_view labels;
  uint16_t port;
  std::string_view target;
  auto operator<=>(const SrvRecord&) const = default;
};

// Kubernetes DNS specification §2.3.2 / §2.4.2: one SRV per target under <labels><name>, weight 100 / the
// targets under those labels; with `also_bare`, all of them under `name` itself too (CoreDNS's answer to SRV
// at a service name), where 53/udp and 53/tcp to one target are one record. Sorts and dedupes `srvs`. The
// cluster, external and clusterset zones all weigh their SRVs here.
void write_srv(RecordSink& out, std::string_view name, uint32_t ttl, std::vector<SrvRecord>& srvs,
               bool also_bare = true);

// The records each registry object implies (Kubernetes DNS specification 1.1.0), one object at a time.
// A service's or pod's records are written only while its namespace exists: the caller asks for them when
// the namespace does, and again when it comes or goes.
class ClusterRecords {
 public:
  explicit ClusterRecords(const ClusterOptions& opts);
  // Records no object owns: svc./pod. names, dns-version, the apexes' NS.
  void fixed(const std::vector<DraftZone>& zones, RecordSink& out) const;
  void name_space(const std::string& ns, RecordSink& out) const;
  // A service with the endpoint sets that name it (its kubernetes.io/service-name).
  void service(const discovery::Service& svc, const std::vector<const discovery::EndpointSet*>& sets,
               RecordSink& out) const;
  // `pods verified` only.
  void pod(const discovery::Pod& pod, RecordSink& out) const;
  static bool namespace_named(const std::string& ns);

 private:
  ClusterOptions opts_;
  std::string zone_, svc_, pod_, ns_name_;
};

// The cluster zone and the two reverse zones, with their SOAs.
void add_cluster_zones(ZoneDraft& draft, const ClusterOptions& opts);

}  // namespace clusterdns::zones
