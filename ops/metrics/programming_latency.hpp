// coredns_kubernetes_dns_programming_duration_seconds{service_kind}: the DNS programming latency SLI of
// sig-scalability, as CoreDNS measures it — from an endpoints object's
// endpoints.kubernetes.io/last-change-trigger-time (set by the endpoints controllers) to the moment a
// snapshot answering with that change is published. Clocks of the controller and of this node are compared.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <mutex>
#include <string>

#include "discovery/model.hpp"
#include "ops/metrics/metrics_page.hpp"

namespace clusterdns::ops {

class ProgrammingLatency {
 public:
  // CoreDNS's buckets: 1 ms doubling to ~9 minutes (20 bounds).
  static constexpr std::size_t kBounds = 20;
  enum Kind { ClusterIp, HeadlessWithSelector, HeadlessWithoutSelector, kKinds };

  // After each publication (the rebuilder's thread). Observes every endpoints object whose trigger time is
  // new since the last publication; the first publication only learns them (a restart is no change).
  void published(const discovery::RegistryState& state,
                 std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  MetricsPage::Collector collector() const;
  uint64_t count(Kind kind) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBounds + 1> counts{};
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::optional<discovery::RegistryState> last_;  // the state of the last publication
  std::array<Histogram, kKinds> histograms_;
};

}  // namespace clusterdns::ops
