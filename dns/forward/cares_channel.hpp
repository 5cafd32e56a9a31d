// One c-ares channel for one upstream server, driven by a worker's io_context (c-ares 1.18's
// ares_process_fd(3)):
// ARES_OPT_SOCK_STATE_CB tells which fds to watch; each is watched by a non-owning stream_descriptor
// (released, never closed, when c-ares says (0,0)); a steady_timer runs ares_timeout(). Not thread-safe,
// as c-ares 1.18 channels are not: one per worker thread.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <ares.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/forward/upstream.hpp"

namespace clusterdns::dns::forward {

struct ChannelOptions {
  std::chrono::milliseconds timeout{2000};  // one attempt at this server; retries go to the next server
  bool force_tcp = false;                   // --upstream-tcp: ARES_FLAG_USEVC
};

class Channel {
 public:
  // Throws std::runtime_error when c-ares cannot initialise (out of memory, bad address).
  Channel(boost::asio::io_context& io, const Upstream& upstream, const ChannelOptions& options);
  // ares_destroy: every query still pending gets its callback with ARES_EDESTRUCTION, now.
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends `query` (its ID is kept as is: c-ares 1.18's ares_send(3) neither changes nor checks it). The
  // callback may run before send() returns (immediate errors) and always on this thread.
  // ARES_FLAG_NOCHECKRESP lets SERVFAIL/REFUSED through (ares_init_options(3)); a truncated answer is retried
  // over TCP by c-ares (no ARES_FLAG_IGNTC).
  void send(const uint8_t* query, size_t len, ares_callback callback, void* arg);

 private:
  struct Watch {
    explicit Watch(boost::asio::io_context& io, int socket) : sd(io, socket), fd(socket) {}
    boost::asio::posix::stream_descriptor sd;
    int fd;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;
    bool closed = false;
  };

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  void arm(const std::shared_ptr<Watch>& w);
  void process(const std::shared_ptr<Watch>& w, bool readable, bool writable);
  void update_timer();

  boost::asio::io_context& io_;
  ares_channel channel_ = nullptr;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_;  // timer handlers check it: the channel may be gone when they run
};

}  // namespace clusterdns::dns::forward
