// Forwarding and cache families.
#include "ops/forward_metrics.hpp"

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
    w.family("coredns_cache_entries", "gauge", "The number of elements in the cache.");
    w.sample("coredns_cache_entries", with("type", "all"), c.cache_entries);
    w.family("coredns_cache_requests_total", "counter", "The count of cache requests.");
    w.sample("coredns_cache_requests_total", base, c.queries);
    w.family("coredns_cache_hits_total", "counter", "The count of cache hits.");
    w.sample("coredns_cache_hits_total", with("type", "all"), c.cache_hits);
    const uint64_t served = c.cache_hits + c.stale_answers;
    w.family("coredns_cache_misses_total", "counter", "The count of cache misses.");
    w.sample("coredns_cache_misses_total", base, c.queries > served ? c.queries - served : 0);
    w.family("coredns_cache_served_stale_total", "counter",
             "The number of requests served from stale cache entries.");
    w.sample("coredns_cache_served_stale_total", base, c.stale_answers);
    w.family("coredns_cache_prefetch_total", "counter",
             "The number of times the cache has prefetched a cached item.");
    w.sample("coredns_cache_prefetch_total", base, c.prefetches);
    w.family("coredns_forward_max_concurrent_rejects_total", "counter",
             "Queries refused because the concurrent queries were at maximum.");
    w.sample("coredns_forward_max_concurrent_rejects_total", {}, c.refused_inflight);
    w.family("clusterdns_forward_requests_total", "counter", "Queries sent upstream, by attempt.");
    w.sample("clusterdns_forward_requests_total", {{"attempt", "first"}}, c.forwarded);
    w.sample("clusterdns_forward_requests_total", {{"attempt", "retry"}}, c.retries);
    w.family("clusterdns_forward_upstream_failures_total", "counter",
             "Upstream attempts that timed out or failed.");
    w.sample("clusterdns_forward_upstream_failures_total", {}, c.upstream_failures);
    w.family("clusterdns_forward_servfail_total", "counter",
             "Forwarded queries answered SERVFAIL: no upstream, nothing stale.");
    w.sample("clusterdns_forward_servfail_total", {}, c.servfail);
    w.family("clusterdns_forward_loops_total", "counter",
             "Our own queries that came back through an upstream (refused).");
    w.sample("clusterdns_forward_loops_total", {}, c.refused_loop);
    w.family("clusterdns_forward_inflight", "gauge", "Forwarded queries waiting for an upstream.");
    w.sample("clusterdns_forward_inflight", {}, c.inflight);
  };
}

}  // namespace clusterdns::ops
