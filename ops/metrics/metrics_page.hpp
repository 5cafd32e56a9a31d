// /metrics: CoreDNS's metric families (so its dashboards and alerts work) plus clusterdns_* for what
// CoreDNS lacks, each family written by a collector; other components add their own (cache, forward).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dns/server/server.hpp"
#include "ops/metrics/prometheus_text.hpp"
#include "ops/metrics/query_metrics.hpp"

namespace clusterdns::ops {

// The `server` label CoreDNS gives a listener: "dns://:53" for a wildcard address, "dns://127.0.0.1:5353"
// for a bound one; addresses sharing a port and all wildcards collapse into one.
std::string server_label(const std::vector<dns::ListenAddress>& bound);

class MetricsPage {
 public:
  using Collector = std::function<void(PromWriter&)>;
  // Collectors run in the order added, on the HTTP thread of each scrape. Add them all before serving.
  void add(Collector c) { collectors_.push_back(std::move(c)); }
  std::string render() const;

 private:
  std::vector<Collector> collectors_;
};

// coredns_dns_requests_total, coredns_dns_do_requests_total, coredns_dns_responses_total,
// coredns_dns_request_duration_seconds, coredns_dns_request_size_bytes, coredns_dns_response_size_bytes,
// coredns_panics_total, clusterdns_query_log_dropped_total. `server` is the label CoreDNS puts on them
// ("dns://:53"); zone is "." and view "" as with kubeadm's Corefile.
MetricsPage::Collector query_collector(const QueryMetrics& metrics, std::string server);
// clusterdns_dns_{udp,tcp}_queries_total, clusterdns_dns_dropped_total, clusterdns_dns_udp_send_errors_total,
// clusterdns_dns_tcp_connections_total{result}.
MetricsPage::Collector server_collector(const dns::Server& server);
// coredns_build_info{version,revision,goversion} and the process_* families Prometheus clients export
// (start time, CPU, resident memory, open fds, threads).
MetricsPage::Collector process_collector(std::string version, std::string revision);

}  // namespace clusterdns::ops
