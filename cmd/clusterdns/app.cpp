#include "cmd/clusterdns/app.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "base/log.hpp"
#include "build_revision.hpp"  // generated: CLUSTERDNS_REVISION
#include "dns/wire/name.hpp"
#include "ops/metrics/forward_metrics.hpp"
#include "ops/metrics/metrics_page.hpp"
#include "ops/runtime/empty_source.hpp"
#include "ops/runtime/lifecycle.hpp"
#include "ops/runtime/logging.hpp"
#include "ops/runtime/probe.hpp"
#include "ops/runtime/runtime_metrics.hpp"
#include "zones/builder.hpp"

namespace clusterdns {

namespace {

std::shared_ptr<spdlog::logger> start_logging(const Flags& flags) {
  ops::setup_logging(flags.log_level, flags.ops.log_format);
  return base::logger("main");
}

// What a reload may change in place (ops/runtime/reload.hpp), from parsed flags. Throws on a bad zone file.
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
  s.reloadable = reloadable_flags();
  return s;
}

std::unique_ptr<discovery::RegistrySource> make_source(const Flags& flags) {
  if (flags.source == "none") return std::make_unique<ops::EmptySource>();
  std::string error;
  auto source = discovery::make_source(flags.source, error, flags.source_options);
  if (!source) throw std::runtime_error("--source: " + error);
  return source;
}

// Names outside the zones: forwarded (dns/forward), or REFUSED with --upstream none (null).
std::unique_ptr<dns::forward::Forwarding> make_forwarding(const Flags& flags) {
  std::string error;
  auto forwarding = dns::forward::Forwarding::create(flags.forward, flags.threads, error);
  if (!forwarding && !error.empty()) throw std::runtime_error(error);
  return forwarding;
}

zones::ResponderOptions responder_options(const Flags& flags, dns::forward::Forwarding* forwarding) {
  zones::ResponderOptions o{flags.allow_transfer};
  if (forwarding) {
    o.fallback = &forwarding->handler();
    // ExternalName targets outside the zones resolved, reverse names we do not own forwarded.
    o.recursion = &forwarding->recursion();
  }
  o.rotate = flags.rotate;
  return o;
}

dns::ServerOptions server_options(const Flags& flags) {
  dns::ServerOptions o;
  o.listen = flags.listen;
  o.threads = flags.threads;
  return o;
}

// --port-file: the bound addresses, one per line ("127.0.0.1:40231", "[::1]:40232"), written whole (a
// temporary file renamed over it) so that a reader never sees part of it.
void write_port_file(const std::string& path, const std::vector<dns::ListenAddress>& bound) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& a : bound)
      out << dns::to_string(a) << "\n";
    if (!out.flush()) throw std::runtime_error("--port-file " + path + ": cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("--port-file " + path + ": " + ec.message());
}

}  // namespace

Application::Application(int argc, char** argv)
    : argc_(argc),
      argv_(argv),
      flags_(parse_flags(argc, argv)),
      log_(start_logging(flags_)),
      settings_(settings_of(flags_)),
      source_(make_source(flags_)),
      rebuilder_(
          holder_, settings_.build, [this] { return source_->state(); },
          [this](const discovery::RegistryState& state) { programming_.published(state); }),
      forwarding_(make_forwarding(flags_)),
      responder_(holder_, responder_options(flags_, forwarding_.get())),
      autopath_(make_autopath()),
      measured_(front_handler(), metrics_, forward_all() ? ops::Plugin::Forward : ops::Plugin::Kubernetes),
      server_(server_options(flags_), measured_),
      readiness_(sources_),
      http_(ops::HttpRoutes{&page_, &readiness_,
                            [this] {
                              return ops::probe_query(
                                  responder_, "kubernetes.default.svc." + rebuilder_.config().cluster.domain);
                            },
                            [this] { return sources_.state(); }}) {
  if (forwarding_) server_.add_worker_hooks(forwarding_->worker_hooks());
  sources_.add(*source_);
  stop_source_.set([this] { source_->stop(); });
  source_->start(sources_.listener(0, [this] { rebuilder_.notify(); }));
  rebuilder_.start();
  start_node_local();
  server_.start();
  for (const auto& a : server_.bound()) {
    log_->info("serving {} on {} (udp, tcp) from {}", flags_.cluster.domain, dns::to_string(a),
               source_->name());
  }
  if (!flags_.port_file.empty()) write_port_file(flags_.port_file, server_.bound());
  start_http();
}

// Node-local mode is a caching forwarder: every name, cluster names included (--stub-domain), goes to the
// forwarding path; without one (--upstream none, no stub domain) the responder answers.
bool Application::forward_all() const {
  return !flags_.ops.node_local.empty() && forwarding_;
}

// --autopath: a handler of its own around the responder, walking a pod's search list server-side.
std::optional<zones::Autopath> Application::make_autopath() {
  std::optional<zones::Autopath> out;
  if (!flags_.forward.autopath) return out;
  zones::AutopathOptions options{dns::wire::name_from_text(flags_.cluster.domain).value_or(""),
                                 dns::forward::resolv_conf_search(flags_.forward)};
  if (!options.zone.empty()) out.emplace(responder_, std::move(options));
  return out;
}

dns::QueryHandler& Application::front_handler() {
  if (forward_all()) return forwarding_->handler();
  if (autopath_) return *autopath_;
  return responder_;
}

void Application::start_node_local() {
  if (flags_.ops.node_local.empty()) return;
  const ops::NodeLocalAddress a = ops::ensure_node_local_address(flags_.ops.node_local);
  log_->info("node-local: {} on interface {}{}", flags_.ops.node_local, a.interface,
             a.created_interface ? " (created, " + a.kind + ")"
             : a.added_address   ? ""
                                 : " (already there)");
  if (!a.created_interface) return;
  remove_node_local_.set([log = log_, interface = a.interface] {
    std::string error;
    if (!ops::remove_interface(interface, error)) log->warn("node-local: removing {}: {}", interface, error);
  });
}

// Operations: /metrics, probes, /v1/env, the webhook (ops/).
void Application::start_http() {
  const std::string servers = ops::server_label(server_.bound());
  page_.add(ops::process_collector(CLUSTERDNS_VERSION, CLUSTERDNS_REVISION));
  page_.add(ops::query_collector(metrics_, servers));
  page_.add(ops::server_collector(server_));
  page_.add(ops::snapshot_collector(rebuilder_));
  page_.add(programming_.collector());
  page_.add(ops::source_collector(sources_));
  page_.add(ops::reload_collector(reload_stats_));
  page_.add(ops::lameduck_collector(readiness_));
  page_.add(ops::http_collector(http_));
  if (forwarding_) {
    page_.add(ops::forward_collector(
        [this] {
          const auto s = forwarding_->stats();
          return ops::ForwardCounters{s.queries,          s.cache_hits,        s.stale_answers,
                                      s.prefetches,       s.cache_entries,     s.forwarded,
                                      s.retries,          s.upstream_failures, s.servfail,
                                      s.refused_inflight, s.refused_loop,      s.inflight};
        },
        servers));
  }
  ops::HttpConfig config{flags_.ops.http, std::nullopt, flags_.ops.tls_cert, flags_.ops.tls_key};
  if (!flags_.ops.tls_cert.empty()) config.webhook = flags_.ops.webhook;
  const bool http_given = std::any_of(flags_.args.begin(), flags_.args.end(),
                                      [](const ops::FlagArg& a) { return a.name == "--http"; });
  ops::start_http(http_, config, http_given);
  if (config.http)
    log_->info("http on {} (/metrics /health /ready /v1/env)",
               dns::to_string({config.http->host, http_.http_port()}));
  if (config.webhook)
    log_->info("webhook on https://{}/mutate", dns::to_string({config.webhook->host, http_.webhook_port()}));
}

int Application::run() {
  ops::SettingsApplier applier(settings_, rebuilder_, metrics_);
  ops::Lifecycle lifecycle(
      flags_.ops.config, [&] { applier.apply(settings_of(parse_flags_or_throw(argc_, argv_))); },
      reload_stats_);

  const int sig = lifecycle.run();
  readiness_.enter_lameduck();  // /ready fails from now on
  if (sig == SIGTERM) {
    const auto lameduck = applier.lameduck();
    log_->info("received SIGTERM: lameduck for {} (/ready fails, queries are still answered)",
               ops::format_duration(lameduck));
    lifecycle.lameduck(lameduck);
    log_->info("lameduck over: closing the DNS sockets, finishing in-flight TCP queries");
  } else {
    log_->info("received SIGINT, shutting down");
  }
  server_.stop();
  if (forwarding_) {
    const auto fs = forwarding_->stats();
    log_->info(
        "forwarding: {} queries, {} cache hits, {} stale answers, {} forwarded, {} retries, {} upstream "
        "failures, {} SERVFAIL, {} refused over --max-inflight, {} looped back, {} refused outside "
        "--allow-recursion, {} CNAME targets resolved",
        fs.queries, fs.cache_hits, fs.stale_answers, fs.forwarded, fs.retries, fs.upstream_failures,
        fs.servfail, fs.refused_inflight, fs.refused_loop, fs.refused_client, fs.cname_chases);
  }
  return 0;
}

}  // namespace clusterdns
