// dns/forward/forwarder against in-process fake upstreams on 127.0.0.1, on one io_context: random upstream
// IDs with the client's restored, cache hits answered at once, failover, serve-stale when every upstream is
// down, the in-flight limit, and a query that comes back to us (a loop). Every wait is bounded.
#include "dns/forward/forwarder.hpp"

#include <utility>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <gtest/gtest.h>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::forward {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
namespace asio = boost::asio;
using asio::ip::udp;

Bytes query(const std::string& name, uint16_t id) {
  Bytes b = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  const auto w = *wire::name_from_text(name);
  b.insert(b.end(), w.begin(), w.end());
  b.insert(b.end(), {0, 1, 0, 1});
  return b;
}

uint16_t id_of(const Bytes& m) {
  return wire::HeaderView(m).id();
}
uint8_t rcode_of(const Bytes& m) {
  return wire::HeaderView(m).rcode();
}
bool is_probe(const Bytes& m) {
  return std::string(m.begin(), m.end()).find("clusterdns-loop-probe") != std::string::npos;
}
uint32_t first_ttl(const Bytes& m) {
  size_t pos = *wire::skip_name(m.data(), m.size(), 12) + 4;
  pos = *wire::skip_name(m.data(), m.size(), pos);
  return wire::load_u32(m.data() + pos + 4);
}

// Answers every query with one A record (TTL `ttl`), or drops them, or hands them to `reflect`.
class FakeUpstream {
 public:
  explicit FakeUpstream(asio::io_context& io)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    receive();
  }
  Upstream address() const {
    std::string error;
    return *parse_upstream("127.0.0.1:" + std::to_string(socket_.local_endpoint().port()), error);
  }
  void close() { socket_.close(); }

  std::vector<Bytes> queries;  // without the loop probes
  bool drop = false;
  uint32_t ttl = 300;
  std::function<Bytes(const Bytes&)> reflect;

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buf_), from_, [this](const boost::system::error_code& ec, size_t n) {
          if (ec) return;
          Bytes q(buf_.begin(), buf_.begin() + static_cast<long>(n));
          if (!is_probe(q)) queries.push_back(q);
          if (reflect) {
            const Bytes r = reflect(q);
            if (!r.empty()) socket_.send_to(asio::buffer(r), from_);
          } else if (!drop) {
            Bytes r = q;
            wire::Header h(r);  // used before r grows
            h.set(wire::kFlagQr);
            h.set(wire::kFlagRa);
            h.set(wire::kFlagAd, false);
            h.set(wire::kFlagCd, false);
            h.set_rcode(wire::Rcode::NoError);
            h.set_count(wire::Section::Answer, 1);
            r.insert(r.end(), {0xC0, 0x0C, 0, 1, 0, 1});
            r.insert(r.end(), {static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16),
                               static_cast<uint8_t>(ttl >> 8), static_cast<uint8_t>(ttl)});
            r.insert(r.end(), {0, 4, 192, 0, 2, 7});
            socket_.send_to(asio::buffer(r), from_);
          }
          receive();
        });
  }
  udp::socket socket_;
  udp::endpoint from_;
  std::array<uint8_t, 4096> buf_{};
};

class Capture : public PendingReply {
 public:
  explicit Capture(std::vector<Bytes>& out) : out_(out) {}
  void complete(std::span<const uint8_t> m) override { out_.emplace_back(m.begin(), m.end()); }

 private:
  std::vector<Bytes>& out_;
};

class CaptureDeferrer : public Deferrer {
 public:
  std::unique_ptr<PendingReply> defer() override {
    ++deferred;
    return std::make_unique<Capture>(replies);
  }
  std::vector<Bytes> replies;
  size_t deferred = 0;  // defer() calls
};

struct Harness {
  void start(std::vector<Upstream> upstreams, ForwarderOptions o = {}) {
    if (o.channel.timeout == std::chrono::milliseconds(2000)) o.channel.timeout = 300ms;
    o.health_interval = 100ms;
    routes.publish(build_routes(upstreams, {}, health));
    forwarder = std::make_unique<Forwarder>(o, routes, health);
    forwarder->start_worker(0, io);
  }
  ~Harness() {
    if (forwarder) forwarder->stop_worker(0);
    io.run_for(50ms);
  }
  // answer(); a deferred answer is waited for (bounded), an immediate one returned as is.
  Bytes ask(const Bytes& q, bool* immediate = nullptr) {
    Bytes out(65535);
    const QueryContext ctx{Transport::Udp, nullptr, 0, nullptr, &deferrer, 0, nullptr, {}};
    const size_t before = deferrer.replies.size(), deferred_before = deferrer.deferred;
    const size_t n = forwarder->answer(q, out, ctx);
    const bool now = deferrer.deferred == deferred_before;
    if (immediate) *immediate = now;
    if (now) return Bytes(out.begin(), out.begin() + static_cast<long>(n));
    run_until([&] { return deferrer.replies.size() > before; });
    return deferrer.replies.size() > before ? deferrer.replies.back() : Bytes{};
  }
  void run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 3000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline)
      io.run_for(5ms);
  }

  asio::io_context io;
  RoutesHolder routes;
  HealthRegistry health;
  std::unique_ptr<Forwarder> forwarder;
  CaptureDeferrer deferrer;
};

TEST(Forwarder, RandomUpstreamIdsAndTheClientIdRestored) {
  Harness h;
  FakeUpstream up(h.io);
  h.start({up.address()});
  // Two clients that both use ID 1, for different names: distinct upstream IDs, each client gets ID 1 back.
  const Bytes a = h.ask(query("a.example.test", 1));
  const Bytes b = h.ask(query("b.example.test", 1));
  ASSERT_EQ(a.size() > 12 && b.size() > 12, true);
  EXPECT_EQ(id_of(a), 1);
  EXPECT_EQ(id_of(b), 1);
  EXPECT_EQ(rcode_of(a), 0);
  ASSERT_GE(up.queries.size(), 2u);
  EXPECT_NE(id_of(up.queries[0]), id_of(up.queries[1]));
  EXPECT_FALSE(id_of(up.queries[0]) == 1 && id_of(up.queries[1]) == 1);
  // Asked again (another client, another ID): from the cache, at once, with that client's ID.
  bool immediate = false;
  const Bytes again = h.ask(query("a.example.test", 0x7777), &immediate);
  EXPECT_TRUE(immediate);
  EXPECT_EQ(id_of(again), 0x7777);
  EXPECT_EQ(up.queries.size(), 2u);
  EXPECT_EQ(h.forwarder->stats().cache_hits, 1u);
}

TEST(Forwarder, FailsOverAndMarksTheDeadUpstreamDown) {
  asio::io_context scratch;
  FakeUpstream dead(scratch);
  const Upstream dead_addr = dead.address();
  dead.close();  // its port now answers ICMP port unreachable
  Harness h;
  FakeUpstream live(h.io);
  ForwarderOptions o;
  o.down_after = 1;
  h.start({dead_addr, live.address()}, o);
  const Bytes r = h.ask(query("www.example.test", 42));
  ASSERT_GE(r.size(), 12u);
  EXPECT_EQ(rcode_of(r), 0);
  EXPECT_EQ(id_of(r), 42);
  EXPECT_TRUE(h.health.get(dead_addr)->down.load());
  EXPECT_GE(h.forwarder->stats().retries, 1u);
  // Marked down, it is skipped: the next query goes straight to the live one.
  const uint64_t failures = h.forwarder->stats().upstream_failures;
  EXPECT_EQ(rcode_of(h.ask(query("other.example.test", 43))), 0);
  EXPECT_EQ(h.forwarder->stats().upstream_failures, failures);
}

TEST(Forwarder, ServesStaleWhenEveryUpstreamIsDownElseServfail) {
  Harness h;
  FakeUpstream up(h.io);
  up.ttl = 1;
  ForwarderOptions o;
  o.down_after = 1;
  h.start({up.address()}, o);
  ASSERT_EQ(rcode_of(h.ask(query("www.example.test", 1))), 0);
  up.close();
  h.run_until([] { return false; }, 1100ms);  // the answer expires
  const Bytes stale = h.ask(query("www.example.test", 2));
  ASSERT_GE(stale.size(), 12u);
  EXPECT_EQ(rcode_of(stale), 0);
  EXPECT_EQ(first_ttl(stale), 30u);  // RFC 8767's stale TTL
  EXPECT_GE(h.forwarder->stats().stale_answers, 1u);
  // Nothing cached for this one: SERVFAIL, at once now that the only upstream is down.
  bool immediate = false;
  const Bytes none = h.ask(query("never.example.test", 3), &immediate);
  EXPECT_EQ(rcode_of(none), 2);
  EXPECT_TRUE(immediate);
}

TEST(Forwarder, InflightLimitAnswersRefused) {
  Harness h;
  FakeUpstream up(h.io);
  up.drop = true;
  ForwarderOptions o;
  o.max_inflight = 1;
  h.start({up.address()}, o);
  Bytes out(65535);
  const QueryContext ctx{Transport::Udp, nullptr, 0, nullptr, &h.deferrer, 0, nullptr, {}};
  const Bytes q1 = query("slow1.example.test", 1), q2 = query("slow2.example.test", 2);
  EXPECT_EQ(h.forwarder->answer(q1, out, ctx), 0u);
  EXPECT_EQ(h.deferrer.deferred, 1u);
  const size_t n = h.forwarder->answer(q2, out, ctx);
  ASSERT_EQ(h.deferrer.deferred, 1u);  // answered now
  EXPECT_EQ(wire::HeaderView(std::span<const uint8_t>(out.data(), n)).rcode(),
            static_cast<uint8_t>(wire::Rcode::Refused));
  EXPECT_EQ(h.forwarder->stats().refused_inflight, 1u);
  h.run_until([&] { return !h.deferrer.replies.empty(); });
  ASSERT_EQ(h.deferrer.replies.size(), 1u);
  EXPECT_EQ(rcode_of(h.deferrer.replies[0]), 2);  // the dropped one: SERVFAIL after the timeout
  EXPECT_EQ(h.forwarder->stats().inflight, 0u);
}

TEST(Forwarder, AQueryThatComesBackIsALoop) {
  Harness h;
  FakeUpstream up(h.io);
  h.start({up.address()});
  // The "upstream" sends every query back to the forwarder, as a resolver pointed at us would.
  up.reflect = [&](const Bytes& q) {
    Bytes out(65535);
    const QueryContext ctx{Transport::Udp, nullptr, 0, nullptr, nullptr, 0, nullptr, {}};
    const size_t n = h.forwarder->answer(q, out, ctx);
    return Bytes(out.begin(), out.begin() + static_cast<long>(n));  // no deferrer: now, or 0 (dropped)
  };
  const Bytes r = h.ask(query("www.example.test", 5));
  ASSERT_GE(r.size(), 12u);
  EXPECT_EQ(rcode_of(r), 2);  // SERVFAIL: its only upstream loops
  EXPECT_GE(h.forwarder->stats().refused_loop, 1u);
  EXPECT_TRUE(h.health.get(up.address())->looping.load());
}

}  // namespace
}  // namespace clusterdns::dns::forward
