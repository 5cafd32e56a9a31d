// The runtime's own /metrics collectors (snapshot builds, the registry sources, reloads, the lameduck) and
// the reload counters they read.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "base/guarded.hpp"
#include "ops/metrics/metrics_page.hpp"
#include "ops/runtime/readiness.hpp"
#include "ops/runtime/snapshot_pipeline.hpp"
#include "ops/runtime/sources.hpp"

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

// SHA-512 of a file's bytes, lower-case hex; "" when it cannot be read.
std::string file_sha512(const std::string& path);

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

}  // namespace clusterdns::ops
