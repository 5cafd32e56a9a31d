// Publishes snapshots to the query threads: one atomic generation read per query, a lock only on change
// (dnsdist's GlobalStateHolder/LocalStateHolder).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "zones/snapshot.hpp"

namespace clusterdns::zones {

class SnapshotHolder {
 public:
  // Builder thread. The snapshot must never be mutated afterwards.
  void publish(std::shared_ptr<const Snapshot> s) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = std::move(s);
    }
    // Generations are unique across every holder in the process, so a thread's cached view can never
    // mistake a new holder (perhaps at a reused address) for the one it saw before.
    static std::atomic<uint64_t> next{1};
    generation_.store(next.fetch_add(1, std::memory_order_relaxed), std::memory_order_release);
  }
  std::shared_ptr<const Snapshot> load() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

// A query thread's view: refreshed only when the generation moved.
class LocalSnapshot {
 public:
  explicit LocalSnapshot(const SnapshotHolder* holder = nullptr) : holder_(holder) {}
  const Snapshot* get() {
    const uint64_t g = holder_->generation();
    if (g != generation_) {
      generation_ = g;
      snapshot_ = holder_->load();
    }
    return snapshot_.get();
  }
  const SnapshotHolder* holder() const { return holder_; }
  void rebind(const SnapshotHolder* holder) {
    holder_ = holder;
    generation_ = ~uint64_t{0};
  }

 private:
  const SnapshotHolder* holder_;
  uint64_t generation_ = ~uint64_t{0};
  std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace clusterdns::zones
