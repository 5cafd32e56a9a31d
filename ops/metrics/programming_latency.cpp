// DNS programming latency: endpoint objects' trigger times against snapshot publication.
#include "ops/metrics/programming_latency.hpp"

#include <algorithm>

#include "ops/metrics/metric_families.hpp"

namespace clusterdns::ops {

namespace {

const std::array<double, ProgrammingLatency::kBounds>& bounds() {
  static const std::array<double, ProgrammingLatency::kBounds> b = [] {
    std::array<double, ProgrammingLatency::kBounds> out{};
    double v = 0.001;
    for (double& x : out) {
      x = v;
      v *= 2;
    }
    return out;
  }();
  return b;
}

constexpr const char* kKindLabels[] = {"cluster_ip", "headless_with_selector", "headless_without_selector"};

}  // namespace

void ProgrammingLatency::published(const discovery::RegistryState& state,
                                   std::chrono::system_clock::time_point now) {
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  if (!last_) {
    last_ = state;  // the first publication only learns the trigger times (a restart is no change)
    return;
  }
  // Only the endpoint sets that moved since the last publication: O(what changed).
  discovery::ObjectTable<discovery::EndpointSet>::diff(
      last_->endpoint_sets, state.endpoint_sets,
      [&](const discovery::EndpointSet* before, const discovery::EndpointSet* set) {
        if (!set || set->trigger_time_ms == 0) return;
        if (before && before->trigger_time_ms == set->trigger_time_ms) return;
        const discovery::Service* svc = state.services.find({set->ns, set->service_name});
        if (!svc) return;  // as CoreDNS: no backing service known, no observation
        if (svc->kind == discovery::ServiceKind::ExternalName) return;
        Kind kind = ClusterIp;
        if (svc->kind == discovery::ServiceKind::Headless)
          kind = svc->selector.empty() ? HeadlessWithoutSelector : HeadlessWithSelector;
        const double seconds = std::max<int64_t>(0, now_ms - set->trigger_time_ms) / 1000.0;
        Histogram& h = histograms_[kind];
        const auto& b = bounds();
        const std::size_t bucket =
            static_cast<std::size_t>(std::lower_bound(b.begin(), b.end(), seconds) - b.begin());
        ++h.counts[bucket];
        h.sum += seconds;
      });
  last_ = state;  // shares every object with `state`: a copy of chunk pointers
}

uint64_t ProgrammingLatency::count(Kind kind) const {
  std::lock_guard lock(mutex_);
  uint64_t n = 0;
  for (uint64_t c : histograms_[kind].counts)
    n += c;
  return n;
}

MetricsPage::Collector ProgrammingLatency::collector() const {
  return [this](PromWriter& w) {
    std::lock_guard lock(mutex_);
    w.family(metric::coredns_kubernetes_dns_programming_duration_seconds);
    for (int k = 0; k < kKinds; ++k) {
      const Histogram& h = histograms_[static_cast<std::size_t>(k)];
      w.histogram(metric::coredns_kubernetes_dns_programming_duration_seconds,
                  {{"service_kind", kKindLabels[k]}}, bounds(), h.counts, h.sum);
    }
  };
}

}  // namespace clusterdns::ops
