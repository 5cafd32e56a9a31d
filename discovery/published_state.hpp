// What every RegistrySource keeps for its readers: the last good state and how many states it published
// (RegistrySource::state, generation and has_synced). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "discovery/model.hpp"

namespace clusterdns::discovery {

class PublishedState {
 public:
  // Replaces the state; returns the new generation (1 for the first state: the source has synced).
  uint64_t publish(std::shared_ptr<const RegistryState> next) {
    {
      std::lock_guard lock(mutex_);
      state_ = std::move(next);
    }
    return generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  std::shared_ptr<const RegistryState> state() const {
    std::lock_guard lock(mutex_);
    return state_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool synced() const { return generation() > 0; }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const RegistryState> state_;  // guarded by mutex_
  std::atomic<uint64_t> generation_{0};
};

}  // namespace clusterdns::discovery
