// Counts heap allocations made by this thread while a CountedScope is open, by replacing the global
// operator new. Include it from exactly one file of a test binary (it defines the replacements).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "dns/handler.hpp"

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

struct CountedAnswers {
  size_t answered = 0;  // queries that got a response
  long allocated = 0;   // heap allocations made while answering
};

// Answers every query `rounds` times through `handler` (after one warm-up round, which may take per-thread
// state), counting the allocations of the measured rounds.
inline CountedAnswers answer_counting(dns::QueryHandler& handler,
                                      const std::vector<std::vector<uint8_t>>& queries, int rounds) {
  std::vector<uint8_t> out(65535);
  dns::QueryContext ctx;
  for (const auto& q : queries)
    handler.answer(q, out, ctx);
  CountedAnswers result;
  CountedScope counted;
  for (int round = 0; round < rounds; ++round) {
    for (const auto& q : queries)
      result.answered += handler.answer(q, out, ctx) > 0;
  }
  result.allocated = allocations.load();
  return result;
}
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
