// coredns_kubernetes_dns_programming_duration_seconds: which changes are observed, under which kind, in
// which bucket.
#include "ops/metrics/programming_latency.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace clusterdns::ops {
namespace {

using discovery::EndpointSet;
using discovery::RegistryState;
using discovery::Service;
using discovery::ServiceKind;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::chrono::system_clock::time_point kT0{milliseconds(1796148000000)};

Service service(const std::string& name, ServiceKind kind, bool selector) {
  Service s;
  s.ns = "prod";
  s.name = name;
  s.kind = kind;
  if (kind == ServiceKind::ClusterIp) s.cluster_ips = {"10.96.0.1"};
  if (selector) s.selector = {{"app", name}};
  return s;
}

EndpointSet slice(const std::string& name, const std::string& service, int64_t trigger_ms) {
  EndpointSet e;
  e.ns = "prod";
  e.name = name;
  e.service_name = service;
  e.trigger_time_ms = trigger_ms;
  return e;
}

TEST(ProgrammingLatency, ObservesChangedTriggersByServiceKindAfterTheFirstPublication) {
  const int64_t t0 = 1796148000000;
  RegistryState st;
  st.services = {service("web", ServiceKind::ClusterIp, true), service("db", ServiceKind::Headless, true),
                 service("ext", ServiceKind::Headless, false)};
  st.endpoint_sets = {slice("web-1", "web", t0 - 60000), slice("db-1", "db", t0 - 60000)};
  ProgrammingLatency p;
  p.published(st, kT0);  // what exists at start is learnt, not observed: a restart is no change
  EXPECT_EQ(p.count(ProgrammingLatency::ClusterIp), 0u);

  st.endpoint_sets = {slice("web-1", "web", t0 + 1000), slice("db-1", "db", t0 - 60000),
                      slice("ext-1", "ext", t0 + 1000), slice("orphan-1", "gone", t0 + 1000),
                      slice("manual", "web", 0)};
  p.published(st, kT0 + milliseconds(1003));  // web-1 changed 3 ms ago; ext-1 is new; db-1 is unchanged
  EXPECT_EQ(p.count(ProgrammingLatency::ClusterIp), 1u);
  EXPECT_EQ(p.count(ProgrammingLatency::HeadlessWithSelector), 0u);
  EXPECT_EQ(p.count(ProgrammingLatency::HeadlessWithoutSelector), 1u);

  p.published(st, kT0 + milliseconds(5000));  // nothing changed: nothing observed again
  EXPECT_EQ(p.count(ProgrammingLatency::ClusterIp), 1u);

  PromWriter w;
  p.collector()(w);
  const std::string& text = w.text();
  EXPECT_THAT(text, HasSubstr("# TYPE coredns_kubernetes_dns_programming_duration_seconds histogram"));
  // 3 ms lies in (0.002, 0.004]: the le="0.002" bucket is empty, le="0.004" holds it.
  EXPECT_THAT(text, HasSubstr("coredns_kubernetes_dns_programming_duration_seconds_bucket{service_kind="
                              "\"cluster_ip\",le=\"0.002\"} 0"));
  EXPECT_THAT(text, HasSubstr("coredns_kubernetes_dns_programming_duration_seconds_bucket{service_kind="
                              "\"cluster_ip\",le=\"0.004\"} 1"));
  EXPECT_THAT(text, HasSubstr("coredns_kubernetes_dns_programming_duration_seconds_count{service_kind="
                              "\"headless_without_selector\"} 1"));
}

}  // namespace
}  // namespace clusterdns::ops
