// coredns_cache_* and coredns_forward_* for the forwarding path (dns/forward), from a plain counter struct
// the composition root fills, so that ops/ does not depend on the forwarder's internals.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ops/metrics/metrics_page.hpp"

namespace clusterdns::ops {

struct ForwardCounters {
  uint64_t queries = 0;        // reached the forwarder (cache requests)
  uint64_t cache_hits = 0;     // fresh cache answers
  uint64_t stale_answers = 0;  // RFC 8767 answers past expiry
  uint64_t prefetches = 0;
  uint64_t cache_entries = 0;
  uint64_t forwarded = 0;          // first attempts upstream
  uint64_t retries = 0;            // further attempts
  uint64_t upstream_failures = 0;  // timeouts and errors
  uint64_t servfail = 0;           // nothing answered, nothing stale
  uint64_t refused_inflight = 0;   // over --max-inflight
  uint64_t refused_loop = 0;       // forwarding loops detected
  uint64_t inflight = 0;
};

// The cache families carry CoreDNS's labels {server, zones, view} (type="all" on hits and entries: the cache
// does not split success from denial); the forward families are CoreDNS's where one exists
// (coredns_forward_max_concurrent_rejects_total), clusterdns_forward_* otherwise.
MetricsPage::Collector forward_collector(std::function<ForwardCounters()> read, std::string server);

}  // namespace clusterdns::ops
