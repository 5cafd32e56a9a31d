// Internal: gives memory that closed connections freed back to the kernel, in one batch per second at most.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <cstddef>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace clusterdns::dns::detail {

// malloc keeps freed memory in its arenas (each worker thread has its own; glibc returns only the top of a
// heap, jemalloc after its decay time); after a thousand connections' buffers are freed the process would
// keep them all. base::release_free_memory() gives back the free pages wherever they are. Worker thread only.
class MemoryTrimmer {
 public:
  explicit MemoryTrimmer(boost::asio::io_context& io) : timer_(io) {}

  // `bytes` of buffers were just freed; trims once a second's worth of frees adds up.
  void freed(size_t bytes);
  void close();  // cancels a pending trim, so that the worker's io_context can return

 private:
  static constexpr size_t kTrimAfter = size_t{1} << 20;

  boost::asio::steady_timer timer_;
  size_t freed_ = 0;
  bool armed_ = false;
  bool closed_ = false;
};

}  // namespace clusterdns::dns::detail
