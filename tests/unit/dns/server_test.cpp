// dns/server: real sockets on 127.0.0.1:0 / [::1]:0 against an echoing handler; every wait is bounded.
#include "dns/server/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <condition_variable>
#include <cstring>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/dns/server_sockets.hpp"

namespace clusterdns::dns {
namespace {

using namespace server_testing;

TEST(ParseListenAddress, AcceptsTheDocumentedForms) {
  const std::vector<std::tuple<std::string, std::string, uint16_t>> good = {
      {"127.0.0.1:5353", "127.0.0.1", 5353},
      {"[::1]:5353", "::1", 5353},
      {"[::]:53", "::", 53},
      {"0.0.0.0:53", "0.0.0.0", 53},
      {"127.0.0.1:0", "127.0.0.1", 0},
      {"[0:0::1]:65535", "::1", 65535}};
  for (const auto& [text, host, port] : good) {
    std::string error;
    const auto parsed = parse_listen_address(text, error);
    ASSERT_TRUE(parsed) << text << ": " << error;
    EXPECT_EQ(parsed->host, host);
    EXPECT_EQ(parsed->port, port);
    EXPECT_EQ(parse_listen_address(to_string(*parsed), error)->host, host);
  }
}

TEST(ParseListenAddress, RejectsWithOneLineError) {
  for (const std::string text :
       {"", "127.0.0.1", "::1:53", "[::1]", "[::1]53", "[::1:53", "localhost:53", ":53", "1.2.3.4:65536",
        "1.2.3.4:-1", "1.2.3.4:", "1.2.3.4:53x", "[127.0.0.1]:53", "[]:53", "1.2.3:53"}) {
    std::string error;
    EXPECT_FALSE(parse_listen_address(text, error)) << text;
    EXPECT_FALSE(error.empty()) << text;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    EXPECT_NE(error.find(text), std::string::npos) << error;
  }
}

TEST(ServerUdp, RoundTripIPv4) {
  Running r({{"127.0.0.1", 0}});
  ASSERT_NE(r.port(), 0);
  Socket c = connect_to(SOCK_DGRAM, "127.0.0.1", r.port());
  send_bytes(c, make_query(0x1234));
  EXPECT_EQ(recv_datagram(c), expected_answer(make_query(0x1234)));
  EXPECT_EQ(r.server.stats().udp_queries, 1u);
}

TEST(ServerUdp, RoundTripIPv6) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "::1 is not available";
  Running r({{"::1", 0}});
  Socket c = connect_to(SOCK_DGRAM, "::1", r.port());
  send_bytes(c, make_query(7));
  EXPECT_EQ(recv_datagram(c), expected_answer(make_query(7)));
}

TEST(ServerUdp, WildcardAnswersFromTheAddressAsked) {
  // 127.0.0.2 is local but not the route's preferred source: without IP_PKTINFO the answer would come from
  // 127.0.0.1 and the connected client would never see it.
  Running r({{"0.0.0.0", 0}});
  Socket c = connect_to(SOCK_DGRAM, "127.0.0.2", r.port());
  send_bytes(c, make_query(9));
  EXPECT_EQ(recv_datagram(c), expected_answer(make_query(9)));
  if (!ipv6_loopback_available()) return;
  Running r6({{"::", 0}});
  Socket c6 = connect_to(SOCK_DGRAM, "::1", r6.port());
  send_bytes(c6, make_query(9));
  EXPECT_EQ(recv_datagram(c6), expected_answer(make_query(9)));
  // [::] is V6ONLY: 0.0.0.0 on the same port stays free, even for sockets without SO_REUSEPORT.
  for (const int type : {SOCK_DGRAM, SOCK_STREAM}) {
    Socket v4(::socket(AF_INET, type, 0));
    socklen_t len = 0;
    const sockaddr_storage addr = make_addr("0.0.0.0", r6.port(), len);
    EXPECT_EQ(::bind(v4.fd(), reinterpret_cast<const sockaddr*>(&addr), len), 0) << std::strerror(errno);
  }
}

TEST(ServerUdp, BurstOf200AllAnswered) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_DGRAM, "127.0.0.1", r.port());
  const int rcvbuf = 1 << 20;
  setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  for (uint16_t id = 0; id < 200; ++id)
    send_bytes(c, make_query(id));
  std::set<uint16_t> ids;
  for (int i = 0; i < 200; ++i) {
    const auto answer = recv_datagram(c);
    if (!answer) break;
    ids.insert(static_cast<uint16_t>((*answer)[0] << 8 | (*answer)[1]));
  }
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_EQ(r.server.stats().udp_queries, 200u);
}

TEST(ServerUdp, DroppedQueryGetsNoAnswer) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_DGRAM, "127.0.0.1", r.port(), 300ms);
  send_bytes(c, make_query(0xff01));
  EXPECT_FALSE(recv_datagram(c));
  set_timeout(c, 2000ms);
  send_bytes(c, make_query(0x0101));  // the server still answers afterwards
  EXPECT_EQ(recv_datagram(c), expected_answer(make_query(0x0101)));
  EXPECT_EQ(r.server.stats().dropped, 1u);
}

TEST(ServerTcp, PipelinedQueriesInOneWriteAnsweredInOrder) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  Bytes both = framed(make_query(1));
  const Bytes second = framed(make_query(2, 200));
  both.insert(both.end(), second.begin(), second.end());
  send_bytes(c, both);
  EXPECT_EQ(read_frame(c), expected_answer(make_query(1)));
  EXPECT_EQ(read_frame(c), expected_answer(make_query(2, 200)));
  EXPECT_EQ(r.server.stats().tcp_queries, 2u);
}

TEST(ServerTcp, LengthPrefixSplitAcrossWrites) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  const Bytes frame = framed(make_query(3));
  send_bytes(c, Bytes(frame.begin(), frame.begin() + 1));
  std::this_thread::sleep_for(50ms);
  send_bytes(c, Bytes(frame.begin() + 1, frame.end()));
  EXPECT_EQ(read_frame(c), expected_answer(make_query(3)));
}

TEST(ServerTcp, LargestMessageAndHalfClose) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(c, framed(make_query(4, 65535)));
  ::shutdown(c.fd(), SHUT_WR);  // RFC 7766 §6.2.1: still answered, then closed
  EXPECT_EQ(read_frame(c), expected_answer(make_query(4, 65535)));
  EXPECT_TRUE(closed_by_peer(c));
}

TEST(ServerTcp, StreamMessagesPrecedeTheFinalOne) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(c, framed(make_query(0xee00)));
  for (uint8_t i = 1; i <= 3; ++i)
    EXPECT_EQ(read_frame(c), expected_answer(make_query(0xee00), i));
  EXPECT_EQ(read_frame(c), expected_answer(make_query(0xee00)));
}

TEST(ServerTcp, IdleConnectionClosedAfterTimeout) {
  Running r({{"127.0.0.1", 0}}, 200ms);
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(c, framed(make_query(5)));
  EXPECT_EQ(read_frame(c), expected_answer(make_query(5)));
  const auto start = Clock::now();
  EXPECT_TRUE(closed_by_peer(c));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LE(waited, 1500ms);
}

TEST(ServerTcp, ShortMessageClosesConnection) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(c, Bytes{0, 5, 1, 2, 3, 4, 5});
  EXPECT_TRUE(closed_by_peer(c));
}

TEST(ServerTcp, AtTheCapTheLeastRecentlyActiveMakesRoom) {
  // One worker: the order is per worker (each evicts its own least recently active connection first).
  EchoHandler handler;
  Server server(ServerOptions{{{"127.0.0.1", 0}}, 1, 10000ms, 2}, handler);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  Socket a = connect_to(SOCK_STREAM, "127.0.0.1", port);
  Socket b = connect_to(SOCK_STREAM, "127.0.0.1", port);
  send_bytes(a, framed(make_query(1)));
  ASSERT_TRUE(read_frame(a));
  send_bytes(b, framed(make_query(2)));
  ASSERT_TRUE(read_frame(b));
  Socket extra = connect_to(SOCK_STREAM, "127.0.0.1", port);  // RFC 7766 §6.2.3
  send_bytes(extra, framed(make_query(3)));
  EXPECT_EQ(read_frame(extra), expected_answer(make_query(3)));
  EXPECT_TRUE(closed_by_peer(a));
  EXPECT_EQ(server.stats().tcp_rejected, 0u);
  EXPECT_EQ(server.stats().tcp_evicted, 1u);
}

TEST(Server, StopIsPromptWithConnectionsOpen) {
  auto r = std::make_unique<Running>(std::vector<ListenAddress>{{"127.0.0.1", 0}});
  Socket idle = connect_to(SOCK_STREAM, "127.0.0.1", r->port());
  Socket partial = connect_to(SOCK_STREAM, "127.0.0.1", r->port());
  send_bytes(partial, Bytes{0, 40, 1, 2});
  Socket served = connect_to(SOCK_STREAM, "127.0.0.1", r->port());
  send_bytes(served, framed(make_query(6)));
  ASSERT_TRUE(read_frame(served));
  const auto start = Clock::now();
  r->server.stop();
  EXPECT_LE(Clock::now() - start, 1000ms);  // the drain deadline is 2 s: nothing waited for it
  r->server.stop();                         // idempotent
  EXPECT_TRUE(closed_by_peer(idle));
  EXPECT_TRUE(closed_by_peer(partial));
  EXPECT_TRUE(closed_by_peer(served));
}

TEST(Server, StopFinishesAnswersAlreadyProduced) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(c, framed(make_query(0xdd00)));
  const auto deadline = Clock::now() + 2s;
  while (r.handler.calls.load() == 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  int frames = 0;
  bool eof = false;
  std::thread reader([&] {
    while (read_frame(c))
      ++frames;
    eof = true;
  });
  r.server.stop();  // the 6 MB answer is produced but mostly unsent: it must still arrive whole
  reader.join();
  EXPECT_EQ(frames, EchoHandler::kBigMessages + 1);
  EXPECT_TRUE(eof);
}

// Holds the worker inside answer() for a query whose first byte is 0xbb until released; echoes otherwise.
class GateHandler : public QueryHandler {
 public:
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) override {
    if (!query.empty() && query[0] == 0xbb) {
      std::unique_lock lock(m_);
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    }
    return echo_.answer(query, out, ctx);
  }
  bool wait_held() {
    std::unique_lock lock(m_);
    return cv_.wait_for(lock, 2s, [this] { return held_; });
  }
  void release() {
    std::lock_guard lock(m_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  EchoHandler echo_;
  std::mutex m_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
};

TEST(Server, StopAnswersWhatArrivedBeforeTheClose) {
  // One worker, held inside a query while more arrive: the datagrams wait in the UDP socket and the new
  // connection in the TCP backlog. stop() is then already queued behind the held query; closing must
  // answer them rather than discard them with the sockets.
  GateHandler gate;
  Server server(ServerOptions{{{"127.0.0.1", 0}}, 1, 10000ms, 1024}, gate);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  Socket holder = connect_to(SOCK_DGRAM, "127.0.0.1", port);
  send_bytes(holder, make_query(0xbb00));
  ASSERT_TRUE(gate.wait_held());
  Socket udp = connect_to(SOCK_DGRAM, "127.0.0.1", port);
  for (uint16_t id = 1; id <= 5; ++id)
    send_bytes(udp, make_query(id));
  Socket tcp = connect_to(SOCK_STREAM, "127.0.0.1", port);
  send_bytes(tcp, framed(make_query(7)));
  std::thread stopper([&] { server.stop(); });
  std::this_thread::sleep_for(100ms);  // stop() has posted the shutdown behind the held query
  gate.release();
  EXPECT_EQ(recv_datagram(holder), expected_answer(make_query(0xbb00)));
  for (uint16_t id = 1; id <= 5; ++id)
    EXPECT_EQ(recv_datagram(udp), expected_answer(make_query(id))) << "queued datagram " << id;
  EXPECT_EQ(read_frame(tcp), expected_answer(make_query(7))) << "connection from the accept backlog";
  EXPECT_TRUE(closed_by_peer(tcp));
  stopper.join();
}

TEST(Server, PortTakenWithoutReusePortGivesClearError) {
  Socket blocker(::socket(AF_INET, SOCK_DGRAM, 0));
  socklen_t len = 0;
  sockaddr_storage addr = make_addr("127.0.0.1", 0, len);
  ASSERT_EQ(::bind(blocker.fd(), reinterpret_cast<const sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::getsockname(blocker.fd(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const uint16_t port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  EchoHandler handler;
  Server server(ServerOptions{{{"127.0.0.1", port}}, 2}, handler);
  try {
    server.start();
    FAIL() << "start() should have thrown";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot listen on udp 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  }
  server.stop();  // harmless after a failed start
}

TEST(Server, SamePortForUdpAndTcpOnEveryAddress) {
  std::vector<ListenAddress> listen{{"127.0.0.1", 0}};
  if (ipv6_loopback_available()) listen.push_back({"::1", 0});
  Running r(listen);
  for (size_t i = 0; i < listen.size(); ++i) {
    Socket u = connect_to(SOCK_DGRAM, listen[i].host, r.port(i));
    send_bytes(u, make_query(10));
    EXPECT_EQ(recv_datagram(u), expected_answer(make_query(10)));
    Socket t = connect_to(SOCK_STREAM, listen[i].host, r.port(i));
    send_bytes(t, framed(make_query(11)));
    EXPECT_EQ(read_frame(t), expected_answer(make_query(11)));
  }
}

}  // namespace
}  // namespace clusterdns::dns
