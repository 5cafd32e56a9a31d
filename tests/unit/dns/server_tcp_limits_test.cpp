// dns/server TCP under hostile clients: slow messages, clients that never read, connection hoarding.
#include "dns/server/server.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLUSTERDNS_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CLUSTERDNS_TEST_ASAN 1
#endif

#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/dns/server_sockets.hpp"

namespace clusterdns::dns {
namespace {

using namespace server_testing;

// Bytes the process has allocated and not freed (every arena), or -1 when unknown (e.g. under ASan).
long heap_in_use() {
#if defined(__GLIBC__) && !defined(CLUSTERDNS_TEST_ASAN)
  return static_cast<long>(mallinfo2().uordblks);
#else
  return -1;
#endif
}

TEST(ServerTcpLimits, PartialMessageClosedAfterTheMessageDeadline) {
  // The idle timeout is 10 s; a message announced but not sent must not hold the connection that long.
  Running r({{"127.0.0.1", 0}});
  Socket slowloris = connect_to(SOCK_STREAM, "127.0.0.1", r.port(), 4000ms);
  send_bytes(slowloris, Bytes{0xff});  // one byte of the length prefix
  Socket trickle = connect_to(SOCK_STREAM, "127.0.0.1", r.port(), 4000ms);
  send_bytes(trickle, Bytes{0xff, 0xff, 1, 2, 3});  // 65,535 bytes announced, 3 sent
  const auto start = Clock::now();
  EXPECT_TRUE(closed_by_peer(slowloris));
  EXPECT_TRUE(closed_by_peer(trickle));
  EXPECT_LE(Clock::now() - start, 2500ms);
  EXPECT_GE(r.server.stats().tcp_timed_out, 2u);
  // An idle connection (no partial message) is not affected by the message deadline.
  Socket idle = connect_to(SOCK_STREAM, "127.0.0.1", r.port(), 1500ms);
  send_bytes(idle, framed(make_query(1)));
  EXPECT_EQ(read_frame(idle), expected_answer(make_query(1)));
  EXPECT_FALSE(closed_by_peer(idle));  // still open after 1.5 s
}

TEST(ServerTcpLimits, TrickledMessageStillAnsweredWhenFastEnough) {
  Running r({{"127.0.0.1", 0}});
  Socket c = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  const Bytes frame = framed(make_query(2, 9000));
  for (size_t at = 0; at < frame.size(); at += 1000) {
    send_bytes(c, Bytes(frame.begin() + static_cast<long>(at),
                        frame.begin() + static_cast<long>(std::min(frame.size(), at + 1000))));
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(read_frame(c), expected_answer(make_query(2, 9000)));
}

TEST(ServerTcpLimits, AnnouncedSizeIsNotAllocatedUpFront) {
  if (heap_in_use() < 0) GTEST_SKIP() << "no mallinfo2 here";
  Running r({{"127.0.0.1", 0}});
  std::vector<Socket> clients;
  for (int i = 0; i < 4; ++i) {  // one connection first: the workers' own buffers are not the point
    clients.push_back(connect_to(SOCK_STREAM, "127.0.0.1", r.port()));
    send_bytes(clients.back(), framed(make_query(static_cast<uint16_t>(i))));
    ASSERT_TRUE(read_frame(clients.back()));
  }
  const long before = heap_in_use();
  for (auto& c : clients)
    send_bytes(c, Bytes{0xff, 0xff, 1, 2, 3});
  std::this_thread::sleep_for(200ms);
  const long grown = heap_in_use() - before;
  EXPECT_LT(grown, 4 * 16 * 1024) << "announcing 65,535 bytes must not cost 64 kB each";
}

TEST(ServerTcpLimits, ClientThatNeverReadsHoldsBoundedMemory) {
  if (heap_in_use() < 0) GTEST_SKIP() << "no mallinfo2 here";
  Running r({{"127.0.0.1", 0}});
  constexpr int kClients = 4;
  const Bytes query = framed(make_query(3, 4000));
  Bytes burst;
  for (int i = 0; i < 64; ++i)
    burst.insert(burst.end(), query.begin(), query.end());
  std::vector<Socket> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connect_to(SOCK_STREAM, "127.0.0.1", r.port(), 300ms));
    const int small = 4096;  // fills sooner: the answers pile up on the server, not in this socket
    setsockopt(clients.back().fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
  const long before = heap_in_use();
  for (auto& c : clients) {
    // Pipeline queries until the server stops reading (sending times out), bounded at 128 MB.
    for (int i = 0; i < 512; ++i) {
      if (::send(c.fd(), burst.data(), burst.size(), MSG_NOSIGNAL) <= 0) break;
    }
  }
  std::this_thread::sleep_for(300ms);
  const long grown = heap_in_use() - before;
  EXPECT_LT(grown, kClients * 128 * 1024) << "answers a client does not read are bounded per connection";
  // Others are still served meanwhile.
  Socket fresh = connect_to(SOCK_STREAM, "127.0.0.1", r.port());
  send_bytes(fresh, framed(make_query(4)));
  EXPECT_EQ(read_frame(fresh), expected_answer(make_query(4)));
}

TEST(ServerTcpLimits, OneClientCannotTakeEveryConnection) {
  EchoHandler handler;
  ServerOptions options{{{"127.0.0.1", 0}}, 2, 10000ms, 64};
  options.max_tcp_per_client = 4;
  Server server(options, handler);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  std::vector<Socket> hoard;
  for (int i = 0; i < 4; ++i) {
    hoard.push_back(connect_from("127.0.0.1", "127.0.0.1", port));
    send_bytes(hoard.back(), framed(make_query(static_cast<uint16_t>(i))));
    ASSERT_TRUE(read_frame(hoard.back())) << i;
  }
  Socket fifth = connect_from("127.0.0.1", "127.0.0.1", port);
  EXPECT_TRUE(closed_by_peer(fifth));
  Socket other = connect_from("127.0.0.2", "127.0.0.1", port);
  send_bytes(other, framed(make_query(9)));
  EXPECT_EQ(read_frame(other), expected_answer(make_query(9)));
  EXPECT_EQ(server.stats().tcp_rejected, 1u);
  hoard.pop_back();  // a slot of its own is free again once one closes
  std::this_thread::sleep_for(100ms);
  Socket again = connect_from("127.0.0.1", "127.0.0.1", port);
  send_bytes(again, framed(make_query(10)));
  EXPECT_EQ(read_frame(again), expected_answer(make_query(10)));
}

TEST(ServerTcpLimits, ClientOverItsCapEvictsNobody) {
  // The server is full (8): one client's retries beyond its own cap (4) must not close anyone else's.
  EchoHandler handler;
  ServerOptions options{{{"127.0.0.1", 0}}, 1, 10000ms, 8};
  options.max_tcp_per_client = 4;
  Server server(options, handler);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  std::vector<Socket> held;
  for (int i = 0; i < 8; ++i) {
    held.push_back(
        connect_from(i < 4 ? "127.0.0.1" : "127.0.6." + std::to_string(i), "127.0.0.1", port, 300ms));
    send_bytes(held.back(), framed(make_query(static_cast<uint16_t>(i))));
    ASSERT_TRUE(read_frame(held.back())) << i;
  }
  for (int i = 0; i < 3; ++i) {
    Socket retry = connect_from("127.0.0.1", "127.0.0.1", port);
    EXPECT_TRUE(closed_by_peer(retry));
  }
  EXPECT_EQ(server.stats().tcp_evicted, 0u);
  EXPECT_EQ(server.stats().tcp_rejected, 3u);
  for (int i = 4; i < 8; ++i)
    EXPECT_FALSE(closed_by_peer(held[static_cast<size_t>(i)])) << i;
}

TEST(ServerTcpLimits, LeastRecentlyActiveEvictedNearTheCap) {
  // One worker, a cap of 8: idle connections from many clients fill it; a new client still gets in, and the
  // connection that was idle longest is the one closed.
  EchoHandler handler;
  Server server(ServerOptions{{{"127.0.0.1", 0}}, 1, 10000ms, 8}, handler);
  server.start();
  const uint16_t port = server.bound().at(0).port;
  std::vector<Socket> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(connect_from("127.0.1." + std::to_string(i + 1), "127.0.0.1", port, 500ms));
    send_bytes(idle.back(), framed(make_query(static_cast<uint16_t>(i))));
    ASSERT_TRUE(read_frame(idle.back())) << i;
  }
  send_bytes(idle[0], framed(make_query(100)));  // the first is active again: the second is now the oldest
  ASSERT_TRUE(read_frame(idle[0]));
  for (int i = 0; i < 3; ++i) {
    Socket fresh = connect_from("127.0.2.1", "127.0.0.1", port);
    send_bytes(fresh, framed(make_query(200)));
    EXPECT_EQ(read_frame(fresh), expected_answer(make_query(200))) << "new client " << i;
  }
  EXPECT_TRUE(closed_by_peer(idle[1]));
  EXPECT_FALSE(closed_by_peer(idle[0]));
  EXPECT_EQ(server.stats().tcp_rejected, 0u);
  EXPECT_GE(server.stats().tcp_evicted, 1u);
}

}  // namespace
}  // namespace clusterdns::dns
