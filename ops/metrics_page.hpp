// /metrics: CoreDNS's metric families (so its dashboards and alerts work) plus clusterdns_* for what
// CoreDNS lacks, each family written by a collector; other components add their own (cache, forward).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/guarded.hpp"
#include "dns/server/server.hpp"
#include "ops/prometheus_text.hpp"
#include "ops/query_metrics.hpp"
#include "ops/readiness.hpp"
#include "ops/snapshot_pipeline.hpp"

namespace clusterdns::ops {

// Counted by the lifecycle (reloads) and read by /metrics.
struct ReloadStats {
  std::atomic<uint64_t> reloads{0};  // attempts, from SIGHUP or a changed config file
  std::atomic<uint64_t> failed{0};   // rejected: the old configuration stayed
  std::atomic<double> last_success_unix{0};
  // SHA-512 (hex) of the config file in force, "" without one.
  void set_config_hash(std::string hex) { *config_sha512_.lock() = std::move(hex); }
  std::string config_hash() const { return *config_sha512_.lock(); }

 private:
  base::Guarded<std::string> config_sha512_;
};

// The `server` label CoreDNS gives a listener: "dns://:53" for a wildcard address, "dns://127.0.0.1:5353"
// for a bound one; addresses sharing a port and all wildcards collapse into one.
std::string server_label(const std::vector<dns::ListenAddress>& bound);

// SHA-512 of a file's bytes, lower-case hex; "" when it cannot be read.
std::string file_sha512(const std::string& path);

class MetricsPage {
 public:
  using Collector = std::function<void(PromWriter&)>;
  // Collectors run in the order added, on the HTTP thread of each scrape. Add them all before serving.
  void add(Collector c) { collectors_.push_back(std::move(c)); }
  std::string render() const;

 private:
  std::vector<Collector> collectors_;
};

// coredns_dns_requests_total, coredns_dns_do_requests_total, coredns_dns_responses_total,
// coredns_dns_request_duration_seconds, coredns_dns_request_size_bytes, coredns_dns_response_size_bytes,
// coredns_panics_total, clusterdns_query_log_dropped_total. `server` is the label CoreDNS puts on them
// ("dns://:53"); zone is "." and view "" as with kubeadm's Corefile.
MetricsPage::Collector query_collector(const QueryMetrics& metrics, std::string server);
// clusterdns_dns_{udp,tcp}_queries_total, clusterdns_dns_dropped_total, clusterdns_dns_udp_send_errors_total,
// clusterdns_dns_tcp_connections_total{result}.
MetricsPage::Collector server_collector(const dns::Server& server);
// clusterdns_snapshot_{builds_total,build_seconds,bytes,names,generation}.
MetricsPage::Collector snapshot_collector(const SnapshotPipeline& pipeline);
// clusterdns_source_{synced,generation,last_event_age_seconds,watches_total,relists_total,rejected_total,
// last_applied_timestamp_seconds,stale}{source} and
// clusterdns_registry_objects{kind} of the server's registry.
MetricsPage::Collector source_collector(const Sources& sources);
// coredns_reload_failed_total, clusterdns_config_reloads_total,
// clusterdns_config_last_reload_success_timestamp_seconds, coredns_reload_version_info{hash,value}.
MetricsPage::Collector reload_collector(const ReloadStats& stats);
// clusterdns_lameduck (1 from SIGTERM on).
MetricsPage::Collector lameduck_collector(const Readiness& readiness);
// coredns_build_info{version,revision,goversion} and the process_* families Prometheus clients export
// (start time, CPU, resident memory, open fds, threads).
MetricsPage::Collector process_collector(std::string version, std::string revision);

}  // namespace clusterdns::ops
