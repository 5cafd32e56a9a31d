// The sampled query log: query threads copy a fixed-size record into their own lock-free ring (no lock, no
// allocation, no I/O); a logger thread drains the rings every 100 ms and writes them with spdlog ("query").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/ip_address.hpp"
#include "ops/metrics/query_metrics.hpp"

namespace clusterdns::ops {

struct QueryLogEntry {
  int64_t unix_us = 0;  // when the answer was written
  uint64_t duration_ns = 0;
  uint16_t id = 0;
  uint16_t qtype = 0;
  uint8_t rcode = 0;
  bool answered = false;  // false: dropped or deferred
  bool tcp = false;
  std::optional<base::IpAddress> peer;  // the client; none for an in-process query
  uint16_t port = 0;
  uint16_t request_size = 0;
  uint16_t response_size = 0;
  uint8_t qname_len = 0;  // wire form, 0 = no parsable name
  uint8_t qname[255] = {};
};

// "127.0.0.1:40231 - 4660 "A IN my-nginx.default.svc.cluster.local. udp 52" NOERROR 106 0.000091s", the
// shape of CoreDNS's log plugin.
std::string format_query_log(const QueryLogEntry& e);

// Single producer (the owning query thread), single consumer (the logger thread).
class QueryLogRing {
 public:
  static constexpr size_t kCapacity = 256;
  // Producer. False (and nothing written) when the ring is full.
  bool push(const QueryLogEntry& e) {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) >= kCapacity) return false;
    slots_[head % kCapacity] = e;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  // Consumer. Calls f(entry) for each queued entry, oldest first; returns how many.
  template <typename F>
  size_t drain(F&& f) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i)
      f(slots_[i % kCapacity]);
    tail_.store(head, std::memory_order_release);
    return static_cast<size_t>(head - tail);
  }

 private:
  QueryLogEntry slots_[kCapacity];
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

// One thread's counters (see Slots) and log ring. Written by its thread only, read by any.
struct alignas(64) QueryMetrics::Block {
  std::atomic<uint64_t> c[Slots::kCount]{};
  uint64_t until_sample = 1;  // owner thread only: queries left before the next sampled one
  QueryLogRing ring;
  // Single writer: a plain load and store, no locked instruction.
  void add(size_t slot, uint64_t n) {
    c[slot].store(c[slot].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
};

class QueryLog {
 public:
  explicit QueryLog(QueryMetrics& owner) : owner_(owner) {}
  ~QueryLog() { stop(); }
  // Starts the logger thread (idempotent).
  void start();
  void stop();
  // Writes out what the rings hold now; returns how many entries. Any thread (the logger calls it).
  size_t drain();
  uint64_t logged() const { return logged_.load(std::memory_order_relaxed); }

 private:
  QueryMetrics& owner_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex drain_mutex_;  // one consumer at a time
  std::atomic<uint64_t> logged_{0};
};

}  // namespace clusterdns::ops
