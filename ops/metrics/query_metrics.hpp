// Per-query metrics with CoreDNS's names and labels: per-thread counter blocks written without a lock or an
// allocation, summed when /metrics is scraped; and MetricsHandler, the QueryHandler decorator that feeds
// them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dns/handler.hpp"

namespace clusterdns::ops {

class QueryLog;

// The `type` label: CoreDNS's monitored query types, then "other" (plugin/metrics/vars/report.go).
inline constexpr size_t kTypeSlots = 19;
size_t type_slot(uint16_t qtype);
const char* type_label(size_t slot);

// The `rcode` label of the 4-bit header RCODE: "NOERROR", "NXDOMAIN", …, "RCODE11" for unassigned values.
inline constexpr size_t kRcodeSlots = 16;
std::string rcode_label(unsigned rcode);

// The `plugin` label of coredns_dns_responses_total: who wrote the response.
enum class Plugin : uint8_t { Kubernetes, Forward, Cache, None };
inline constexpr size_t kPluginSlots = 4;
const char* plugin_label(Plugin p);

// CoreDNS's buckets: plugin.TimeBuckets (0.25 ms · 2^i, 16 bounds) and the size buckets of vars.go.
inline constexpr size_t kDurationBounds = 16;
double duration_bound_seconds(size_t i);
inline constexpr size_t kSizeBounds = 14;
inline constexpr uint32_t kSizeBoundValues[kSizeBounds] = {0,    100,  200,  300,   400,   511,   1023,
                                                           2047, 4095, 8291, 16000, 32000, 48000, 64000};

// Where each counter lives in a flat block; histograms store per-bucket (non-cumulative) counts with a
// last slot for +Inf.
struct Slots {
  static constexpr size_t requests(size_t proto, size_t family, size_t type) {
    return (proto * 2 + family) * kTypeSlots + type;
  }
  static constexpr size_t kDo = 2 * 2 * kTypeSlots;
  static constexpr size_t responses(size_t plugin, size_t rcode) {
    return kDo + 1 + plugin * kRcodeSlots + rcode;
  }
  static constexpr size_t kDurationBase = kDo + 1 + kPluginSlots * kRcodeSlots;
  static constexpr size_t duration_bucket(size_t type, size_t bucket) {
    return kDurationBase + type * (kDurationBounds + 1) + bucket;
  }
  static constexpr size_t duration_sum_ns(size_t type) {
    return kDurationBase + kTypeSlots * (kDurationBounds + 1) + type;
  }
  static constexpr size_t kSizeBase = kDurationBase + kTypeSlots * (kDurationBounds + 2);
  // which: 0 request, 1 response
  static constexpr size_t size_bucket(size_t which, size_t proto, size_t bucket) {
    return kSizeBase + (which * 2 + proto) * (kSizeBounds + 2) + bucket;
  }
  static constexpr size_t size_sum(size_t which, size_t proto) {
    return size_bucket(which, proto, kSizeBounds + 1);
  }
  static constexpr size_t kPanics = kSizeBase + 4 * (kSizeBounds + 2);
  static constexpr size_t kLogDropped = kPanics + 1;
  static constexpr size_t kCount = kLogDropped + 1;
};

// The sum over every thread, read with relaxed loads: approximate while queries run, exact when idle.
struct QueryTotals {
  uint64_t v[Slots::kCount] = {};
  uint64_t operator[](size_t slot) const { return v[slot]; }
};

// One answered (or deferred) query, as the decorator or a deferred-answer path saw it.
struct Exchange {
  std::span<const uint8_t> query;
  // The parse of `query` (the server's, QueryContext::parsed); null: record() parses it.
  const dns::wire::ParsedQuery* parsed = nullptr;
  std::span<const uint8_t> response;  // empty: no response (dropped, or deferred to a later record)
  const dns::QueryContext* ctx = nullptr;
  std::chrono::nanoseconds elapsed{0};
  Plugin plugin = Plugin::Kubernetes;
  bool count_request = true;  // false for the second half of a deferred answer (the request was counted)
};

class QueryMetrics {
 public:
  QueryMetrics();
  ~QueryMetrics();
  QueryMetrics(const QueryMetrics&) = delete;
  QueryMetrics& operator=(const QueryMetrics&) = delete;

  // Any thread. After a thread's first call (which registers its block under a mutex, once), a record is a
  // few relaxed loads and stores into that thread's own block: no lock, no allocation, no system call.
  void record(const Exchange& e);
  void count_panic();

  // Sums every thread's block. Any thread (the HTTP scrape thread).
  QueryTotals totals() const;

  // Sampled query log: every ⌈1/rate⌉-th query of each thread is copied into that thread's ring for the
  // logger thread. 0 turns it off. Any thread; takes effect at once.
  void set_query_log_rate(double rate);
  QueryLog& query_log() { return *log_; }
  // Stops the logger thread after writing out what the rings hold (at shutdown).
  void stop_query_log();

  struct Block;  // internal: one thread's counters and log ring

 private:
  Block& local();
  Block* register_thread();

  const uint64_t id_;  // unique per instance, so a thread's cached block is never another instance's
  std::atomic<uint64_t> log_every_{0};
  mutable std::mutex mutex_;  // guards blocks_ (registration and summing), never taken per query
  std::vector<std::pair<std::thread::id, std::unique_ptr<Block>>> blocks_;
  std::unique_ptr<QueryLog> log_;
  friend class QueryLog;
};

// The decorator: answers through `inner`, then records type, rcode, transport, family, sizes and duration.
// An exception from `inner` is counted (coredns_panics_total) and rethrown to the server, which drops it.
//
// Deferred answers (forwarding, dns/handler.hpp): the request is counted when answer() returns;
// the inner handler gets a Deferrer of ours whose PendingReply records the response — rcode, size, time
// since the query arrived, plugin "forward" — when the inner handler completes it, on whatever thread.
// Only that path allocates (one small wrapper per forwarded query, beside the forwarder's own). The inner
// handlers read the parse the server made (QueryContext::parsed); so do the counters.
class MetricsHandler final : public dns::QueryHandler {
 public:
  MetricsHandler(dns::QueryHandler& inner, QueryMetrics& metrics, Plugin plugin = Plugin::Kubernetes)
      : inner_(inner), metrics_(metrics), plugin_(plugin) {}
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                const dns::QueryContext& ctx) override;

 private:
  dns::QueryHandler& inner_;
  QueryMetrics& metrics_;
  const Plugin plugin_;
};

}  // namespace clusterdns::ops
