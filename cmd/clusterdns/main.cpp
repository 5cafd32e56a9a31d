// build/clusterdns: the composition root — registry source → snapshot rebuilder → responder → server.
#include <malloc.h>
#include <signal.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "build_revision.hpp"  // generated: CLUSTERDNS_REVISION
#include "cmd/clusterdns/flags.hpp"
#include "discovery/source.hpp"
#include "dns/forward/options.hpp"
#include "dns/server/server.hpp"
#include "dns/wire/name.hpp"
#include "ops/empty_source.hpp"
#include "ops/forward_metrics.hpp"
#include "ops/http_server.hpp"
#include "ops/lifecycle.hpp"
#include "ops/logging.hpp"
#include "ops/node_local.hpp"
#include "ops/probe.hpp"
#include "ops/programming_latency.hpp"
#include "ops/reload.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;

namespace {

// What a reload may change in place (ops/reload.hpp), from parsed flags. Throws on a bad zone file.
ops::Settings settings_of(const Flags& flags) {
  ops::Settings s;
  s.build.cluster = flags.cluster;
  s.build.keep_transfer_data = !flags.allow_transfer.empty();
  for (const auto& path : flags.zone_files) {
    std::string error;
    auto zf = zones::load_zone_file(path, error);
    if (!zf) throw std::runtime_error("--zone-file " + error);
    s.build.static_zones.push_back(std::move(*zf));
  }
  s.log_level = flags.log_level;
  s.log_format = flags.ops.log_format;
  s.query_log_rate = flags.ops.query_log_rate;
  s.lameduck = flags.ops.lameduck;
  s.args = flags.args;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse_flags(argc, argv);
  // A peer that hangs up mid-write (an HTTP scrape, a registry connection's TLS close_notify) must be an
  // error on that connection, not the end of the process.
  signal(SIGPIPE, SIG_IGN);
  // Every registry change compiles a new snapshot of the same size as the last: keep the freed one's memory
  // for it instead of returning it to the kernel (trim, munmap) and faulting it back in, which cost a quarter
  // of a 5,000-service rebuild.
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  ops::setup_logging(flags.log_level, flags.ops.log_format);
  auto log = spdlog::get("main");

  // SIGINT, SIGTERM and SIGHUP are read from a signalfd on this thread (ops::Lifecycle); every thread started
  // later inherits the mask.
  const sigset_t signals = ops::Lifecycle::handled_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ops::Settings settings;
  try {
    settings = settings_of(flags);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clusterdns: %s\n", e.what());
    return 1;
  }

  std::string error;
  std::unique_ptr<discovery::RegistrySource> source;
  if (flags.source == "none") {
    source = std::make_unique<ops::EmptySource>();
  } else {
    source = discovery::make_source(flags.source, error, flags.source_options);
  }
  if (!source) {
    std::fprintf(stderr, "clusterdns: --source: %s\n", error.c_str());
    return 1;
  }
  zones::SnapshotHolder holder;
  ops::ProgrammingLatency
      programming;  // endpoint change -> published answer (coredns_kubernetes_dns_programming_*)
  ops::SnapshotPipeline rebuilder(
      holder, settings.build, [&source] { return source->state(); },
      [&programming](const discovery::RegistryState& state) { programming.published(state); });
  ops::Sources sources;
  sources.add(*source);
  source->start(sources.listener(0, [&rebuilder] { rebuilder.notify(); }));
  rebuilder.start();

  // Names outside the zones: forwarded (dns/forward), or REFUSED with --upstream none.
  std::string forward_error;
  auto forwarding = dns::forward::Forwarding::create(flags.forward, flags.threads, forward_error);
  if (!forwarding && !forward_error.empty()) {
    std::fprintf(stderr, "clusterdns: %s\n", forward_error.c_str());
    source->stop();
    rebuilder.stop();
    return 1;
  }
  zones::ResponderOptions responder_options{flags.allow_transfer};
  if (forwarding) {
    responder_options.fallback = &forwarding->handler();
    // ExternalName targets outside the zones resolved, reverse names we do not own forwarded.
    responder_options.recursion = &forwarding->recursion();
  }
  responder_options.rotate = flags.rotate;
  if (flags.forward.autopath) {
    responder_options.autopath_zone = dns::wire::name_from_text(flags.cluster.domain).value_or("");
    responder_options.autopath_search = dns::forward::resolv_conf_search(flags.forward);
  }
  zones::Responder responder(holder, responder_options);
  dns::ServerOptions server_options;
  server_options.listen = flags.listen;
  server_options.threads = flags.threads;
  // Outermost handler: counts every query and answer (coredns_dns_*), deferred ones included.
  ops::QueryMetrics metrics;
  // Node-local mode is a caching forwarder: every name, cluster names included (--stub-domain), goes to
  // the forwarding path; without one (--upstream none, no stub domain) the responder answers.
  const bool forward_all = !flags.ops.node_local.empty() && forwarding;
  ops::MetricsHandler measured(forward_all ? forwarding->handler() : responder, metrics,
                               forward_all ? ops::Plugin::Forward : ops::Plugin::Kubernetes);
  dns::Server server(server_options, measured);
  std::optional<ops::NodeLocalAddress> node_local;
  try {
    if (!flags.ops.node_local.empty()) {
      node_local = ops::ensure_node_local_address(flags.ops.node_local);
      log->info("node-local: {} on interface {}{}", flags.ops.node_local, node_local->interface,
                node_local->created_interface ? " (created, " + node_local->kind + ")"
                : node_local->added_address   ? ""
                                              : " (already there)");
    }
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clusterdns: %s\n", e.what());
    source->stop();
    rebuilder.stop();
    return 1;
  }
  for (const auto& a : server.bound()) {
    log->info("serving {} on {}{}{}:{} (udp, tcp) from {}", flags.cluster.domain,
              a.host.find(':') != std::string::npos ? "[" : "", a.host,
              a.host.find(':') != std::string::npos ? "]" : "", a.port, source->name());
  }

  // Operations: /metrics, probes, /v1/env, the webhook; reloads and the lameduck (ops/).
  ops::Readiness readiness(sources);
  ops::ReloadStats reload_stats;
  ops::MetricsPage page;
  page.add(ops::process_collector(CLUSTERDNS_VERSION, CLUSTERDNS_REVISION));
  page.add(ops::query_collector(metrics, ops::server_label(server.bound())));
  page.add(ops::server_collector(server));
  page.add(ops::snapshot_collector(rebuilder));
  page.add(programming.collector());
  page.add(ops::source_collector(sources));
  page.add(ops::reload_collector(reload_stats));
  page.add(ops::lameduck_collector(readiness));
  if (forwarding) {
    page.add(ops::forward_collector(
        [&forwarding] {
          const auto s = forwarding->stats();
          return ops::ForwardCounters{s.queries,          s.cache_hits,        s.stale_answers,
                                      s.prefetches,       s.cache_entries,     s.forwarded,
                                      s.retries,          s.upstream_failures, s.servfail,
                                      s.refused_inflight, s.refused_loop,      s.inflight};
        },
        ops::server_label(server.bound())));
  }
  ops::HttpServer http(ops::HttpRoutes{
      &page, &readiness,
      [&] {
        return ops::probe_query(responder, "kubernetes.default.svc." + rebuilder.config().cluster.domain);
      },
      [&sources] { return sources.state(); }});
  page.add(ops::http_collector(http));
  ops::HttpConfig http_config{flags.ops.http, std::nullopt, flags.ops.tls_cert, flags.ops.tls_key};
  if (!flags.ops.tls_cert.empty()) http_config.webhook = flags.ops.webhook;
  try {
    const bool http_given = std::any_of(flags.args.begin(), flags.args.end(),
                                        [](const ops::FlagArg& a) { return a.name == "--http"; });
    ops::start_http(http, http_config, http_given);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clusterdns: %s\n", e.what());
    server.stop();
    source->stop();
    rebuilder.stop();
    return 1;
  }
  if (http_config.http)
    log->info("http on {} (/metrics /health /ready /v1/env)",
              dns::to_string({http_config.http->host, http.http_port()}));
  if (http_config.webhook)
    log->info("webhook on https://{}/mutate",
              dns::to_string({http_config.webhook->host, http.webhook_port()}));
  ops::SettingsApplier applier(settings, rebuilder, metrics);
  ops::Lifecycle lifecycle(
      flags.ops.config, [&] { applier.apply(settings_of(parse_flags_or_throw(argc, argv))); }, reload_stats);

  const int sig = lifecycle.run();
  readiness.enter_lameduck();  // /ready fails from now on
  if (sig == SIGTERM) {
    const auto lameduck = applier.lameduck();
    log->info("received SIGTERM: lameduck for {} (/ready fails, queries are still answered)",
              ops::format_duration(lameduck));
    lifecycle.lameduck(lameduck);
    log->info("lameduck over: closing the DNS sockets, finishing in-flight TCP queries");
  } else {
    log->info("received SIGINT, shutting down");
  }
  server.stop();
  if (forwarding) {
    const auto fs = forwarding->stats();
    log->info(
        "forwarding: {} queries, {} cache hits, {} stale answers, {} forwarded, {} retries, {} upstream "
        "failures, {} SERVFAIL, {} refused over --max-inflight, {} looped back, {} refused outside "
        "--allow-recursion, {} CNAME targets resolved",
        fs.queries, fs.cache_hits, fs.stale_answers, fs.forwarded, fs.retries, fs.upstream_failures,
        fs.servfail, fs.refused_inflight, fs.refused_loop, fs.refused_client, fs.cname_chases);
    forwarding->stop();
  }
  http.stop();
  source->stop();
  rebuilder.stop();
  metrics.stop_query_log();
  if (node_local && node_local->created_interface) {
    std::string error;
    if (!ops::remove_interface(node_local->interface, error))
      log->warn("node-local: removing {}: {}", node_local->interface, error);
  }
  log->info("stopped");
  return 0;
}
