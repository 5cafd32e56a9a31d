// The text format and the collectors' families.
#include "ops/metrics/metrics_page.hpp"
#include "ops/metrics/forward_metrics.hpp"
#include "ops/runtime/runtime_metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dns/wire/header.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;
using namespace clusterdns::ops;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PromText, Format) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(format_double(0.00025), "0.00025");
  EXPECT_EQ(format_double(8.192), "8.192");
  EXPECT_EQ(format_double(16000), "16000");
  EXPECT_EQ(format_double(1.0 / 3), "0.3333333333333333");
  PromWriter w;
  w.family("x_total", "counter", "Help with \\ and\nnewline.");
  w.sample("x_total", {{"a", "1"}, {"b", "q\""}}, uint64_t{7});
  const double bounds[] = {1, 2};
  const uint64_t counts[] = {1, 2, 3};
  w.family("h", "histogram", "A histogram.");
  w.histogram("h", {{"k", "v"}}, bounds, counts, 9.5);
  EXPECT_EQ(w.text(),
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n"
            "x_total{a=\"1\",b=\"q\\\"\"} 7\n"
            "# HELP h A histogram.\n# TYPE h histogram\n"
            "h_bucket{k=\"v\",le=\"1\"} 1\nh_bucket{k=\"v\",le=\"2\"} 3\nh_bucket{k=\"v\",le=\"+Inf\"} 6\n"
            "h_sum{k=\"v\"} 9.5\nh_count{k=\"v\"} 6\n");
}

TEST(PromText, ServerLabel) {
  EXPECT_EQ(server_label({{"0.0.0.0", 53}, {"::", 53}}), "dns://:53");
  EXPECT_EQ(server_label({{"127.0.0.1", 5353}}), "dns://127.0.0.1:5353");
  EXPECT_EQ(server_label({{"::1", 5353}}), "dns://[::1]:5353");
}

namespace {
class Echo : public dns::QueryHandler {
 public:
  size_t answer(std::span<const uint8_t> q, std::span<uint8_t> out, const dns::QueryContext&) override {
    std::copy(q.begin(), q.end(), out.begin());
    dns::wire::Header(out).set(dns::wire::kFlagQr);
    return q.size();
  }
};
}  // namespace

TEST(MetricsPage, QueryFamiliesUseCoreDnsNamesAndLabels) {
  Echo echo;
  QueryMetrics m;
  MetricsHandler h(echo, m);
  const auto q = testutil::make_query({.name = "kubernetes.default.svc.cluster.local", .type = rrtype::A});
  std::vector<uint8_t> out(65535);
  dns::QueryContext ctx;
  h.answer(q, out, ctx);
  MetricsPage page;
  page.add(query_collector(m, "dns://:53"));
  page.add(process_collector("0.1.0", "abc"));
  const std::string text = page.render();
  EXPECT_THAT(text,
              HasSubstr("coredns_dns_requests_total{server=\"dns://:53\",zone=\".\",view=\"\",proto=\"udp\","
                        "family=\"1\",type=\"A\"} 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("coredns_dns_responses_total{server=\"dns://:53\",zone=\".\",view=\"\",rcode=\"NOERROR\","
                "plugin=\"kubernetes\"} 1\n"));
  EXPECT_THAT(
      text, HasSubstr("coredns_dns_request_duration_seconds_bucket{server=\"dns://:53\",zone=\".\",view=\"\","
                      "type=\"A\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("coredns_dns_request_size_bytes_count{server=\"dns://:53\",zone=\".\",view=\"\","
                        "proto=\"udp\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("coredns_panics_total 0\n"));
  EXPECT_THAT(text, HasSubstr("coredns_build_info{version=\"0.1.0\",revision=\"abc\",goversion=\""));
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(text, Not(HasSubstr("proto=\"tcp\"")));  // untouched series are not exported
}

TEST(MetricsPage, ReloadFamilies) {
  ReloadStats s;
  s.reloads = 3;
  s.failed = 1;
  s.set_config_hash("ab12");
  MetricsPage page;
  page.add(reload_collector(s));
  const std::string text = page.render();
  EXPECT_THAT(text, HasSubstr("coredns_reload_failed_total 1\n"));
  EXPECT_THAT(text, HasSubstr("clusterdns_config_reloads_total 3\n"));
  EXPECT_THAT(text, HasSubstr("coredns_reload_version_info{hash=\"sha512\",value=\"ab12\"} 1\n"));
}

TEST(MetricsPage, ForwardFamilies) {
  MetricsPage page;
  ForwardCounters c;
  c.queries = 10;
  c.cache_hits = 6;
  c.stale_answers = 1;
  c.refused_inflight = 2;
  page.add(forward_collector([c] { return c; }, "dns://:53"));
  const std::string text = page.render();
  EXPECT_THAT(
      text,
      HasSubstr("coredns_cache_hits_total{server=\"dns://:53\",zones=\".\",view=\"\",type=\"all\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("coredns_cache_misses_total{server=\"dns://:53\",zones=\".\",view=\"\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("coredns_forward_max_concurrent_rejects_total 2\n"));
}
