// Publishing an immutable value to reader threads (dnsdist's GlobalStateHolder/LocalStateHolder):
// Published<T> holds the current value; each reader keeps a Local<T> that costs one atomic load per use and
// takes the lock only when a new value was published.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>

namespace clusterdns::base {

namespace detail {
// Stamps are unique across every holder in the process, so a reader's Local can never mistake a new
// holder (perhaps at a reused address) for the one it saw before.
inline uint64_t next_stamp() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace detail

template <typename T>
class Published {
 public:
  // Any thread. The value must never be mutated afterwards. Returns the new generation: how many values
  // this holder has published (1 for the first).
  uint64_t publish(std::shared_ptr<const T> next) {
    {
      std::lock_guard lock(mutex_);
      current_ = std::move(next);
    }
    stamp_.store(detail::next_stamp(), std::memory_order_release);
    return generation_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // How many values were published; 0 = none yet.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  bool published() const { return generation() > 0; }
  // Changes with every publish and differs between holders; 0 = none yet. What Local compares.
  uint64_t stamp() const { return stamp_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> current_;  // guarded by mutex_ (the only field it guards)
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> stamp_{0};
};

// One reader's view of a Published<T>: refreshed only when the holder published since. Not thread-safe:
// one per reader thread.
template <typename T>
class Local {
 public:
  explicit Local(const Published<T>* holder = nullptr) : holder_(holder) {}

  // The current value (null before the first publish).
  const T* get() {
    refresh();
    return value_.get();
  }
  // Loads the holder's value when it changed since the last call; true when it did.
  bool refresh() {
    const uint64_t s = holder_->stamp();
    if (s == stamp_) return false;
    stamp_ = s;
    value_ = holder_->load();
    return true;
  }
  // The value the last get() or refresh() saw.
  const T* value() const { return value_.get(); }
  const std::shared_ptr<const T>& shared() const { return value_; }
  uint64_t stamp() const { return stamp_; }

  const Published<T>* holder() const { return holder_; }
  void rebind(const Published<T>* holder) {
    holder_ = holder;
    stamp_ = kNone;
  }

 private:
  static constexpr uint64_t kNone = ~uint64_t{0};
  const Published<T>* holder_;
  uint64_t stamp_ = kNone;
  std::shared_ptr<const T> value_;
};

}  // namespace clusterdns::base
