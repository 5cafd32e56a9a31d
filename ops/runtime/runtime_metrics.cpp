// The runtime's /metrics collectors and the config file's hash.
#include "ops/runtime/runtime_metrics.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <iterator>

#include "ops/metrics/metric_families.hpp"

namespace clusterdns::ops {

std::string file_sha512(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha512(), nullptr) != 1) return "";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

MetricsPage::Collector snapshot_collector(const SnapshotPipeline& pipeline) {
  return [&pipeline](PromWriter& w) {
    const zones::BuildStats s = pipeline.stats();
    w.family(metric::clusterdns_snapshot_builds_total);
    w.sample(metric::clusterdns_snapshot_builds_total, {}, s.builds);
    w.family(metric::clusterdns_snapshot_build_seconds);
    w.sample(metric::clusterdns_snapshot_build_seconds, {}, s.last_build_seconds);
    w.family(metric::clusterdns_snapshot_bytes);
    w.sample(metric::clusterdns_snapshot_bytes, {}, static_cast<uint64_t>(s.last_bytes));
    w.family(metric::clusterdns_snapshot_names);
    w.sample(metric::clusterdns_snapshot_names, {}, static_cast<uint64_t>(s.last_nodes));
    w.family(metric::clusterdns_snapshot_names_compiled);
    w.sample(metric::clusterdns_snapshot_names_compiled, {}, static_cast<uint64_t>(s.last_compiled));
    w.family(metric::clusterdns_snapshot_generation);
    w.sample(metric::clusterdns_snapshot_generation, {}, pipeline.generation());
  };
}

MetricsPage::Collector source_collector(const Sources& sources) {
  return [&sources](PromWriter& w) {
    const auto status = sources.status();
    w.family(metric::clusterdns_source_synced);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_synced, {{"source", s.name}}, uint64_t{s.synced ? 1u : 0u});
    w.family(metric::clusterdns_source_generation);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_generation, {{"source", s.name}}, s.generation);
    w.family(metric::clusterdns_source_last_event_age_seconds);
    for (const auto& s : status) {
      if (s.seconds_since_event >= 0)
        w.sample(metric::clusterdns_source_last_event_age_seconds, {{"source", s.name}},
                 s.seconds_since_event);
    }
    w.family(metric::clusterdns_source_watches_total);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_watches_total, {{"source", s.name}}, s.restarts.watches);
    w.family(metric::clusterdns_source_relists_total);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_relists_total, {{"source", s.name}}, s.restarts.relists);
    w.family(metric::clusterdns_source_rejected_total);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_rejected_total, {{"source", s.name}}, s.health.rejected);
    w.family(metric::clusterdns_source_last_applied_timestamp_seconds);
    for (const auto& s : status) {
      if (s.health.last_applied_unix_ms > 0)
        w.sample(metric::clusterdns_source_last_applied_timestamp_seconds, {{"source", s.name}},
                 static_cast<double>(s.health.last_applied_unix_ms) / 1e3);
    }
    w.family(metric::clusterdns_source_stale);
    for (const auto& s : status)
      w.sample(metric::clusterdns_source_stale, {{"source", s.name}}, uint64_t{s.health.stale ? 1u : 0u});
    w.family(metric::clusterdns_registry_objects);
    if (auto state = sources.state()) {
      w.sample(metric::clusterdns_registry_objects, {{"kind", "namespace"}},
               uint64_t{state->namespaces.size()});
      w.sample(metric::clusterdns_registry_objects, {{"kind", "service"}}, uint64_t{state->services.size()});
      w.sample(metric::clusterdns_registry_objects, {{"kind", "endpointslice"}},
               uint64_t{state->endpoint_sets.size()});
      w.sample(metric::clusterdns_registry_objects, {{"kind", "pod"}}, uint64_t{state->pods.size()});
    }
  };
}

MetricsPage::Collector reload_collector(const ReloadStats& stats) {
  return [&stats](PromWriter& w) {
    w.family(metric::coredns_reload_failed_total);
    w.sample(metric::coredns_reload_failed_total, {}, stats.failed.load());
    w.family(metric::clusterdns_config_reloads_total);
    w.sample(metric::clusterdns_config_reloads_total, {}, stats.reloads.load());
    w.family(metric::clusterdns_config_last_reload_success_timestamp_seconds);
    w.sample(metric::clusterdns_config_last_reload_success_timestamp_seconds, {},
             stats.last_success_unix.load());
    const std::string hash = stats.config_hash();
    w.family(metric::coredns_reload_version_info);
    if (!hash.empty())
      w.sample(metric::coredns_reload_version_info, {{"hash", "sha512"}, {"value", hash}}, uint64_t{1});
  };
}

MetricsPage::Collector lameduck_collector(const Readiness& readiness) {
  return [&readiness](PromWriter& w) {
    w.family(metric::clusterdns_lameduck);
    w.sample(metric::clusterdns_lameduck, {}, uint64_t{readiness.lameduck() ? 1u : 0u});
  };
}

}  // namespace clusterdns::ops
