// The operations HTTP transport under slow, idle and greedy clients (issue 11 #4): probes are answered at
// once, a request has one deadline however slowly it trickles, connections are capped per client.
#include "ops/http/http_query.hpp"
#include "ops/http/http_transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace clusterdns::ops;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A TCP connection to 127.0.0.1:port from `source` (another loopback address is another client).
int connect_to(uint16_t port, const char* source = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) ADD_FAILURE() << "bind " << source;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) ADD_FAILURE() << "connect";
  return fd;
}

void send_all(int fd, const std::string& s) {
  (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
}

// Reads until the peer closes, `timeout` passes, or a complete response (head + Content-Length) is in.
std::string read_response(int fd, std::chrono::milliseconds timeout) {
  std::string in;
  const auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (::poll(&p, 1, static_cast<int>(std::max<long>(left, 1))) <= 0) break;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    const size_t head = in.find("\r\n\r\n");
    if (head != std::string::npos && in.rfind("HTTP/1.1 1", 0) == 0) break;  // an interim 1xx: no body
    const size_t cl = in.find("Content-Length: ");
    if (head != std::string::npos && cl != std::string::npos && cl < head &&
        in.size() >= head + 4 + std::stoul(in.substr(cl + 16)))
      break;
  }
  return in;
}

// GET path on a new connection; returns the response ("" when none came within `timeout`).
std::string get(uint16_t port, const std::string& path, std::chrono::milliseconds timeout = 1000ms,
                const char* source = "127.0.0.1") {
  const int fd = connect_to(port, source);
  send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string r = read_response(fd, timeout);
  ::close(fd);
  return r;
}

bool closed_by_peer(int fd, std::chrono::milliseconds within) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

struct Server {
  explicit Server(HttpLimits limits, std::chrono::milliseconds slow = 400ms) {
    std::vector<HttpRoute> routes;
    routes.push_back({"GET", "/health", false, [](const HttpRequest&) {
                        return HttpResponse{200, "text/plain", "OK"};
                      }});
    routes.push_back({"GET", "/slow", true, [slow](const HttpRequest&) {
                        std::this_thread::sleep_for(slow);
                        return HttpResponse{200, "text/plain", "slow"};
                      }});
    routes.push_back({"POST", "/echo", true, [](const HttpRequest& r) {
                        return HttpResponse{200, "text/plain", r.body + "|" + r.query};
                      }});
    routes.push_back({"GET", "/throw", false,
                      [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("boom"); }});
    transport = std::make_unique<HttpTransport>("http", std::move(routes), limits);
    port = transport->bind({"127.0.0.1", 0});
    transport->start();
  }
  std::unique_ptr<HttpTransport> transport;
  uint16_t port = 0;
};

HttpLimits test_limits() {
  HttpLimits l;
  l.request_deadline = 1000ms;
  l.max_per_client = 8;
  l.max_connections = 64;
  l.pool_threads = 1;
  l.pool_queue = 2;
  return l;
}

}  // namespace

TEST(HttpTransport, ServesRoutesAnd404And500) {
  Server s(test_limits());
  EXPECT_EQ(get(s.port, "/health", 5000ms).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(get(s.port, "/health", 5000ms).find("\r\n\r\nOK"), std::string::npos);
  EXPECT_EQ(get(s.port, "/nothing", 5000ms).substr(0, 12), "HTTP/1.1 404");
  EXPECT_EQ(get(s.port, "/throw", 5000ms).substr(0, 12), "HTTP/1.1 500");
  const int fd = connect_to(s.port);
  send_all(fd, "POST /echo?a=b%20c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_NE(read_response(fd, 5000ms).find("\r\n\r\nhello|a=b%20c"), std::string::npos);
  send_all(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(read_response(fd, 5000ms), "HTTP/1.1 100 Continue\r\n\r\n");
  send_all(fd, "hi");
  EXPECT_NE(read_response(fd, 5000ms).find("\r\n\r\nhi|"), std::string::npos);
  send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");  // keep-alive: a second request on the same one
  EXPECT_EQ(read_response(fd, 5000ms).substr(0, 15), "HTTP/1.1 200 OK");
  ::close(fd);
}

// 200 connections trickling a header line each: before, each held one of 4 threads and /health timed out.
TEST(HttpTransport, SlowClientsDoNotDelayProbes) {
  Server s(test_limits());
  std::vector<int> slow;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_to(s.port, "127.0.0.2");
    send_all(fd, "GET /health HTTP/1.1\r\n");
    slow.push_back(fd);
  }
  for (int round = 0; round < 3; ++round) {
    for (int fd : slow)
      send_all(fd, "X-Slow: " + std::to_string(round) + "\r\n");
    const auto t0 = Clock::now();
    EXPECT_EQ(get(s.port, "/health", 1000ms).substr(0, 15), "HTTP/1.1 200 OK") << "round " << round;
    EXPECT_LT(Clock::now() - t0, 800ms);  // generous for sanitizers; the failure is a 1 s timeout
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_LE(s.transport->connections(), 8u + 1u);  // 127.0.0.2 holds at most max_per_client
  // Even a probe from the greedy client's own address gets in: its oldest idle connection is evicted.
  const uint64_t evicted = s.transport->stats().evicted;
  EXPECT_GE(evicted, 200u - 8u);  // every connection over the per-client cap evicted an older one
  EXPECT_EQ(get(s.port, "/health", 1000ms, "127.0.0.2").substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(s.transport->stats().evicted, evicted + 1);
  EXPECT_EQ(s.transport->stats().refused, 0u);  // always something idle to evict
  for (int fd : slow)
    ::close(fd);
}

// One deadline for the whole request, not per read: a header line every 300 ms is cut off after ~1 s.
TEST(HttpTransport, RequestDeadlineIsTotal) {
  Server s(test_limits());
  const int fd = connect_to(s.port);
  send_all(fd, "GET /health HTTP/1.1\r\n");
  const auto t0 = Clock::now();
  bool closed = false;
  for (int i = 0; i < 10 && !closed; ++i) {
    send_all(fd, "X-Trickle: " + std::to_string(i) + "\r\n");
    closed = closed_by_peer(fd, 300ms);
  }
  EXPECT_TRUE(closed);
  EXPECT_GT(Clock::now() - t0, 800ms);
  EXPECT_LT(Clock::now() - t0, 2500ms);  // well before the 3 s the client keeps trickling
  // Beast closes the socket when the deadline expires, before the handler that counts it runs.
  for (int i = 0; i < 100 && s.transport->stats().timed_out == 0; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(s.transport->stats().timed_out, 1u);
  ::close(fd);
}

// Idle keep-alive connections cost nothing: before, 4 of them held every thread and /health waited 4 s.
TEST(HttpTransport, IdleKeepAlivesDoNotDelayProbes) {
  Server s(test_limits());
  std::vector<int> idle;
  for (int i = 0; i < 6; ++i) {
    const int fd = connect_to(s.port);
    send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(read_response(fd, 1000ms).substr(0, 15), "HTTP/1.1 200 OK");
    idle.push_back(fd);
  }
  const auto t0 = Clock::now();
  EXPECT_EQ(get(s.port, "/health", 1000ms, "127.0.0.3").substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_LT(Clock::now() - t0, 800ms);  // was 4 s: one thread per idle connection
  for (int fd : idle)
    ::close(fd);
}

// The pool is bounded: a third slow request while one runs and one waits is refused, and probes are still
// answered while the pool is busy.
TEST(HttpTransport, BusyPoolAnswers503AndProbesStillPass) {
  Server s(test_limits(), 1500ms);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, busy{0};
  for (int i = 0; i < 3; ++i) {
    clients.emplace_back([&, i] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 * i));
      const std::string r = get(s.port, "/slow", 6000ms);
      if (r.rfind("HTTP/1.1 200", 0) == 0) ++ok;
      if (r.rfind("HTTP/1.1 503", 0) == 0) ++busy;
    });
  }
  std::this_thread::sleep_for(200ms);
  const auto t0 = Clock::now();
  EXPECT_EQ(get(s.port, "/health", 1000ms).substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_LT(Clock::now() - t0, 800ms);  // not behind the 1.5 s handlers
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(busy, 1);
  EXPECT_EQ(s.transport->stats().busy, 1u);
}

TEST(HttpTransport, BodiesAreBounded) {
  HttpLimits l = test_limits();
  l.body_bytes = 1000;
  l.body_budget = 1500;
  Server s(l);
  const int fd = connect_to(s.port);
  send_all(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
  EXPECT_EQ(read_response(fd, 1000ms).substr(0, 12), "HTTP/1.1 413");
  ::close(fd);
  // Two announced bodies of 900 bytes do not fit the 1,500-byte budget at once.
  const int a = connect_to(s.port);
  send_all(a, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\npartial");
  std::this_thread::sleep_for(100ms);
  const int b = connect_to(s.port, "127.0.0.4");
  send_all(b, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n");
  EXPECT_EQ(read_response(b, 1000ms).substr(0, 12), "HTTP/1.1 503");
  ::close(a);
  ::close(b);
  const int big = connect_to(s.port);
  send_all(big, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(read_response(big, 1000ms).substr(0, 12), "HTTP/1.1 431");
  ::close(big);
  const HttpTransport::Stats st = s.transport->stats();
  EXPECT_EQ(st.too_large, 2u);  // the 413 and the 431
  EXPECT_EQ(st.busy, 1u);       // the body budget
  EXPECT_EQ(st.timed_out, 0u);
}

TEST(HttpTransport, QueryParameters) {
  EXPECT_EQ(query_param("namespace=default&enableServiceLinks=false", "namespace"), "default");
  EXPECT_EQ(query_param("namespace=default&enableServiceLinks=false", "enableServiceLinks"), "false");
  EXPECT_EQ(query_param("a=1&a=2", "a"), "1");
  EXPECT_EQ(query_param("n=a%2Fb+c%zz%4", "n"), "a/b c%zz%4");
  EXPECT_EQ(query_param("%6eamespace=x", "namespace"), "x");
  EXPECT_EQ(query_param("flag&x=1", "flag"), "");
  EXPECT_EQ(query_param("", "x"), "");
  EXPECT_EQ(query_param("n=%ff", "n"), "\xff");
}

// Nothing idle to evict (every connection is being answered): a connection over the cap is refused, counted.
TEST(HttpTransport, RefusedConnectionsAreCounted) {
  HttpLimits l = test_limits();
  l.max_connections = 2;
  Server s(l, 1500ms);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i)
    clients.emplace_back([&] { (void)get(s.port, "/slow", 4000ms); });
  std::this_thread::sleep_for(300ms);  // both are busy in /slow now
  EXPECT_EQ(get(s.port, "/health", 500ms, "127.0.0.5"), "");
  EXPECT_EQ(s.transport->stats().refused, 1u);
  EXPECT_EQ(s.transport->stats().evicted, 0u);
  for (auto& t : clients)
    t.join();
}
