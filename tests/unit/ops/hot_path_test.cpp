// The query path allocates nothing (design rule), measured through the handler the server really runs:
// the metrics wrapper (per-thread counters, histograms) around the responder.
#include <gtest/gtest.h>

#include "discovery/files/manifest_parser.hpp"
#include "dns/wire/types.hpp"
#include "ops/metrics/query_metrics.hpp"
#include "tests/support/allocation_counter.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;

TEST(HotPath, MeasuredAnsweringAllocatesNothing) {
  auto parsed =
      discovery::parse_manifests(std::string(CLUSTERDNS_SOURCE_DIR) + "/tests/golden/fixtures/cluster.yaml");
  ASSERT_TRUE(parsed.errors.empty());
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&parsed.state, zones::BuildConfig{}, 1));
  zones::Responder responder(holder, {});
  ops::QueryMetrics metrics;
  ops::MetricsHandler measured(responder, metrics, ops::Plugin::Kubernetes);
  const std::vector<testutil::QuerySpec> specs = {
      {.name = "my-nginx.default.svc.cluster.local", .type = rrtype::A},
      {.name = "my-nginx.default.svc.cluster.local", .type = rrtype::AAAA, .edns_size = 1232},
      {.name = "_http._tcp.web.default.svc.cluster.local", .type = rrtype::SRV},
      {.name = "www.example.com.default.svc.cluster.local", .type = rrtype::A},  // NXDOMAIN
      {.name = "149.162.0.10.in-addr.arpa", .type = rrtype::PTR},
      {.name = "example.com", .type = rrtype::A},  // REFUSED
  };
  std::vector<std::vector<uint8_t>> queries;
  for (const auto& s : specs)
    queries.push_back(testutil::make_query(s));
  const testutil::CountedAnswers counted = testutil::answer_counting(measured, queries, 100);
  EXPECT_EQ(counted.answered, 100 * queries.size());
  EXPECT_EQ(counted.allocated, 0);
}
