// The metric families: the page renders exactly the families of the table (ops/metrics/metric_families.hpp),
// each with its declared type, help and label names, and every coredns_* family is one CoreDNS exports.
#include "ops/metrics/metric_families.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "dns/server/server.hpp"
#include "dns/wire/header.hpp"
#include "ops/http/http_server.hpp"
#include "ops/metrics/forward_metrics.hpp"
#include "ops/metrics/metrics_page.hpp"
#include "ops/metrics/programming_latency.hpp"
#include "ops/runtime/readiness.hpp"
#include "ops/runtime/reload.hpp"
#include "ops/runtime/runtime_metrics.hpp"
#include "ops/runtime/snapshot_pipeline.hpp"
#include "ops/runtime/sources.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace clusterdns;
using namespace clusterdns::ops;

namespace {

// The metric names CoreDNS's plugins export (the READMEs of plugin/metrics, cache, forward, kubernetes,
// reload, health and autopath in github.com/coredns/coredns), which dashboards and alerts are written
// against. A coredns_* family of ours must be one of them, or a dashboard would look for it in vain.
const std::set<std::string> kCoreDnsNames = {
    "coredns_build_info",
    "coredns_panics_total",
    "coredns_plugin_enabled",
    "coredns_dns_requests_total",
    "coredns_dns_request_duration_seconds",
    "coredns_dns_request_size_bytes",
    "coredns_dns_do_requests_total",
    "coredns_dns_response_size_bytes",
    "coredns_dns_responses_total",
    "coredns_dns_https_responses_total",
    "coredns_cache_entries",
    "coredns_cache_requests_total",
    "coredns_cache_hits_total",
    "coredns_cache_misses_total",
    "coredns_cache_drops_total",
    "coredns_cache_served_stale_total",
    "coredns_cache_prefetch_total",
    "coredns_cache_evictions_total",
    "coredns_forward_requests_total",
    "coredns_forward_responses_total",
    "coredns_forward_request_duration_seconds",
    "coredns_forward_healthcheck_failures_total",
    "coredns_forward_healthcheck_broken_total",
    "coredns_forward_max_concurrent_rejects_total",
    "coredns_forward_conn_cache_hits_total",
    "coredns_forward_conn_cache_misses_total",
    "coredns_kubernetes_dns_programming_duration_seconds",
    "coredns_reload_failed_total",
    "coredns_reload_version_info",
    "coredns_health_request_duration_seconds",
    "coredns_health_request_failures_total",
    "coredns_autopath_success_total",
};

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;)
    out.push_back(w);
  return out;
}

// The label names of a sample line ("name{a="x",b="y"} 1"), `le` (histogram buckets) left out.
std::vector<std::string> label_names(const std::string& line) {
  std::vector<std::string> out;
  const size_t open = line.find('{');
  if (open == std::string::npos || line.find(' ') < open) return out;
  size_t pos = open + 1;
  while (pos < line.size() && line[pos] != '}') {
    const size_t eq = line.find('=', pos);
    if (eq == std::string::npos) break;
    const std::string name = line.substr(pos, eq - pos);
    if (name != "le") out.push_back(name);
    pos = eq + 2;  // past ="
    while (pos < line.size() && line[pos] != '"')
      pos += line[pos] == '\\' ? 2 : 1;
    pos += 1;  // closing quote
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  return out;
}

class Echo : public dns::QueryHandler {
 public:
  size_t answer(std::span<const uint8_t> q, std::span<uint8_t> out, const dns::QueryContext&) override {
    std::copy(q.begin(), q.end(), out.begin());
    dns::wire::Header(out).set(dns::wire::kFlagQr);
    return q.size();
  }
};

}  // namespace

TEST(MetricFamilies, CoreDnsNamesAreOnesCoreDnsExports) {
  std::set<std::string_view> seen;
  for (const MetricFamily* f : metric::kAll) {
    EXPECT_TRUE(seen.insert(f->name).second) << f->name << " declared twice";
    const std::string name(f->name);
    if (name.starts_with("coredns_")) {
      EXPECT_TRUE(kCoreDnsNames.count(name)) << name << " is no CoreDNS metric";
    }
    EXPECT_TRUE(name.starts_with("coredns_") || name.starts_with("clusterdns_") ||
                name.starts_with("process_"))
        << name;
    EXPECT_FALSE(f->help.empty()) << name;
  }
}

TEST(MetricFamilies, ThePageRendersTheTable) {
  // Every collector, with something counted, so that labelled samples appear.
  Echo echo;
  QueryMetrics queries;
  MetricsHandler measured(echo, queries);
  std::vector<uint8_t> out(65535);
  measured.answer(testutil::make_query({.name = "kubernetes.default.svc.cluster.local", .edns_size = 1232}),
                  out, dns::QueryContext{});
  dns::Server server(dns::ServerOptions{}, echo);
  zones::SnapshotHolder holder;
  SnapshotPipeline pipeline(holder, zones::BuildConfig{}, [] { return nullptr; });
  Sources sources;
  Readiness readiness(sources);
  ReloadStats reload;
  reload.set_config_hash("ab12");
  ProgrammingLatency latency;
  ForwardCounters forward;
  forward.queries = 1;

  MetricsPage page;
  page.add(query_collector(queries, "dns://:53"));
  page.add(server_collector(server));
  page.add(snapshot_collector(pipeline));
  page.add(source_collector(sources));
  page.add(reload_collector(reload));
  page.add(lameduck_collector(readiness));
  page.add(process_collector("0.1.0", "abc"));
  page.add(forward_collector([forward] { return forward; }, "dns://:53"));
  page.add(latency.collector());
  HttpServer http(HttpRoutes{});  // not started: its ports' counters are zero, the families still render
  page.add(http_collector(http));
  const std::string text = page.render();

  std::map<std::string, const MetricFamily*> table;
  for (const MetricFamily* f : metric::kAll)
    table[std::string(f->name)] = f;
  std::set<std::string> rendered;
  std::istringstream lines(text);
  std::string current;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ")) {
      const size_t space = line.find(' ', 7);
      current = line.substr(7, space - 7);
      ASSERT_TRUE(table.count(current))
          << current << " is rendered but not in ops/metrics/metric_families.hpp";
      EXPECT_TRUE(rendered.insert(current).second) << current << " rendered twice";
      EXPECT_EQ(line.substr(space + 1), escape_help(table[current]->help)) << current;
    } else if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line, "# TYPE " + current + " " + type_name(table[current]->type));
    } else if (!line.empty()) {
      // A sample of the current family, with the declared label names in the declared order.
      ASSERT_TRUE(line.starts_with(current)) << line;
      const auto declared = words(table[current]->labels);
      const auto used = label_names(line);
      ASSERT_LE(used.size(), declared.size()) << line;
      for (size_t i = 0; i < used.size(); ++i)
        EXPECT_EQ(used[i], declared[i]) << line;
    }
  }
  // The process_* families read /proc; everything else renders whatever was counted.
  for (const MetricFamily* f : metric::kAll) {
    const std::string name(f->name);
    if (name.starts_with("process_") && name != "process_start_time_seconds" &&
        name != "process_cpu_seconds_total")
      continue;
    EXPECT_TRUE(rendered.count(name)) << name << " is in the table but no collector renders it";
  }
}

TEST(MetricFamilies, NoFamilyIsNamedOutsideTheTable) {
  // A family written with a literal name would escape the checks above.
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CLUSTERDNS_SOURCE_DIR) + "/ops")) {
    if (entry.path().extension() != ".cpp") continue;
    std::ifstream in(entry.path());
    const std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* literal : {"family(\"", "sample(\"", "histogram(\""})
      EXPECT_EQ(source.find(literal), std::string::npos) << entry.path() << " uses " << literal;
  }
}
