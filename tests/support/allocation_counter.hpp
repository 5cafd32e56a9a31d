// Counts heap allocations made by this thread while a CountedScope is open, by replacing the global
// operator new. Include it from exactly one file of a test binary (it defines the replacements).
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace clusterdns::testutil {
inline thread_local bool counting_allocations = false;
inline std::atomic<long> allocations{0};

// Counting starts at zero when the scope opens and stops when it closes.
struct CountedScope {
  CountedScope() {
    allocations = 0;
    counting_allocations = true;
  }
  ~CountedScope() { counting_allocations = false; }
  CountedScope(const CountedScope&) = delete;
  CountedScope& operator=(const CountedScope&) = delete;
};
}  // namespace clusterdns::testutil

void* operator new(std::size_t size) {
  if (clusterdns::testutil::counting_allocations)
    clusterdns::testutil::allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
