// dns/server with a handler that answers later (as forwarding does): UDP answers reach the right peer, TCP
// answers keep the order of the queries on a pipelined connection, and a dropped reply frees its place.
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include "dns/server/server.hpp"
#include "dns/wire/header.hpp"

namespace clusterdns::dns {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;

// Byte 12 of the query (first QNAME length byte) says what to do: 0 = answer now; N > 0 = defer N*20 ms;
// 0x80 | N = defer N*20 ms, then drop the reply. Answers echo the query with QR set.
class LaterHandler : public QueryHandler, public WorkerHooks {
 public:
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) override {
    if (query.size() < 13) return 0;
    const uint8_t mode = query[12];
    if (mode == 0 || ctx.deferrer == nullptr) {
      std::memcpy(out.data(), query.data(), query.size());
      wire::Header(out).set(wire::kFlagQr);
      return query.size();
    }
    auto reply = std::shared_ptr<PendingReply>(ctx.deferrer->defer());
    auto* io = ios_[ctx.worker];
    auto timer =
        std::make_shared<boost::asio::steady_timer>(*io, std::chrono::milliseconds(20 * (mode & 0x7F)));
    Bytes answer(query.begin(), query.end());
    wire::Header(answer).set(wire::kFlagQr);
    timer->async_wait([timer, reply, answer, mode](const boost::system::error_code&) mutable {
      if ((mode & 0x80) == 0) reply->complete(answer);
      reply.reset();  // 0x80: destroyed uncompleted, i.e. dropped
    });
    return 0;  // the PendingReply answers
  }
  void start_worker(unsigned worker, boost::asio::io_context& io) override { ios_[worker] = &io; }
  void stop_worker(unsigned) override { stopped.fetch_add(1); }

  boost::asio::io_context* ios_[8] = {};
  std::atomic<int> stopped{0};
};

Bytes make_query(uint16_t id, uint8_t mode) {
  Bytes q = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), {mode, 'x', 0, 0, 1, 0, 1});
  return q;
}

int connect_socket(int type, uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

std::optional<Bytes> read_frame(int fd) {
  uint8_t len[2];
  size_t got = 0;
  while (got < 2) {
    const ssize_t n = ::recv(fd, len + got, 2 - got, 0);
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  Bytes m(size_t{len[0]} << 8 | len[1]);
  got = 0;
  while (got < m.size()) {
    const ssize_t n = ::recv(fd, m.data() + got, m.size() - got, 0);
    if (n <= 0) return std::nullopt;
    got += static_cast<size_t>(n);
  }
  return m;
}

uint16_t wire_id(const Bytes& m) {
  return static_cast<uint16_t>(m[0] << 8 | m[1]);
}

struct Running {
  Running() : server(ServerOptions{{{"127.0.0.1", 0}}, 2, 10000ms, 64}, handler) {
    server.add_worker_hooks(handler);
    server.start();
  }
  uint16_t port() const { return server.bound().at(0).port; }
  LaterHandler handler;
  Server server;
};

TEST(ServerDeferred, UdpAnswerArrivesLater) {
  Running r;
  const int fd = connect_socket(SOCK_DGRAM, r.port());
  const Bytes q = make_query(0x4242, 3);
  ASSERT_EQ(::send(fd, q.data(), q.size(), 0), static_cast<ssize_t>(q.size()));
  Bytes buf(512);
  const auto t0 = std::chrono::steady_clock::now();
  const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
  ASSERT_EQ(n, static_cast<ssize_t>(q.size()));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 40ms);
  const wire::HeaderView h(buf);
  EXPECT_EQ(h.id() >> 8, 0x42);
  EXPECT_TRUE(h.has(wire::kFlagQr));
  EXPECT_GE(r.server.stats().deferred, 1u);
  ::close(fd);
}

TEST(ServerDeferred, TcpPipelineKeepsQueryOrder) {
  Running r;
  const int fd = connect_socket(SOCK_STREAM, r.port());
  // slow deferred, immediate, fast deferred, dropped, immediate: answers 1, 2, 3, 5 in that order.
  Bytes stream;
  const uint8_t modes[] = {5, 0, 1, 0x81, 0};
  for (uint16_t i = 0; i < 5; ++i) {
    const Bytes q = make_query(static_cast<uint16_t>(i + 1), modes[i]);
    stream.push_back(0);
    stream.push_back(static_cast<uint8_t>(q.size()));
    stream.insert(stream.end(), q.begin(), q.end());
  }
  ASSERT_EQ(::send(fd, stream.data(), stream.size(), 0), static_cast<ssize_t>(stream.size()));
  for (uint16_t want : {1, 2, 3, 5}) {
    const auto m = read_frame(fd);
    ASSERT_TRUE(m) << "answer " << want;
    EXPECT_EQ(wire_id(*m), want);
  }
  ::close(fd);
}

TEST(ServerDeferred, ConnectionOwingAnAnswerIsNotEvicted) {
  // At the cap nothing can make room: both connections wait for a deferred answer, so the new one is refused.
  LaterHandler handler;
  Server server(ServerOptions{{{"127.0.0.1", 0}}, 1, 10000ms, 2}, handler);
  server.add_worker_hooks(handler);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  int owed[2];
  for (int& fd : owed) {
    fd = connect_socket(SOCK_STREAM, port);
    const Bytes q = make_query(7, 50);  // answered after 1 s
    const uint8_t prefix[2] = {0, static_cast<uint8_t>(q.size())};
    ASSERT_EQ(::send(fd, prefix, 2, 0), 2);
    ASSERT_EQ(::send(fd, q.data(), q.size(), 0), static_cast<ssize_t>(q.size()));
  }
  std::this_thread::sleep_for(100ms);
  const int extra = connect_socket(SOCK_STREAM, port);
  uint8_t byte;
  EXPECT_LE(::recv(extra, &byte, 1, 0), 0);  // closed, not answered
  EXPECT_EQ(server.stats().tcp_rejected, 1u);
  for (const int fd : owed) {
    const auto m = read_frame(fd);  // still answered
    ASSERT_TRUE(m);
    EXPECT_EQ(wire_id(*m), 7);
    ::close(fd);
  }
  ::close(extra);
}

TEST(ServerDeferred, StopWorkerIsCalledOnEachWorker) {
  auto r = std::make_unique<Running>();
  LaterHandler& h = r->handler;
  r->server.stop();
  EXPECT_EQ(h.stopped.load(), 2);
}

}  // namespace
}  // namespace clusterdns::dns
