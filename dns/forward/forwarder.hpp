// Forwarding of names outside the served zones: per-worker c-ares channels, random upstream IDs, a
// per-worker packet cache, upstream health and loop detection. Cluster-agnostic: zones/ hands it the
// queries it does not own (ResponderOptions::fallback).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "base/counter.hpp"
#include "dns/forward/acl.hpp"
#include "dns/forward/cache.hpp"
#include "dns/forward/cares_channel.hpp"
#include "dns/forward/routes.hpp"
#include "dns/handler.hpp"

namespace clusterdns::dns::forward {

struct ForwarderOptions {
  ChannelOptions channel;       // per-attempt timeout, --upstream-tcp
  unsigned attempts = 2;        // upstream tries per query, each to the next usable server
  size_t max_inflight = 10000;  // queries waiting for an upstream, server-wide; beyond: REFUSED
  CacheOptions cache;           // capacity is the total, split between `workers`
  unsigned workers = 1;         // the server's worker threads
  uint32_t down_after = 2;      // consecutive timeouts/errors that mark an upstream down
  std::chrono::milliseconds health_interval{1000};  // probes of down upstreams
  std::chrono::seconds loop_recheck{30};            // probes of upstreams that looped
  ClientAcl recursion_clients;  // who may have names forwarded (--allow-recursion); others: REFUSED
};

// Totals over the workers (relaxed reads: approximate while running).
struct ForwarderStats {
  uint64_t queries = 0;            // queries that reached the forwarder
  uint64_t cache_hits = 0;         // answered from the cache, fresh
  uint64_t stale_answers = 0;      // answered from the cache past expiry (RFC 8767)
  uint64_t forwarded = 0;          // sent upstream (first attempts)
  uint64_t retries = 0;            // further attempts at other upstreams
  uint64_t upstream_failures = 0;  // timeouts and errors
  uint64_t servfail = 0;           // no upstream answered and nothing stale: SERVFAIL
  uint64_t refused_inflight = 0;   // over max_inflight
  uint64_t refused_loop = 0;       // our own queries that came back
  uint64_t refused_client = 0;     // from a client outside --allow-recursion
  uint64_t cname_chases = 0;       // CNAME targets outside the zones resolved for an answer
  uint64_t prefetches = 0;
  uint64_t inflight = 0;       // now
  uint64_t cache_entries = 0;  // answers in the shared cache
};

namespace detail {
class ForwardWorker;
}

class Forwarder : public QueryHandler, public Recursion, public WorkerHooks {
 public:
  static constexpr unsigned kMaxWorkers = 256;

  // `routes` and `health` must outlive the Forwarder; routes may be re-published at any time.
  Forwarder(ForwarderOptions options, const RoutesHolder& routes, HealthRegistry& health);
  ~Forwarder() override;

  // Cache hits answer now; misses defer (ctx.deferrer) and answer when an upstream does. Queries outside
  // every route group with servers (forwarding off) are REFUSED.
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) override;
  void start_worker(unsigned worker, boost::asio::io_context& io) override;
  void stop_worker(unsigned worker) override;
  // Recursion (zones/ asks): routes and --allow-recursion; CNAME targets through answer() and its cache.
  bool recurses(std::string_view qname, const QueryContext& ctx) override;
  size_t complete_cname(std::span<const uint8_t> query, std::span<uint8_t> out, size_t len,
                        std::string_view target, const QueryContext& ctx) override;

  ForwarderStats stats() const;
  const ForwarderOptions& options() const { return options_; }

 private:
  friend class detail::ForwardWorker;
  struct alignas(64) Counters {
    base::Counter queries, cache_hits, shared_hits, stale_answers, forwarded, retries, upstream_failures,
        servfail, refused_inflight, refused_loop, prefetches, refused_client, cname_chases;  // single writer
  };

  ForwarderOptions options_;
  const RoutesHolder& routes_;
  HealthRegistry& health_;
  std::atomic<int64_t> inflight_{0};
  SharedCache shared_;  // behind the workers' own caches
  std::array<Counters, kMaxWorkers> counters_;
  std::array<std::unique_ptr<detail::ForwardWorker>, kMaxWorkers> workers_;  // each touched by its thread
};

}  // namespace clusterdns::dns::forward
