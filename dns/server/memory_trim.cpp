// MemoryTrimmer: freed memory given back after large frees, batched.
#include "dns/server/memory_trim.hpp"

#include <chrono>

#include "base/memory.hpp"

namespace clusterdns::dns::detail {

void MemoryTrimmer::freed(size_t bytes) {
  freed_ += bytes;
  if (closed_ || armed_ || freed_ < kTrimAfter) return;
  armed_ = true;  // wait a little: connections tend to close together (timeouts, a client going away)
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    armed_ = false;
    if (ec || closed_) return;
    freed_ = 0;
    base::release_free_memory();
  });
}

void MemoryTrimmer::close() {
  closed_ = true;
  timer_.cancel();
}

}  // namespace clusterdns::dns::detail
