// The query path allocates nothing (design rule): every heap allocation made while answering is counted.
#include <gtest/gtest.h>

#include "discovery/files/manifest_parser.hpp"
#include "tests/support/allocation_counter.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "dns/wire/types.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;

TEST(HotPath, AnsweringAllocatesNothing) {
  auto parsed =
      discovery::parse_manifests(std::string(CLUSTERDNS_SOURCE_DIR) + "/tests/golden/fixtures/cluster.yaml");
  ASSERT_TRUE(parsed.errors.empty());
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&parsed.state, zones::BuildConfig{}, 1));
  zones::Responder responder(holder, {});
  const std::vector<testutil::QuerySpec> specs = {
      {.name = "my-nginx.default.svc.cluster.local", .type = rrtype::A},
      {.name = "MY-NGINX.default.svc.cluster.local", .type = rrtype::AAAA, .edns_size = 1232},
      {.name = "_http._tcp.web.default.svc.cluster.local", .type = rrtype::SRV},
      {.name = "www.example.com.default.svc.cluster.local", .type = rrtype::A},  // NXDOMAIN
      {.name = "149.162.0.10.in-addr.arpa", .type = rrtype::PTR},
      {.name = "1-2-3-4.default.pod.cluster.local", .type = rrtype::A},        // synthesized pod record
      {.name = "alias.default.svc.cluster.local", .type = rrtype::A},          // CNAME chased
      {.name = "example.com", .type = rrtype::A},                              // REFUSED
      {.name = "x", .type = rrtype::A, .edns_size = 1232, .edns_version = 1},  // BADVERS
  };
  std::vector<std::vector<uint8_t>> queries;
  for (const auto& s : specs)
    queries.push_back(testutil::make_query(s));
  const testutil::CountedAnswers counted = testutil::answer_counting(responder, queries, 100);
  EXPECT_EQ(counted.answered, 100 * queries.size());
  EXPECT_EQ(counted.allocated, 0);
}
