// Counters with a single writer (the thread that owns them) and any number of readers: the writer adds with a
// plain load and store, no locked instruction on the packet path; readers see a recent value.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

namespace clusterdns::base {

template <typename T>
class OwnedCounter {
  static_assert(std::is_integral_v<T>);

 public:
  // The owning thread only.
  void add(T n = 1) { value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  // Any thread.
  T load(std::memory_order order = std::memory_order_relaxed) const { return value_.load(order); }

 private:
  std::atomic<T> value_{0};
};

using Counter = OwnedCounter<uint64_t>;

}  // namespace clusterdns::base
