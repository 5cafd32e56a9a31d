// UDP: wait for readability, drain the socket with recvmmsg, answer each datagram, sendmmsg the answers.
#include "dns/server/udp_listener.hpp"

#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>

namespace clusterdns::dns::detail {
namespace {

// Datagrams handled per wake-up before yielding to the worker's other sockets and connections.
constexpr unsigned kMaxBatchesPerWakeup = 8;
constexpr int kReceiveBufferBytes = 1 << 20;

// Turns the received destination-address control message into the source for the answer. The interface
// index is cleared so the routing table still picks the outgoing interface (as Knot DNS does).
void pktinfo_to_source(msghdr& hdr) {
  cmsghdr* cmsg = CMSG_FIRSTHDR(&hdr);
  if (cmsg == nullptr) return;
  if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO) {
    in_pktinfo info;
    std::memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
    info.ipi_spec_dst = info.ipi_addr;
    info.ipi_ifindex = 0;
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
  } else if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO) {
    in6_pktinfo info;
    std::memcpy(&info, CMSG_DATA(cmsg), sizeof(info));
    info.ipi6_ifindex = 0;
    std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
  }
}

// A UDP answer sent after its batch: peer and source address copied at defer() time.
class UdpPendingReply : public PendingReply {
 public:
  UdpPendingReply(std::shared_ptr<UdpSendState> state, const sockaddr_storage& peer, socklen_t peer_len,
                  const void* control, size_t control_len)
      : state_(std::move(state)), peer_(peer), peer_len_(peer_len), control_len_(control_len) {
    if (control_len_ > sizeof(control_)) control_len_ = 0;
    if (control_len_ > 0) std::memcpy(control_, control, control_len_);
  }
  ~UdpPendingReply() override {
    if (!done_ && state_->open) state_->worker->counters.dropped.add(1);
  }

  void complete(std::span<const uint8_t> message) override {
    if (done_) return;
    done_ = true;
    if (!state_->open) return;
    WorkerCounters& counters = state_->worker->counters;
    if (message.empty()) {
      counters.dropped.add(1);
      return;
    }
    iovec iov{const_cast<uint8_t*>(message.data()), message.size()};
    msghdr hdr{};
    hdr.msg_name = &peer_;
    hdr.msg_namelen = peer_len_;
    hdr.msg_iov = &iov;
    hdr.msg_iovlen = 1;
    if (control_len_ > 0) {
      hdr.msg_control = control_;
      hdr.msg_controllen = control_len_;
    }
    ssize_t n = -1;
    do {
      n = sendmsg(state_->fd, &hdr, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      counters.udp_send_errors.add(1);
      state_->worker->warn("udp sendmsg (deferred answer): {}", std::strerror(errno));
    }
  }

 private:
  std::shared_ptr<UdpSendState> state_;
  sockaddr_storage peer_;
  socklen_t peer_len_;
  alignas(cmsghdr) uint8_t control_[sizeof(UdpBatch::Control)];
  size_t control_len_;
  bool done_ = false;
};

}  // namespace

UdpListener::UdpListener(WorkerContext& worker, UdpBatch& batch, boost::asio::ip::udp::socket socket,
                         bool wildcard)
    : worker_(worker),
      batch_(batch),
      socket_(std::move(socket)),
      retry_(worker.io),
      wildcard_(wildcard),
      v6_(socket_.local_endpoint().address().is_v6()),
      send_state_(std::make_shared<UdpSendState>(UdpSendState{socket_.native_handle(), true, &worker})) {
  // Best effort (capped by net.core.rmem_max): absorbs bursts while this thread is descheduled; the
  // kernel default of ~208 KiB held only ~300 queries and overflowed under dnsperf on a busy host.
  const int receive_buffer = kReceiveBufferBytes;
  if (setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer)) !=
      0) {
    log_errno("setsockopt(SO_RCVBUF)", errno);
  }
  if (wildcard_) {
    const int on = 1;
    const int rc = v6_ ? setsockopt(socket_.native_handle(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on))
                       : setsockopt(socket_.native_handle(), IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
    if (rc != 0) log_errno("setsockopt(PKTINFO)", errno);
  }
}

void UdpListener::start() {
  arm();
}

void UdpListener::close() {
  if (closed_) return;
  // Datagrams already queued were sent while we were serving: answer them instead of discarding them
  // with the socket (bounded, so a flood cannot hold the shutdown).
  for (unsigned i = 0; i < 4 * kMaxBatchesPerWakeup; ++i) {
    if (receive_and_answer() != Batch::Full) break;
  }
  closed_ = true;
  send_state_->open = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  retry_.cancel();
}

void UdpListener::arm() {
  socket_.async_wait(boost::asio::ip::udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
      log_errno("wait", ec.value());
      retry_later();
      return;
    }
    on_readable();
  });
}

void UdpListener::retry_later() {
  retry_.expires_after(std::chrono::milliseconds(20));
  retry_.async_wait([this](const boost::system::error_code& ec) {
    if (!closed_ && !ec) on_readable();
  });
}

void UdpListener::on_readable() {
  for (unsigned i = 0; i < kMaxBatchesPerWakeup; ++i) {
    switch (receive_and_answer()) {
      case Batch::Full:
        continue;
      case Batch::Drained:
        // The socket is empty: the epoll reactor is edge-triggered and the next datagram wakes us again.
        arm();
        return;
      case Batch::Failed:
        retry_later();
        return;
    }
  }
  // Still readable, but other sockets deserve a turn; no new edge would come for the queued datagrams, so
  // continue through the queue rather than waiting.
  boost::asio::post(worker_.io, [this] {
    if (!closed_) on_readable();
  });
}

UdpListener::Batch UdpListener::receive_and_answer() {
  UdpBatch& b = batch_;
  for (unsigned i = 0; i < UdpBatch::kSlots; ++i) {
    b.in_iov[i] = {b.query(i), UdpBatch::kBufferSize};
    msghdr& hdr = b.in[i].msg_hdr;
    hdr = {};
    hdr.msg_name = &b.peers[i];
    hdr.msg_namelen = sizeof(sockaddr_storage);
    hdr.msg_iov = &b.in_iov[i];
    hdr.msg_iovlen = 1;
    if (wildcard_) {
      hdr.msg_control = b.control[i].bytes;
      hdr.msg_controllen = sizeof(b.control[i].bytes);
    }
  }
  int received = -1;
  do {
    received = recvmmsg(socket_.native_handle(), b.in.data(), UdpBatch::kSlots, MSG_DONTWAIT, nullptr);
  } while (received < 0 && errno == EINTR);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Batch::Drained;
    log_errno("recvmmsg", errno);
    return Batch::Failed;
  }

  const auto count = static_cast<unsigned>(received);
  unsigned answers = 0;
  uint64_t dropped = 0;
  for (unsigned i = 0; i < count; ++i) {
    msghdr& in = b.in[i].msg_hdr;
    if ((in.msg_flags & MSG_TRUNC) != 0) {
      ++dropped;
      continue;
    }
    const QueryContext ctx{Transport::Udp, reinterpret_cast<const sockaddr*>(&b.peers[i]),
                           in.msg_namelen, nullptr,
                           this,           worker_.index,
                           nullptr,        {}};
    current_slot_ = i;
    current_deferred_ = false;
    const size_t length =
        worker_.answer({b.query(i), b.in[i].msg_len}, {b.answer(i), UdpBatch::kBufferSize}, ctx);
    if (current_deferred_) {
      current_deferred_ = false;
      continue;  // the PendingReply sends it (or counts it as dropped)
    }
    if (length == 0) {
      ++dropped;
      continue;
    }
    b.out_iov[answers] = {b.answer(i), length};
    msghdr& out = b.out[answers].msg_hdr;
    out = {};
    out.msg_name = &b.peers[i];
    out.msg_namelen = in.msg_namelen;
    out.msg_iov = &b.out_iov[answers];
    out.msg_iovlen = 1;
    if (wildcard_ && in.msg_controllen > 0 && (in.msg_flags & MSG_CTRUNC) == 0) {
      out.msg_control = in.msg_control;
      out.msg_controllen = in.msg_controllen;
      pktinfo_to_source(out);
    }
    ++answers;
  }
  // Counted before sending, so a client holding an answer sees it in Server::stats().
  worker_.counters.udp_queries.add(count);
  if (dropped > 0) worker_.counters.dropped.add(dropped);
  send_answers(answers);
  // recvmmsg returns fewer than asked only when the next receive would block.
  return count == UdpBatch::kSlots ? Batch::Full : Batch::Drained;
}

std::unique_ptr<PendingReply> UdpListener::defer() {
  UdpBatch& b = batch_;
  msghdr& in = b.in[current_slot_].msg_hdr;
  current_deferred_ = true;
  worker_.counters.deferred.add(1);
  size_t control_len = 0;
  if (wildcard_ && in.msg_controllen > 0 && (in.msg_flags & MSG_CTRUNC) == 0) {
    msghdr out{};
    out.msg_control = in.msg_control;
    out.msg_controllen = in.msg_controllen;
    pktinfo_to_source(out);  // in place: the batch is not sent from this slot
    control_len = in.msg_controllen;
  }
  return std::make_unique<UdpPendingReply>(send_state_, b.peers[current_slot_], in.msg_namelen,
                                           in.msg_control, control_len);
}

void UdpListener::send_answers(unsigned count) {
  unsigned sent = 0;
  while (sent < count) {
    const int n = sendmmsg(socket_.native_handle(), &batch_.out[sent], count - sent, MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
      continue;
    }
    const int error = errno;
    if (n < 0 && error == EINTR) continue;
    if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
      // The send buffer is full: as any UDP server under overload, drop the rest rather than block.
      worker_.counters.udp_send_errors.add(count - sent);
      log_errno("sendmmsg", error);
      return;
    }
    // The first remaining answer failed on its own (e.g. an unreachable peer): skip it, send the rest.
    worker_.counters.udp_send_errors.add(1);
    log_errno("sendmmsg", error);
    ++sent;
  }
}

void UdpListener::log_errno(const char* call, int error) {
  boost::system::error_code ignored;
  const auto local = socket_.local_endpoint(ignored);
  worker_.warn("udp {} on {}:{}: {}", call, local.address().to_string(), local.port(), std::strerror(error));
}

}  // namespace clusterdns::dns::detail
