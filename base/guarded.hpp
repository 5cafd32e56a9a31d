// Data reachable only through its lock: Guarded<T> owns a T and a mutex and hands out the T only while the
// mutex is held, so "guarded by mutex_" is checked by the compiler rather than said in a comment.
#pragma once

#include <mutex>
#include <utility>

namespace clusterdns::base {

template <typename T, typename Mutex = std::mutex>
class Guarded {
 public:
  template <typename... Args>
  explicit Guarded(Args&&... args) : value_(std::forward<Args>(args)...) {}

  // The value with the lock held for the pointer's lifetime.
  template <typename V>
  class Locked {
   public:
    Locked(Mutex& m, V& v) : lock_(m), value_(&v) {}
    V* operator->() const { return value_; }
    V& operator*() const { return *value_; }

   private:
    std::unique_lock<Mutex> lock_;
    V* value_;
  };

  Locked<T> lock() { return Locked<T>(mutex_, value_); }
  Locked<const T> lock() const { return Locked<const T>(mutex_, value_); }

  // Calls f(value) with the lock held; returns what f returns.
  template <typename F>
  decltype(auto) with(F&& f) {
    std::lock_guard lock(mutex_);
    return std::forward<F>(f)(value_);
  }
  template <typename F>
  decltype(auto) with(F&& f) const {
    std::lock_guard lock(mutex_);
    return std::forward<F>(f)(value_);
  }

 private:
  mutable Mutex mutex_;
  T value_;
};

}  // namespace clusterdns::base
