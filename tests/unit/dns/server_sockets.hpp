// Test helpers for dns/server: an echoing handler, framing, and bounded blocking client sockets on loopback.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "dns/server/server.hpp"
#include "dns/wire/header.hpp"

namespace clusterdns::dns::server_testing {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

// Echoes the query with QR set. The ID's first byte says what else to do: 0xff drops; 0xdd over TCP first
// streams a transfer; 0xee over TCP first streams three messages whose RCODE is 1, 2, 3.
class EchoHandler : public QueryHandler {
 public:
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) override {
    calls.fetch_add(1);
    const wire::HeaderView in(query);
    const auto mode = static_cast<uint8_t>(in.id() >> 8);
    if (!in.valid() || mode == 0xff || ctx.peer == nullptr) return 0;
    std::memcpy(out.data(), query.data(), query.size());
    wire::Header h(out);
    h.set(wire::kFlagQr);
    if (mode == 0xdd && ctx.stream != nullptr) {  // a transfer far larger than the socket buffers
      for (int i = 0; i < kBigMessages; ++i)
        (*ctx.stream)(out.first(60000));
    }
    if (mode == 0xee && ctx.stream != nullptr) {
      for (uint8_t i = 1; i <= 3; ++i) {
        h.set_rcode(i);
        (*ctx.stream)(out.first(query.size()));
      }
      h.set_rcode(in.rcode());
    }
    return query.size();
  }
  static constexpr int kBigMessages = 100;
  std::atomic<int> calls{0};
};

inline Bytes make_query(uint16_t id, size_t size = 33) {
  Bytes q(size, 0);
  wire::Header h(q);
  h.set_id(id);
  h.set_qdcount(1);
  for (size_t i = 12; i < size; ++i)
    q[i] = static_cast<uint8_t>(i);
  return q;
}

inline Bytes expected_answer(Bytes q, uint8_t rcode = 0) {
  wire::Header h(q);
  h.set(wire::kFlagQr);
  h.set_rcode(rcode);
  return q;
}

inline Bytes framed(const Bytes& message) {
  Bytes out(2 + message.size());
  out[0] = static_cast<uint8_t>(message.size() >> 8);
  out[1] = static_cast<uint8_t>(message.size());
  std::copy(message.begin(), message.end(), out.begin() + 2);
  return out;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  int fd() const { return fd_; }

 private:
  int fd_;
};

inline sockaddr_storage make_addr(const std::string& host, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  return ss;
}

inline void set_timeout(const Socket& s, std::chrono::milliseconds timeout) {
  const timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(s.fd(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// A connected client socket whose every send, receive and connect gives up after `timeout`.
inline Socket connect_to(int type, const std::string& host, uint16_t port,
                         std::chrono::milliseconds timeout = 2000ms) {
  socklen_t len = 0;
  const sockaddr_storage addr = make_addr(host, port, len);
  Socket s(::socket(addr.ss_family, type, 0));
  set_timeout(s, timeout);
  EXPECT_EQ(::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), len), 0) << std::strerror(errno);
  return s;
}

inline void send_bytes(const Socket& s, const Bytes& bytes) {
  ASSERT_EQ(::send(s.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

inline std::optional<Bytes> recv_datagram(const Socket& s) {
  Bytes buf(65535);
  const ssize_t n = ::recv(s.fd(), buf.data(), buf.size(), 0);
  if (n < 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  return buf;
}

inline bool read_exact(const Socket& s, uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t got = ::recv(s.fd(), p, n, 0);
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

inline std::optional<Bytes> read_frame(const Socket& s) {
  uint8_t prefix[2];
  if (!read_exact(s, prefix, 2)) return std::nullopt;
  Bytes message(size_t{prefix[0]} << 8 | prefix[1]);
  if (!read_exact(s, message.data(), message.size())) return std::nullopt;
  return message;
}

// A TCP connection from `source` (any 127.0.0.0/8 address is local): another client, as the server sees it.
inline Socket connect_from(const std::string& source, const std::string& host, uint16_t port,
                           std::chrono::milliseconds timeout = 2000ms) {
  socklen_t len = 0;
  const sockaddr_storage from = make_addr(source, 0, len);
  Socket s(::socket(from.ss_family, SOCK_STREAM, 0));
  set_timeout(s, timeout);
  EXPECT_EQ(::bind(s.fd(), reinterpret_cast<const sockaddr*>(&from), len), 0) << std::strerror(errno);
  const sockaddr_storage to = make_addr(host, port, len);
  EXPECT_EQ(::connect(s.fd(), reinterpret_cast<const sockaddr*>(&to), len), 0) << std::strerror(errno);
  return s;
}

// True when the peer closed (EOF or reset) before the socket's receive timeout.
inline bool closed_by_peer(const Socket& s) {
  uint8_t byte;
  const ssize_t n = ::recv(s.fd(), &byte, 1, 0);
  return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
}

inline bool ipv6_loopback_available() {
  Socket s(::socket(AF_INET6, SOCK_DGRAM, 0));
  socklen_t len = 0;
  const sockaddr_storage addr = make_addr("::1", 0, len);
  return s.fd() >= 0 && ::bind(s.fd(), reinterpret_cast<const sockaddr*>(&addr), len) == 0;
}

struct Running {
  explicit Running(std::vector<ListenAddress> listen, std::chrono::milliseconds idle = 10000ms,
                   size_t max_tcp = 1024)
      : server(ServerOptions{std::move(listen), 2, idle, max_tcp}, handler) {
    server.start();
  }
  uint16_t port(size_t i = 0) const { return server.bound().at(i).port; }

  EchoHandler handler;  // declared first: outlives the server
  Server server;
};

}  // namespace clusterdns::dns::server_testing
