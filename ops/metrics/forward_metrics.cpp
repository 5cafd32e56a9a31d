// Forwarding and cache families.
#include "ops/metrics/forward_metrics.hpp"

#include "ops/metrics/metric_families.hpp"

namespace clusterdns::ops {

MetricsPage::Collector forward_collector(std::function<ForwardCounters()> read, std::string server) {
  return [read = std::move(read), server = std::move(server)](PromWriter& w) {
    const ForwardCounters c = read();
    const Labels base{{"server", server}, {"zones", "."}, {"view", ""}};
    const auto with = [&](std::string_view k, std::string v) {
      Labels l = base;
      l.emplace_back(k, std::move(v));
      return l;
    };
    w.family(metric::coredns_cache_entries);
    w.sample(metric::coredns_cache_entries, with("type", "all"), c.cache_entries);
    w.family(metric::coredns_cache_requests_total);
    w.sample(metric::coredns_cache_requests_total, base, c.queries);
    w.family(metric::coredns_cache_hits_total);
    w.sample(metric::coredns_cache_hits_total, with("type", "all"), c.cache_hits);
    const uint64_t served = c.cache_hits + c.stale_answers;
    w.family(metric::coredns_cache_misses_total);
    w.sample(metric::coredns_cache_misses_total, base, c.queries > served ? c.queries - served : 0);
    w.family(metric::coredns_cache_served_stale_total);
    w.sample(metric::coredns_cache_served_stale_total, base, c.stale_answers);
    w.family(metric::coredns_cache_prefetch_total);
    w.sample(metric::coredns_cache_prefetch_total, base, c.prefetches);
    w.family(metric::coredns_forward_max_concurrent_rejects_total);
    w.sample(metric::coredns_forward_max_concurrent_rejects_total, {}, c.refused_inflight);
    w.family(metric::clusterdns_forward_requests_total);
    w.sample(metric::clusterdns_forward_requests_total, {{"attempt", "first"}}, c.forwarded);
    w.sample(metric::clusterdns_forward_requests_total, {{"attempt", "retry"}}, c.retries);
    w.family(metric::clusterdns_forward_upstream_failures_total);
    w.sample(metric::clusterdns_forward_upstream_failures_total, {}, c.upstream_failures);
    w.family(metric::clusterdns_forward_servfail_total);
    w.sample(metric::clusterdns_forward_servfail_total, {}, c.servfail);
    w.family(metric::clusterdns_forward_loops_total);
    w.sample(metric::clusterdns_forward_loops_total, {}, c.refused_loop);
    w.family(metric::clusterdns_forward_inflight);
    w.sample(metric::clusterdns_forward_inflight, {}, c.inflight);
  };
}

}  // namespace clusterdns::ops
