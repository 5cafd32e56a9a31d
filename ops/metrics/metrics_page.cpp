// The /metrics collectors.
#include "ops/metrics/metrics_page.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>

#include "ops/metrics/metric_families.hpp"
#include "ops/metrics/query_log.hpp"

namespace clusterdns::ops {

namespace {

#ifdef __clang__
const char* const kCompiler = "clang " __clang_version__;
#else
const char* const kCompiler = "gcc " __VERSION__;
#endif
const char* const kProto[2] = {"udp", "tcp"};
const char* const kFamily[2] = {"1", "2"};

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<double> duration_bounds() {
  std::vector<double> b;
  for (size_t i = 0; i < kDurationBounds; ++i)
    b.push_back(duration_bound_seconds(i));
  return b;
}

std::vector<double> size_bounds() {
  return std::vector<double>(std::begin(kSizeBoundValues), std::end(kSizeBoundValues));
}

}  // namespace

std::string MetricsPage::render() const {
  PromWriter w;
  for (const auto& c : collectors_)
    c(w);
  return w.text();
}

std::string server_label(const std::vector<dns::ListenAddress>& bound) {
  if (bound.empty()) return "dns://:53";
  const auto wildcard = [](const std::string& h) { return h == "0.0.0.0" || h == "::"; };
  bool same_port = true, all_wildcard = true;
  for (const auto& a : bound) {
    same_port = same_port && a.port == bound.front().port;
    all_wildcard = all_wildcard && wildcard(a.host);
  }
  const auto& first = bound.front();
  if (all_wildcard || (same_port && bound.size() > 1)) return "dns://:" + std::to_string(first.port);
  const bool v6 = first.host.find(':') != std::string::npos;
  return "dns://" + std::string(v6 ? "[" : "") + first.host + (v6 ? "]" : "") + ":" +
         std::to_string(first.port);
}

MetricsPage::Collector query_collector(const QueryMetrics& metrics, std::string server) {
  return [&metrics, server = std::move(server)](PromWriter& w) {
    const QueryTotals t = metrics.totals();
    const auto base = [&]() { return Labels{{"server", server}, {"zone", "."}, {"view", ""}}; };

    w.family(metric::coredns_dns_requests_total);
    for (size_t p = 0; p < 2; ++p)
      for (size_t f = 0; f < 2; ++f)
        for (size_t ty = 0; ty < kTypeSlots; ++ty) {
          const uint64_t n = t[Slots::requests(p, f, ty)];
          if (n == 0) continue;
          Labels l = base();
          l.emplace_back("proto", kProto[p]);
          l.emplace_back("family", kFamily[f]);
          l.emplace_back("type", type_label(ty));
          w.sample(metric::coredns_dns_requests_total, l, n);
        }

    w.family(metric::coredns_dns_do_requests_total);
    w.sample(metric::coredns_dns_do_requests_total, base(), t[Slots::kDo]);

    w.family(metric::coredns_dns_responses_total);
    for (size_t pl = 0; pl < kPluginSlots; ++pl)
      for (size_t rc = 0; rc < kRcodeSlots; ++rc) {
        const uint64_t n = t[Slots::responses(pl, rc)];
        if (n == 0) continue;
        Labels l = base();
        l.emplace_back("rcode", rcode_label(static_cast<unsigned>(rc)));
        l.emplace_back("plugin", plugin_label(static_cast<Plugin>(pl)));
        w.sample(metric::coredns_dns_responses_total, l, n);
      }

    static const std::vector<double> dbounds = duration_bounds();
    w.family(metric::coredns_dns_request_duration_seconds);
    for (size_t ty = 0; ty < kTypeSlots; ++ty) {
      uint64_t counts[kDurationBounds + 1];
      uint64_t total = 0;
      for (size_t b = 0; b <= kDurationBounds; ++b)
        total += counts[b] = t[Slots::duration_bucket(ty, b)];
      if (total == 0) continue;
      Labels l = base();
      l.emplace_back("type", type_label(ty));
      w.histogram(metric::coredns_dns_request_duration_seconds, l, dbounds, counts,
                  static_cast<double>(t[Slots::duration_sum_ns(ty)]) / 1e9);
    }

    static const std::vector<double> sbounds = size_bounds();
    const MetricFamily* sizes[2] = {&metric::coredns_dns_request_size_bytes,
                                    &metric::coredns_dns_response_size_bytes};
    for (size_t which = 0; which < 2; ++which) {
      w.family(*sizes[which]);
      for (size_t p = 0; p < 2; ++p) {
        uint64_t counts[kSizeBounds + 1];
        uint64_t total = 0;
        for (size_t b = 0; b <= kSizeBounds; ++b)
          total += counts[b] = t[Slots::size_bucket(which, p, b)];
        if (total == 0) continue;
        Labels l = base();
        l.emplace_back("proto", kProto[p]);
        w.histogram(*sizes[which], l, sbounds, counts, static_cast<double>(t[Slots::size_sum(which, p)]));
      }
    }

    w.family(metric::coredns_panics_total);
    w.sample(metric::coredns_panics_total, {}, t[Slots::kPanics]);
    w.family(metric::clusterdns_query_log_dropped_total);
    w.sample(metric::clusterdns_query_log_dropped_total, {}, t[Slots::kLogDropped]);
  };
}

MetricsPage::Collector server_collector(const dns::Server& server) {
  return [&server](PromWriter& w) {
    const dns::ServerStats s = server.stats();
    w.family(metric::clusterdns_dns_queries_received_total);
    w.sample(metric::clusterdns_dns_queries_received_total, {{"proto", "udp"}}, s.udp_queries);
    w.sample(metric::clusterdns_dns_queries_received_total, {{"proto", "tcp"}}, s.tcp_queries);
    w.family(metric::clusterdns_dns_dropped_total);
    w.sample(metric::clusterdns_dns_dropped_total, {}, s.dropped);
    w.family(metric::clusterdns_dns_udp_send_errors_total);
    w.sample(metric::clusterdns_dns_udp_send_errors_total, {}, s.udp_send_errors);
    w.family(metric::clusterdns_dns_tcp_connections_total);
    w.sample(metric::clusterdns_dns_tcp_connections_total, {{"result", "accepted"}}, s.tcp_accepted);
    w.sample(metric::clusterdns_dns_tcp_connections_total, {{"result", "rejected"}}, s.tcp_rejected);
    w.family(metric::clusterdns_dns_tcp_connections_closed_total);
    w.sample(metric::clusterdns_dns_tcp_connections_closed_total, {{"reason", "evicted"}}, s.tcp_evicted);
    w.sample(metric::clusterdns_dns_tcp_connections_closed_total, {{"reason", "timed_out"}}, s.tcp_timed_out);
  };
}

MetricsPage::Collector process_collector(std::string version, std::string revision) {
  const double start = unix_now();
  return [start, version = std::move(version), revision = std::move(revision)](PromWriter& w) {
    w.family(metric::coredns_build_info);
    w.sample(metric::coredns_build_info,
             {{"version", version}, {"revision", revision}, {"goversion", kCompiler}}, uint64_t{1});
    w.family(metric::process_start_time_seconds);
    w.sample(metric::process_start_time_seconds, {}, start);
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    w.family(metric::process_cpu_seconds_total);
    w.sample(metric::process_cpu_seconds_total, {}, cpu);
    uint64_t pages_total = 0, pages_resident = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages_total >> pages_resident) {
      const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
      w.family(metric::process_resident_memory_bytes);
      w.sample(metric::process_resident_memory_bytes, {}, pages_resident * page);
      w.family(metric::process_virtual_memory_bytes);
      w.sample(metric::process_virtual_memory_bytes, {}, pages_total * page);
    }
    uint64_t fds = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (const dirent* e = readdir(d))
        fds += e->d_name[0] != '.';
      closedir(d);
      w.family(metric::process_open_fds);
      w.sample(metric::process_open_fds, {}, fds > 0 ? fds - 1 : 0);  // minus the one opendir holds
    }
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      w.family(metric::process_max_fds);
      w.sample(metric::process_max_fds, {}, static_cast<uint64_t>(rl.rlim_cur));
    }
  };
}

}  // namespace clusterdns::ops
