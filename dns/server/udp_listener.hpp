// Internal: one worker's UDP socket for one listen address, served with recvmmsg/sendmmsg batches.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/worker.hpp"

namespace clusterdns::dns::detail {

// Preallocated per worker and shared by its UDP listeners: one thread runs them all, one at a time.
// The buffers are default-initialised, so untouched pages of the 2 x 32 x 64 KiB never become resident.
struct UdpBatch {
  static constexpr unsigned kSlots = 32;
  static constexpr size_t kBufferSize = 65535;

  union Control {  // room for IP_PKTINFO or IPV6_PKTINFO, aligned as the kernel expects
    cmsghdr align;
    uint8_t bytes[CMSG_SPACE(sizeof(in6_pktinfo))];
  };

  UdpBatch() : queries(new uint8_t[kSlots * kBufferSize]), answers(new uint8_t[kSlots * kBufferSize]) {}
  uint8_t* query(unsigned slot) { return queries.get() + size_t{slot} * kBufferSize; }
  uint8_t* answer(unsigned slot) { return answers.get() + size_t{slot} * kBufferSize; }

  std::unique_ptr<uint8_t[]> queries;
  std::unique_ptr<uint8_t[]> answers;
  std::array<mmsghdr, kSlots> in{};
  std::array<mmsghdr, kSlots> out{};
  std::array<iovec, kSlots> in_iov{};
  std::array<iovec, kSlots> out_iov{};
  std::array<sockaddr_storage, kSlots> peers{};
  std::array<Control, kSlots> control{};
};

// What a deferred UDP answer needs of its listener: the socket, while it is open. Worker thread only.
struct UdpSendState {
  int fd = -1;
  bool open = true;  // false once the listener closed: late answers are dropped
  WorkerContext* worker = nullptr;
};

class UdpListener final : public Deferrer {
 public:
  // `socket` is open, bound and non-blocking. With `wildcard` (0.0.0.0 or ::) the destination address of
  // each query is received (IP_PKTINFO) and used as the source of its answer, so a multi-homed host
  // answers from the address it was asked on.
  UdpListener(WorkerContext& worker, UdpBatch& batch, boost::asio::ip::udp::socket socket, bool wildcard);

  void start();  // arms the first wait; worker thread (or before the thread runs)
  void close();  // worker thread

  // Deferrer, for the datagram being answered: copies its peer (and destination address) for later.
  std::unique_ptr<PendingReply> defer() override;

 private:
  enum class Batch { Full, Drained, Failed };

  void arm();
  void retry_later();  // after a socket error: wait a little instead of spinning
  void on_readable();
  Batch receive_and_answer();  // one recvmmsg batch
  void send_answers(unsigned count);
  void log_errno(const char* call, int error);

  WorkerContext& worker_;
  UdpBatch& batch_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer retry_;
  const bool wildcard_;
  const bool v6_;
  bool closed_ = false;
  std::shared_ptr<UdpSendState> send_state_;
  unsigned current_slot_ = 0;      // the datagram whose answer() is running
  bool current_deferred_ = false;  // defer() was called for it
};

}  // namespace clusterdns::dns::detail
