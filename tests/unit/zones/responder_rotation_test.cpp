// The responder's round robin (CoreDNS loadbalance): multi-record answers rotate per response, every
// rotation is a valid message (truncation, SRV additional data), --loadbalance off keeps the order.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "discovery/model.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "dns/wire/types.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;
using testutil::decode;
using testutil::make_query;
using testutil::QuerySpec;

namespace {

discovery::RegistryState headless(int endpoints) {
  discovery::RegistryState s;
  s.namespaces = {"default"};
  discovery::Service svc;
  svc.ns = "default";
  svc.name = "web";
  svc.kind = discovery::ServiceKind::Headless;
  s.services.push_back(svc);
  discovery::EndpointSet set;
  set.ns = "default";
  set.name = "web-1";
  set.service_name = "web";
  set.ports.push_back({"http", 80, discovery::Protocol::Tcp});
  for (int i = 0; i < endpoints; ++i) {
    discovery::Endpoint ep;
    ep.addresses.push_back("10.128." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
    set.endpoints.push_back(ep);
  }
  s.endpoint_sets.push_back(set);
  return s;
}

class RotationTest : public ::testing::Test {
 protected:
  void publish(int endpoints) {
    state_ = headless(endpoints);
    holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, ++serial_));
  }
  testutil::Decoded ask(zones::Responder& r, const QuerySpec& spec, dns::Transport t = dns::Transport::Udp) {
    std::vector<uint8_t> out(65535);
    dns::QueryContext ctx;
    ctx.transport = t;
    const auto query = make_query(spec);
    const size_t n = r.answer(query, out, ctx);
    return n ? decode(out.data(), n) : testutil::Decoded{};
  }
  discovery::RegistryState state_;
  zones::SnapshotHolder holder_;
  uint32_t serial_ = 0;
  zones::Responder rotating_{holder_, {}};
  zones::Responder fixed_{holder_, [] {
                            zones::ResponderOptions o;
                            o.rotate = false;
                            return o;
                          }()};
};

TEST_F(RotationTest, HeadlessAddressesRotatePerResponse) {
  publish(3);
  const QuerySpec q{.name = "web.default.svc.cluster.local", .type = rrtype::A};
  std::set<std::string> firsts;
  std::vector<std::string> sorted_first;
  for (int i = 0; i < 10; ++i) {
    auto a = ask(rotating_, q);
    ASSERT_TRUE(a.ok);
    ASSERT_EQ(a.answer.size(), 3u);
    firsts.insert(a.answer.front());
    auto sorted = a.answer;
    std::sort(sorted.begin(), sorted.end());
    if (sorted_first.empty()) sorted_first = sorted;
    EXPECT_EQ(sorted, sorted_first);  // the same records, only the order moves
    // A rotation, not a shuffle: each answer is the previous one turned by one.
    auto b = ask(rotating_, q);
    ASSERT_EQ(b.answer.size(), 3u);
    EXPECT_EQ(b.answer[0], a.answer[1]);
    EXPECT_EQ(b.answer[2], a.answer[0]);
  }
  EXPECT_EQ(firsts.size(), 3u);
  // --loadbalance off: the snapshot's order every time.
  const auto first = ask(fixed_, q).answer;
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(ask(fixed_, q).answer, first);
}

TEST_F(RotationTest, TruncationCutsTheRotatedAnswerAtWholeRecords) {
  publish(40);  // ~700 octets: TC without EDNS
  const QuerySpec q{.name = "web.default.svc.cluster.local", .type = rrtype::A};
  std::set<std::string> firsts;
  for (int i = 0; i < 40; ++i) {
    auto a = ask(rotating_, q);
    ASSERT_TRUE(a.ok) << i;
    EXPECT_TRUE(a.tc);
    EXPECT_GT(a.answer.size(), 20u);
    EXPECT_LT(a.answer.size(), 40u);
    firsts.insert(a.answer.front());
  }
  EXPECT_EQ(firsts.size(), 40u);
  auto tcp = ask(rotating_, q, dns::Transport::Tcp);
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.answer.size(), 40u);
}

TEST_F(RotationTest, SrvRotatesWithItsAdditionalAddressesIntact) {
  publish(4);
  const QuerySpec q{
      .name = "_http._tcp.web.default.svc.cluster.local", .type = rrtype::SRV, .edns_size = 1232};
  std::set<std::string> firsts;
  for (int i = 0; i < 8; ++i) {
    auto a = ask(rotating_, q);
    ASSERT_TRUE(a.ok);
    ASSERT_EQ(a.answer.size(), 4u);
    firsts.insert(a.answer.front());
    // Every SRV target has its A record, decoded through compression pointers that survived the turn.
    ASSERT_EQ(a.additional.size(), 4u);
    for (const auto& srv : a.answer) {
      const std::string target = srv.substr(srv.rfind(' ') + 1);
      EXPECT_TRUE(std::any_of(a.additional.begin(), a.additional.end(), [&](const std::string& rr) {
        return rr.rfind(target + " ", 0) == 0;
      })) << srv;
    }
  }
  EXPECT_EQ(firsts.size(), 4u);
  // Without EDNS, six SRVs fit, their addresses only partly: still silent (RFC 2181 §9), never broken.
  publish(6);
  for (int i = 0; i < 6; ++i) {
    auto a = ask(rotating_, {.name = "_http._tcp.web.default.svc.cluster.local", .type = rrtype::SRV});
    ASSERT_TRUE(a.ok);
    EXPECT_EQ(a.answer.size(), 6u);
    EXPECT_FALSE(a.tc);
    EXPECT_LT(a.additional.size(), 6u);
  }
}

TEST_F(RotationTest, SingleRecordsAndNegativeAnswersAreUntouched) {
  publish(1);
  for (int i = 0; i < 3; ++i) {
    auto a = ask(rotating_, {.name = "web.default.svc.cluster.local", .type = rrtype::A});
    ASSERT_EQ(a.answer.size(), 1u);
    EXPECT_EQ(a.answer[0], "web.default.svc.cluster.local. 30 IN A 10.128.0.1");
    EXPECT_EQ(ask(rotating_, {.name = "nope.default.svc.cluster.local"}).rcode, "NXDOMAIN");
  }
}

}  // namespace
