// The measuring decorator and the per-thread counters: counts by type, rcode, proto and family, histograms,
// sums across threads, deferred answers, panics, and the sampled query log.
#include "ops/metrics/query_metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "dns/wire/header.hpp"
#include "dns/wire/types.hpp"
#include "ops/metrics/query_log.hpp"
#include "tests/support/dns_test_util.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;
using namespace clusterdns::ops;
using testutil::make_query;
using testutil::QuerySpec;

namespace {

// Answers with the query's header and question, QR set and the rcode it was told; throws on "boom.".
class FakeHandler : public dns::QueryHandler {
 public:
  uint8_t rcode = 0;
  size_t answer(std::span<const uint8_t> q, std::span<uint8_t> out, const dns::QueryContext&) override {
    if (q.size() > 17 && std::string(reinterpret_cast<const char*>(q.data()) + 13, 4) == "boom") {
      throw std::runtime_error("boom");
    }
    std::copy(q.begin(), q.end(), out.begin());
    dns::wire::Header h(out);
    h.set(dns::wire::kFlagQr);
    h.set_rcode(rcode);
    return q.size();
  }
};

struct Peer {
  explicit Peer(bool v6) {
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, "::1", &a->sin6_addr);
      a->sin6_port = htons(5353);
      len = sizeof(sockaddr_in6);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&storage);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, "127.0.0.1", &a->sin_addr);
      a->sin_port = htons(40000);
      len = sizeof(sockaddr_in);
    }
  }
  sockaddr_storage storage{};
  socklen_t len = 0;
};

size_t ask(dns::QueryHandler& h, const QuerySpec& spec, dns::Transport t = dns::Transport::Udp,
           bool v6 = false) {
  const auto q = make_query(spec);
  std::vector<uint8_t> out(65535);
  Peer peer(v6);
  dns::QueryContext ctx;
  ctx.transport = t;
  ctx.peer = reinterpret_cast<const sockaddr*>(&peer.storage);
  ctx.peer_len = peer.len;
  return h.answer(q, out, ctx);
}

uint64_t requests(const QueryTotals& t, size_t proto, size_t family, uint16_t qtype) {
  return t[Slots::requests(proto, family, type_slot(qtype))];
}

uint64_t duration_count(const QueryTotals& t, uint16_t qtype) {
  uint64_t n = 0;
  for (size_t b = 0; b <= kDurationBounds; ++b)
    n += t[Slots::duration_bucket(type_slot(qtype), b)];
  return n;
}

}  // namespace

TEST(QueryMetrics, Labels) {
  EXPECT_STREQ(type_label(type_slot(1)), "A");
  EXPECT_STREQ(type_label(type_slot(28)), "AAAA");
  EXPECT_STREQ(type_label(type_slot(33)), "SRV");
  EXPECT_STREQ(type_label(type_slot(99)), "other");
  EXPECT_EQ(rcode_label(3), "NXDOMAIN");
  EXPECT_EQ(rcode_label(5), "REFUSED");
  EXPECT_EQ(rcode_label(12), "RCODE12");
  EXPECT_DOUBLE_EQ(duration_bound_seconds(0), 0.00025);
  EXPECT_DOUBLE_EQ(duration_bound_seconds(15), 8.192);
}

TEST(QueryMetrics, CountsByTypeRcodeProtoAndFamily) {
  FakeHandler inner;
  QueryMetrics m;
  MetricsHandler h(inner, m);
  ask(h, {.name = "a.example", .type = rrtype::A});
  ask(h, {.name = "a.example", .type = rrtype::A}, dns::Transport::Tcp);
  ask(h, {.name = "a.example", .type = rrtype::AAAA}, dns::Transport::Udp, true);
  ask(h, {.name = "a.example", .type = 99, .edns_size = 1232, .do_bit = true});
  inner.rcode = 3;
  ask(h, {.name = "b.example", .type = rrtype::SRV});
  const QueryTotals t = m.totals();
  EXPECT_EQ(requests(t, 0, 0, 1), 1u);
  EXPECT_EQ(requests(t, 1, 0, 1), 1u);
  EXPECT_EQ(requests(t, 0, 1, 28), 1u);
  EXPECT_EQ(requests(t, 0, 0, 99), 1u);
  EXPECT_EQ(requests(t, 0, 0, 33), 1u);
  EXPECT_EQ(t[Slots::kDo], 1u);
  EXPECT_EQ(t[Slots::responses(0, 0)], 4u);
  EXPECT_EQ(t[Slots::responses(0, 3)], 1u);
  EXPECT_EQ(duration_count(t, 1), 2u);
  // Sizes: 4 UDP + 1 TCP requests and responses, summed by byte.
  uint64_t udp = 0;
  for (size_t b = 0; b <= kSizeBounds; ++b)
    udp += t[Slots::size_bucket(0, 0, b)];
  EXPECT_EQ(udp, 4u);
  EXPECT_EQ(t[Slots::size_sum(1, 1)], make_query({.name = "a.example", .type = rrtype::A}).size());
}

TEST(QueryMetrics, SumsEveryThreadsBlock) {
  FakeHandler inner;
  QueryMetrics m;
  MetricsHandler h(inner, m);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        ask(h, {.name = "a.example", .type = rrtype::A});
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(requests(m.totals(), 0, 0, 1), 4000u);
  // A second instance on the same threads starts from zero.
  QueryMetrics other;
  MetricsHandler h2(inner, other);
  ask(h2, {.name = "a.example", .type = rrtype::A});
  EXPECT_EQ(requests(other.totals(), 0, 0, 1), 1u);
  EXPECT_EQ(requests(m.totals(), 0, 0, 1), 4000u);
}

TEST(QueryMetrics, PanicsAreCountedAndRethrown) {
  FakeHandler inner;
  QueryMetrics m;
  MetricsHandler h(inner, m);
  EXPECT_THROW(ask(h, {.name = "boom.example", .type = rrtype::A}), std::runtime_error);
  EXPECT_EQ(m.totals()[Slots::kPanics], 1u);
}

namespace {

class Reply : public dns::PendingReply {
 public:
  explicit Reply(std::vector<uint8_t>* sent) : sent_(sent) {}
  void complete(std::span<const uint8_t> m) override { sent_->assign(m.begin(), m.end()); }

 private:
  std::vector<uint8_t>* sent_;
};

class ServerDeferrer : public dns::Deferrer {
 public:
  std::vector<uint8_t> sent;
  std::unique_ptr<dns::PendingReply> defer() override { return std::make_unique<Reply>(&sent); }
};

// Defers every query and keeps the reply for the test to complete later.
class DeferringHandler : public dns::QueryHandler {
 public:
  std::unique_ptr<dns::PendingReply> pending;
  size_t answer(std::span<const uint8_t>, std::span<uint8_t>, const dns::QueryContext& ctx) override {
    pending = ctx.deferrer->defer();
    return 0;
  }
};

}  // namespace

TEST(QueryMetrics, DeferredAnswersAreRecordedWhenCompleted) {
  DeferringHandler inner;
  QueryMetrics m;
  MetricsHandler h(inner, m);
  ServerDeferrer server;
  const auto q = make_query({.name = "www.example.com", .type = rrtype::AAAA});
  std::vector<uint8_t> out(65535);
  Peer peer(false);
  dns::QueryContext ctx;
  ctx.peer = reinterpret_cast<const sockaddr*>(&peer.storage);
  ctx.peer_len = peer.len;
  ctx.deferrer = &server;
  EXPECT_EQ(h.answer(q, out, ctx), 0u);
  QueryTotals t = m.totals();
  EXPECT_EQ(requests(t, 0, 0, 28), 1u);
  EXPECT_EQ(t[Slots::responses(static_cast<size_t>(Plugin::Forward), 0)], 0u);
  ASSERT_TRUE(inner.pending);
  std::vector<uint8_t> answer = q;
  dns::wire::Header(answer).set(dns::wire::kFlagQr);
  std::thread([&] { inner.pending->complete(answer); }).join();  // from another thread, as a forwarder may
  t = m.totals();
  EXPECT_EQ(server.sent, answer);
  EXPECT_EQ(requests(t, 0, 0, 28), 1u);  // not counted twice
  EXPECT_EQ(t[Slots::responses(static_cast<size_t>(Plugin::Forward), 0)], 1u);
  EXPECT_EQ(duration_count(t, 28), 1u);
}

TEST(QueryMetrics, QueryLogSamplesEveryNth) {
  FakeHandler inner;
  QueryMetrics m;
  MetricsHandler h(inner, m);
  m.set_query_log_rate(0.1);
  m.query_log().stop();  // drain by hand below
  for (int i = 0; i < 50; ++i)
    ask(h, {.name = "my-nginx.default.svc.cluster.local", .type = rrtype::A, .id = static_cast<uint16_t>(i)});
  EXPECT_EQ(m.query_log().drain(), 5u);
  m.set_query_log_rate(0);
  m.query_log().stop();
  for (int i = 0; i < 50; ++i)
    ask(h, {.name = "x.example", .type = rrtype::A});
  EXPECT_EQ(m.query_log().drain(), 0u);
}

TEST(QueryMetrics, QueryLogLine) {
  QueryLogEntry e;
  e.peer = base::IpAddress::parse("10.244.1.7");
  e.port = 40231;
  e.id = 4660;
  e.qtype = 1;
  const std::string name =
      "\x08my-nginx\x07"
      "default\x03svc\x07"
      "cluster\x05local";
  e.qname_len = static_cast<uint8_t>(name.size() + 1);
  std::copy(name.begin(), name.end(), e.qname);
  e.request_size = 52;
  e.response_size = 106;
  e.answered = true;
  e.duration_ns = 91000;
  EXPECT_EQ(
      format_query_log(e),
      "10.244.1.7:40231 - 4660 \"A IN my-nginx.default.svc.cluster.local. udp 52\" NOERROR 106 0.000091s");
}
