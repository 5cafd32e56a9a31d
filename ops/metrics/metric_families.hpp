// Every metric family /metrics renders, declared once: name, type, help and label names. The collectors
// write through these (PromWriter::family/sample/histogram take a MetricFamily), and
// tests/unit/ops/metric_families_test.cpp checks the rendered page against this table and every coredns_*
// name against the ones CoreDNS exports, so that its dashboards keep working.
#pragma once

#include "ops/metrics/prometheus_text.hpp"

namespace clusterdns::ops::metric {

inline constexpr MetricFamily coredns_dns_requests_total{
    "coredns_dns_requests_total", MetricType::Counter,
    "Counter of DNS requests made per zone, protocol and family.", "server zone view proto family type"};
inline constexpr MetricFamily coredns_dns_do_requests_total{
    "coredns_dns_do_requests_total", MetricType::Counter, "Counter of DNS requests with DO bit set per zone.",
    "server zone view"};
inline constexpr MetricFamily coredns_dns_responses_total{"coredns_dns_responses_total", MetricType::Counter,
                                                          "Counter of response status codes.",
                                                          "server zone view rcode plugin"};
inline constexpr MetricFamily coredns_dns_request_duration_seconds{
    "coredns_dns_request_duration_seconds", MetricType::Histogram,
    "Histogram of the time (in seconds) each request took per zone.", "server zone view type"};
inline constexpr MetricFamily coredns_dns_request_size_bytes{
    "coredns_dns_request_size_bytes", MetricType::Histogram,
    "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.", "server zone view proto"};
inline constexpr MetricFamily coredns_dns_response_size_bytes{
    "coredns_dns_response_size_bytes", MetricType::Histogram, "Size of the returned response in bytes.",
    "server zone view proto"};
inline constexpr MetricFamily coredns_panics_total{"coredns_panics_total", MetricType::Counter,
                                                   "A metrics that counts the number of panics.", ""};
inline constexpr MetricFamily clusterdns_query_log_dropped_total{
    "clusterdns_query_log_dropped_total", MetricType::Counter,
    "Sampled query-log records dropped because the logger thread fell behind.", ""};
inline constexpr MetricFamily clusterdns_dns_queries_received_total{
    "clusterdns_dns_queries_received_total", MetricType::Counter, "DNS messages received, by transport.",
    "proto"};
inline constexpr MetricFamily clusterdns_dns_dropped_total{
    "clusterdns_dns_dropped_total", MetricType::Counter,
    "Queries dropped without an answer (unparsable, handler failure, truncated datagram).", ""};
inline constexpr MetricFamily clusterdns_dns_udp_send_errors_total{
    "clusterdns_dns_udp_send_errors_total", MetricType::Counter, "UDP answers the kernel refused to send.",
    ""};
inline constexpr MetricFamily clusterdns_dns_tcp_connections_total{
    "clusterdns_dns_tcp_connections_total", MetricType::Counter,
    "TCP connections, accepted or rejected at the limit.", "result"};
inline constexpr MetricFamily clusterdns_dns_tcp_connections_closed_total{
    "clusterdns_dns_tcp_connections_closed_total", MetricType::Counter,
    "TCP connections the server closed itself: evicted (least recently active, near the connection cap) or "
    "timed_out (idle, or a message that did not arrive in time).",
    "reason"};
inline constexpr MetricFamily clusterdns_http_connections_refused_total{
    "clusterdns_http_connections_refused_total", MetricType::Counter,
    "Connections to an operations port closed on accept: a connection cap reached, none idle to evict.",
    "server"};
inline constexpr MetricFamily clusterdns_http_connections_evicted_total{
    "clusterdns_http_connections_evicted_total", MetricType::Counter,
    "Idle connections to an operations port closed to let a new one in (per-client or per-port cap).",
    "server"};
inline constexpr MetricFamily clusterdns_http_requests_timed_out_total{
    "clusterdns_http_requests_timed_out_total", MetricType::Counter,
    "Requests to an operations port cut off by the request or write deadline.", "server"};
inline constexpr MetricFamily clusterdns_http_requests_refused_total{
    "clusterdns_http_requests_refused_total", MetricType::Counter,
    "Requests to an operations port refused by a limit: too_large (413, 431), bad (400), busy (503).",
    "server reason"};
inline constexpr MetricFamily clusterdns_snapshot_builds_total{
    "clusterdns_snapshot_builds_total", MetricType::Counter, "Answer snapshots built from the registry.", ""};
inline constexpr MetricFamily clusterdns_snapshot_build_seconds{
    "clusterdns_snapshot_build_seconds", MetricType::Gauge,
    "Time the last snapshot took from the registry change to its publication.", ""};
inline constexpr MetricFamily clusterdns_snapshot_bytes{"clusterdns_snapshot_bytes", MetricType::Gauge,
                                                        "Memory held by the published snapshot.", ""};
inline constexpr MetricFamily clusterdns_snapshot_names{"clusterdns_snapshot_names", MetricType::Gauge,
                                                        "Owner names in the published snapshot.", ""};
inline constexpr MetricFamily clusterdns_snapshot_names_compiled{
    "clusterdns_snapshot_names_compiled", MetricType::Gauge,
    "Names whose answers the last build compiled; the others were unchanged and copied from the snapshot "
    "before.",
    ""};
inline constexpr MetricFamily clusterdns_snapshot_generation{
    "clusterdns_snapshot_generation", MetricType::Gauge,
    "Generation of the published snapshot (moves on every publish).", ""};
inline constexpr MetricFamily clusterdns_source_synced{
    "clusterdns_source_synced", MetricType::Gauge,
    "1 once the registry source has published a complete state.", "source"};
inline constexpr MetricFamily clusterdns_source_generation{
    "clusterdns_source_generation", MetricType::Gauge, "States published by the registry source.", "source"};
inline constexpr MetricFamily clusterdns_source_last_event_age_seconds{
    "clusterdns_source_last_event_age_seconds", MetricType::Gauge,
    "Seconds since the registry source last announced a change.", "source"};
inline constexpr MetricFamily clusterdns_source_watches_total{
    "clusterdns_source_watches_total", MetricType::Counter,
    "Watch streams the registry source started: one more after every failure, timeout or compaction.",
    "source"};
inline constexpr MetricFamily clusterdns_source_relists_total{
    "clusterdns_source_relists_total", MetricType::Counter,
    "Complete re-reads of the registry after the first (410 Gone, compaction).", "source"};
inline constexpr MetricFamily clusterdns_source_rejected_total{
    "clusterdns_source_rejected_total", MetricType::Counter,
    "Inputs the registry source refused (invalid objects, files that are not YAML, bad events).", "source"};
inline constexpr MetricFamily clusterdns_source_last_applied_timestamp_seconds{
    "clusterdns_source_last_applied_timestamp_seconds", MetricType::Gauge,
    "Unix time the served state last took in a change from the registry source.", "source"};
inline constexpr MetricFamily clusterdns_source_stale{
    "clusterdns_source_stale", MetricType::Gauge,
    "1 while the newest input of the registry source is refused and an older state is served.", "source"};
inline constexpr MetricFamily clusterdns_registry_objects{
    "clusterdns_registry_objects", MetricType::Gauge,
    "Objects in the registry the server answers from, by kind.", "kind"};
inline constexpr MetricFamily coredns_reload_failed_total{"coredns_reload_failed_total", MetricType::Counter,
                                                          "Counter of the number of failed reload attempts.",
                                                          ""};
inline constexpr MetricFamily clusterdns_config_reloads_total{
    "clusterdns_config_reloads_total", MetricType::Counter,
    "Reload attempts (SIGHUP or a changed --config file).", ""};
inline constexpr MetricFamily clusterdns_config_last_reload_success_timestamp_seconds{
    "clusterdns_config_last_reload_success_timestamp_seconds", MetricType::Gauge,
    "Unix time of the last configuration applied (start-up or reload).", ""};
inline constexpr MetricFamily coredns_reload_version_info{
    "coredns_reload_version_info", MetricType::Gauge,
    "A metric with a constant '1' value and the config file's hash.", "hash value"};
inline constexpr MetricFamily clusterdns_lameduck{
    "clusterdns_lameduck", MetricType::Gauge,
    "1 while shutting down: /ready fails, queries are still answered.", ""};
inline constexpr MetricFamily coredns_build_info{"coredns_build_info", MetricType::Gauge,
                                                 "A metric with a constant '1' value labeled by version, "
                                                 "revision, and goversion from which CoreDNS was built.",
                                                 "version revision goversion"};
inline constexpr MetricFamily process_start_time_seconds{
    "process_start_time_seconds", MetricType::Gauge, "Start time of the process since unix epoch in seconds.",
    ""};
inline constexpr MetricFamily process_cpu_seconds_total{
    "process_cpu_seconds_total", MetricType::Counter, "Total user and system CPU time spent in seconds.", ""};
inline constexpr MetricFamily process_resident_memory_bytes{
    "process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.", ""};
inline constexpr MetricFamily process_virtual_memory_bytes{"process_virtual_memory_bytes", MetricType::Gauge,
                                                           "Virtual memory size in bytes.", ""};
inline constexpr MetricFamily process_open_fds{"process_open_fds", MetricType::Gauge,
                                               "Number of open file descriptors.", ""};
inline constexpr MetricFamily process_max_fds{"process_max_fds", MetricType::Gauge,
                                              "Maximum number of open file descriptors.", ""};
inline constexpr MetricFamily coredns_cache_entries{"coredns_cache_entries", MetricType::Gauge,
                                                    "The number of elements in the cache.",
                                                    "server zones view type"};
inline constexpr MetricFamily coredns_cache_requests_total{
    "coredns_cache_requests_total", MetricType::Counter, "The count of cache requests.", "server zones view"};
inline constexpr MetricFamily coredns_cache_hits_total{"coredns_cache_hits_total", MetricType::Counter,
                                                       "The count of cache hits.", "server zones view type"};
inline constexpr MetricFamily coredns_cache_misses_total{"coredns_cache_misses_total", MetricType::Counter,
                                                         "The count of cache misses.", "server zones view"};
inline constexpr MetricFamily coredns_cache_served_stale_total{
    "coredns_cache_served_stale_total", MetricType::Counter,
    "The number of requests served from stale cache entries.", "server zones view"};
inline constexpr MetricFamily coredns_cache_prefetch_total{
    "coredns_cache_prefetch_total", MetricType::Counter,
    "The number of times the cache has prefetched a cached item.", "server zones view"};
inline constexpr MetricFamily coredns_forward_max_concurrent_rejects_total{
    "coredns_forward_max_concurrent_rejects_total", MetricType::Counter,
    "Queries refused because the concurrent queries were at maximum.", ""};
inline constexpr MetricFamily clusterdns_forward_requests_total{
    "clusterdns_forward_requests_total", MetricType::Counter, "Queries sent upstream, by attempt.",
    "attempt"};
inline constexpr MetricFamily clusterdns_forward_upstream_failures_total{
    "clusterdns_forward_upstream_failures_total", MetricType::Counter,
    "Upstream attempts that timed out or failed.", ""};
inline constexpr MetricFamily clusterdns_forward_servfail_total{
    "clusterdns_forward_servfail_total", MetricType::Counter,
    "Forwarded queries answered SERVFAIL: no upstream, nothing stale.", ""};
inline constexpr MetricFamily clusterdns_forward_loops_total{
    "clusterdns_forward_loops_total", MetricType::Counter,
    "Our own queries that came back through an upstream (refused).", ""};
inline constexpr MetricFamily clusterdns_forward_inflight{"clusterdns_forward_inflight", MetricType::Gauge,
                                                          "Forwarded queries waiting for an upstream.", ""};
inline constexpr MetricFamily coredns_kubernetes_dns_programming_duration_seconds{
    "coredns_kubernetes_dns_programming_duration_seconds", MetricType::Histogram,
    "Histogram of the time (in seconds) it took to program a dns instance.", "service_kind"};

// The table, in the order of the page.
inline constexpr const MetricFamily* kAll[] = {&coredns_dns_requests_total,
                                               &coredns_dns_do_requests_total,
                                               &coredns_dns_responses_total,
                                               &coredns_dns_request_duration_seconds,
                                               &coredns_dns_request_size_bytes,
                                               &coredns_dns_response_size_bytes,
                                               &coredns_panics_total,
                                               &clusterdns_query_log_dropped_total,
                                               &clusterdns_dns_queries_received_total,
                                               &clusterdns_dns_dropped_total,
                                               &clusterdns_dns_udp_send_errors_total,
                                               &clusterdns_dns_tcp_connections_total,
                                               &clusterdns_dns_tcp_connections_closed_total,
                                               &clusterdns_http_connections_refused_total,
                                               &clusterdns_http_connections_evicted_total,
                                               &clusterdns_http_requests_timed_out_total,
                                               &clusterdns_http_requests_refused_total,
                                               &clusterdns_snapshot_builds_total,
                                               &clusterdns_snapshot_build_seconds,
                                               &clusterdns_snapshot_bytes,
                                               &clusterdns_snapshot_names,
                                               &clusterdns_snapshot_names_compiled,
                                               &clusterdns_snapshot_generation,
                                               &clusterdns_source_synced,
                                               &clusterdns_source_generation,
                                               &clusterdns_source_last_event_age_seconds,
                                               &clusterdns_source_watches_total,
                                               &clusterdns_source_relists_total,
                                               &clusterdns_source_rejected_total,
                                               &clusterdns_source_last_applied_timestamp_seconds,
                                               &clusterdns_source_stale,
                                               &clusterdns_registry_objects,
                                               &coredns_reload_failed_total,
                                               &clusterdns_config_reloads_total,
                                               &clusterdns_config_last_reload_success_timestamp_seconds,
                                               &coredns_reload_version_info,
                                               &clusterdns_lameduck,
                                               &coredns_build_info,
                                               &process_start_time_seconds,
                                               &process_cpu_seconds_total,
                                               &process_resident_memory_bytes,
                                               &process_virtual_memory_bytes,
                                               &process_open_fds,
                                               &process_max_fds,
                                               &coredns_cache_entries,
                                               &coredns_cache_requests_total,
                                               &coredns_cache_hits_total,
                                               &coredns_cache_misses_total,
                                               &coredns_cache_served_stale_total,
                                               &coredns_cache_prefetch_total,
                                               &coredns_forward_max_concurrent_rejects_total,
                                               &clusterdns_forward_requests_total,
                                               &clusterdns_forward_upstream_failures_total,
                                               &clusterdns_forward_servfail_total,
                                               &clusterdns_forward_loops_total,
                                               &clusterdns_forward_inflight,
                                               &coredns_kubernetes_dns_programming_duration_seconds};

}  // namespace clusterdns::ops::metric
