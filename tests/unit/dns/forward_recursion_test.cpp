// The forwarder as the responder's Recursion: CNAME targets outside the zones resolved through the cache
// and the upstreams (answer merged, TTLs capped by the CNAME's, the target's RCODE), and --allow-recursion
// (REFUSED for other clients, nothing chased or forwarded for them). Fake upstream on 127.0.0.1.
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <gtest/gtest.h>

#include "dns/forward/forwarder.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"

namespace clusterdns::dns::forward {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
namespace asio = boost::asio;
using asio::ip::udp;

void put_u16(Bytes& b, uint16_t v) {
  b.insert(b.end(), {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
}
void put_u32(Bytes& b, uint32_t v) {
  put_u16(b, static_cast<uint16_t>(v >> 16));
  put_u16(b, static_cast<uint16_t>(v));
}

// What clusterdns's responder writes for ext.default.svc.cluster.local A: the CNAME, authoritative.
// (The query's OPT is left out: a real answer carries ours after the answer records.)
Bytes cname_prefix(const Bytes& query, uint32_t ttl, const std::string& target) {
  Bytes b(query.begin(),
          query.begin() + static_cast<long>(*wire::skip_name(query.data(), query.size(), 12) + 4));
  wire::Header h(b);
  h.set_flags(wire::kFlagQr | wire::kFlagAa | wire::kFlagRd);
  h.set_counts(h.qdcount(), 1, h.nscount(), 0);
  put_u16(b, 0xC00C);
  put_u16(b, wire::rrtype::CNAME);
  put_u16(b, wire::kClassIn);
  put_u32(b, ttl);
  const auto w = *wire::name_from_text(target);
  put_u16(b, static_cast<uint16_t>(w.size()));
  b.insert(b.end(), w.begin(), w.end());
  return b;
}

// An upstream with www.example.test → web.example.test (CNAME) → 192.0.2.123, TTL 300; every other
// name NXDOMAIN with an SOA (minimum 600).
class Upstream127 {
 public:
  explicit Upstream127(asio::io_context& io)
      : socket_(io, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    receive();
  }
  Upstream address() const {
    std::string error;
    return *parse_upstream("127.0.0.1:" + std::to_string(socket_.local_endpoint().port()), error);
  }
  int queries = 0;

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buf_), from_, [this](const boost::system::error_code& ec, size_t n) {
          if (ec) return;
          const Bytes q(buf_.begin(), buf_.begin() + static_cast<long>(n));
          const std::string text(q.begin(), q.end());
          if (text.find("clusterdns-loop-probe") == std::string::npos) ++queries;
          const size_t qend = *wire::skip_name(q.data(), q.size(), 12) + 4;
          Bytes r(q.begin(), q.begin() + static_cast<long>(qend));
          wire::Header h(r);  // used before r grows
          h.set(wire::kFlagQr);
          h.set(wire::kFlagRa);
          h.set(wire::kFlagAd, false);
          h.set(wire::kFlagCd, false);
          h.set_count(wire::Section::Additional, 0);
          if (text.find("\3www\7example\4test") != std::string::npos) {
            h.set_count(wire::Section::Answer, 2);
            put_u16(r, 0xC00C);
            put_u16(r, wire::rrtype::CNAME);
            put_u16(r, wire::kClassIn);
            put_u32(r, 300);
            put_u16(r, 6);
            r.insert(r.end(), {3, 'w', 'e', 'b', 0xC0, 16});  // web + pointer to example.test in the question
            put_u16(r, static_cast<uint16_t>(0xC000 | (qend + 12)));  // owner: the CNAME's RDATA
            put_u16(r, wire::rrtype::A);
            put_u16(r, wire::kClassIn);
            put_u32(r, 300);
            put_u16(r, 4);
            r.insert(r.end(), {192, 0, 2, 123});
          } else {
            h.set_rcode(wire::Rcode::NxDomain);
            h.set_count(wire::Section::Authority, 1);
            put_u16(r, 0xC000 | 12);  // not exact, but a valid owner
            put_u16(r, wire::rrtype::SOA);
            put_u16(r, wire::kClassIn);
            put_u32(r, 600);
            put_u16(r, 22);
            r.insert(r.end(), {0, 0});  // mname, rname: root
            for (uint32_t v : {1u, 2u, 3u, 4u, 600u})
              put_u32(r, v);
          }
          socket_.send_to(asio::buffer(r), from_);
          receive();
        });
  }
  udp::socket socket_;
  udp::endpoint from_;
  std::array<uint8_t, 4096> buf_{};
};

struct Capture : PendingReply {
  explicit Capture(std::vector<Bytes>& o) : out(o) {}
  void complete(std::span<const uint8_t> m) override { out.emplace_back(m.begin(), m.end()); }
  std::vector<Bytes>& out;
};
struct CaptureDeferrer : Deferrer {
  std::unique_ptr<PendingReply> defer() override {
    ++deferred;
    return std::make_unique<Capture>(replies);
  }
  std::vector<Bytes> replies;
  size_t deferred = 0;  // defer() calls
};

sockaddr_in v4(const char* ip) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

struct Harness {
  explicit Harness(ForwarderOptions o = {}) : up(io) {
    o.channel.timeout = 300ms;
    routes.publish(build_routes({up.address()}, {}, health));
    forwarder = std::make_unique<Forwarder>(o, routes, health);
    forwarder->start_worker(0, io);
  }
  ~Harness() {
    forwarder->stop_worker(0);
    io.run_for(50ms);
  }
  // complete_cname() for `name` from `peer`; a deferred answer is waited for (bounded).
  Bytes chase(const std::string& name, uint16_t qtype, const sockaddr_in& peer, bool* immediate = nullptr) {
    const Bytes query = testutil::make_query({.name = name, .type = qtype, .edns_size = 1232});
    Bytes out = cname_prefix(query, 30, "www.example.test");
    out.resize(65535);
    const size_t len = cname_prefix(query, 30, "www.example.test").size();
    const QueryContext ctx{Transport::Udp, reinterpret_cast<const sockaddr*>(&peer),
                           sizeof(peer),   nullptr,
                           &deferrer,      0,
                           nullptr,        {}};
    const size_t before = deferrer.replies.size(), deferred_before = deferrer.deferred;
    const size_t n =
        forwarder->complete_cname(query, out, len, *wire::name_from_text("www.example.test"), ctx);
    const bool now = deferrer.deferred == deferred_before;
    if (immediate) *immediate = now;
    if (now) return Bytes(out.begin(), out.begin() + static_cast<long>(n));
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (deferrer.replies.size() == before && std::chrono::steady_clock::now() < deadline)
      io.run_for(5ms);
    return deferrer.replies.size() > before ? deferrer.replies.back() : Bytes{};
  }
  asio::io_context io;
  Upstream127 up;
  RoutesHolder routes;
  HealthRegistry health;
  std::unique_ptr<Forwarder> forwarder;
  CaptureDeferrer deferrer;
};

TEST(ForwarderRecursion, CnameTargetResolvedThroughTheCacheWithTtlsCapped) {
  Harness h;
  const auto client = v4("10.244.1.5");
  const Bytes first = h.chase("ext.default.svc.cluster.local", 1, client);
  auto d = testutil::decode(first.data(), first.size());
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.rcode, "NOERROR");
  EXPECT_TRUE(d.aa);  // the first owner is ours (RFC 1035 §4.1.1)
  EXPECT_TRUE(d.ra);
  EXPECT_EQ(d.answer,
            (std::vector<std::string>{"ext.default.svc.cluster.local. 30 IN CNAME www.example.test.",
                                      "www.example.test. 30 IN CNAME web.example.test.",
                                      "web.example.test. 30 IN A 192.0.2.123"}));
  EXPECT_TRUE(d.has_opt);
  // Again: from the forwarder's cache, at once, without asking the upstream.
  const int asked = h.up.queries;
  bool immediate = false;
  const Bytes again = h.chase("ext.default.svc.cluster.local", 1, client, &immediate);
  EXPECT_TRUE(immediate);
  EXPECT_EQ(h.up.queries, asked);
  EXPECT_EQ(testutil::decode(again.data(), again.size()).answer.size(), 3u);
  EXPECT_GE(h.forwarder->stats().cname_chases, 2u);
}

TEST(ForwarderRecursion, MissingTargetIsNxdomainWithTheUpstreamSoa) {
  Harness h;
  const auto client = v4("127.0.0.1");
  const Bytes query =
      testutil::make_query({.name = "gone.default.svc.cluster.local", .type = wire::rrtype::AAAA});
  Bytes out = cname_prefix(query, 30, "missing.example.test");
  const size_t len = out.size();
  out.resize(65535);
  const QueryContext ctx{Transport::Tcp, reinterpret_cast<const sockaddr*>(&client),
                         sizeof(client), nullptr,
                         &h.deferrer,    0,
                         nullptr,        {}};
  ASSERT_EQ(h.forwarder->complete_cname(query, out, len, *wire::name_from_text("missing.example.test"), ctx),
            0u);
  ASSERT_EQ(h.deferrer.deferred, 1u);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (h.deferrer.replies.empty() && std::chrono::steady_clock::now() < deadline)
    h.io.run_for(5ms);
  ASSERT_EQ(h.deferrer.replies.size(), 1u);
  auto d = testutil::decode(h.deferrer.replies[0].data(), h.deferrer.replies[0].size());
  EXPECT_EQ(d.rcode, "NXDOMAIN");  // RFC 6604 §3: about the last name of the chain
  ASSERT_EQ(d.answer.size(), 1u);
  ASSERT_EQ(d.authority.size(), 1u);
  EXPECT_NE(d.authority[0].find(" 30 IN SOA "), std::string::npos) << d.authority[0];  // 600 capped at 30
}

TEST(ForwarderRecursion, AllowRecursionRefusesOtherClientsAndChasesNothingForThem) {
  ForwarderOptions o;
  o.recursion_clients = ClientAcl(default_recursion_clients());
  Harness h(o);
  const auto outsider = v4("203.0.113.9");
  const auto pod = v4("10.244.0.3");
  // Forwarded names: REFUSED for an outsider, without RA; a pod gets its answer.
  const Bytes query = testutil::make_query({.name = "www.example.test"});
  Bytes out(65535);
  const QueryContext outside_ctx{Transport::Udp,   reinterpret_cast<const sockaddr*>(&outsider),
                                 sizeof(outsider), nullptr,
                                 &h.deferrer,      0,
                                 nullptr,          {}};
  const size_t n = h.forwarder->answer(query, out, outside_ctx);
  ASSERT_EQ(h.deferrer.deferred, 0u);  // answered now
  auto refused = testutil::decode(out.data(), n);
  EXPECT_EQ(refused.rcode, "REFUSED");
  EXPECT_FALSE(refused.ra);
  EXPECT_EQ(h.forwarder->stats().refused_client, 1u);
  EXPECT_FALSE(h.forwarder->recurses(*wire::name_from_text("www.example.test"), outside_ctx));
  // An ExternalName for the outsider: the CNAME alone, untouched.
  const Bytes alone = h.chase("ext.default.svc.cluster.local", 1, outsider);
  auto d = testutil::decode(alone.data(), alone.size());
  EXPECT_EQ(d.answer.size(), 1u);
  EXPECT_EQ(d.rcode, "NOERROR");
  EXPECT_EQ(h.up.queries, 0);
  // A pod: the whole chain. IPv4-mapped IPv6 peers (a dual-stack socket) are matched as IPv4.
  const Bytes chain = h.chase("ext.default.svc.cluster.local", 1, pod);
  EXPECT_EQ(testutil::decode(chain.data(), chain.size()).answer.size(), 3u);
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:192.168.1.20", &mapped.sin6_addr);
  const QueryContext mapped_ctx{Transport::Udp, reinterpret_cast<const sockaddr*>(&mapped),
                                sizeof(mapped), nullptr,
                                &h.deferrer,    0,
                                nullptr,        {}};
  EXPECT_TRUE(h.forwarder->recurses(*wire::name_from_text("www.example.test"), mapped_ctx));
  sockaddr_in6 public6{};
  public6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "2001:db8::1", &public6.sin6_addr);
  const QueryContext public6_ctx{Transport::Udp,  reinterpret_cast<const sockaddr*>(&public6),
                                 sizeof(public6), nullptr,
                                 &h.deferrer,     0,
                                 nullptr,         {}};
  EXPECT_FALSE(h.forwarder->recurses(*wire::name_from_text("www.example.test"), public6_ctx));
}

}  // namespace
}  // namespace clusterdns::dns::forward
