// build/clusterdns: the composition root — registry source → snapshot rebuilder → responder → server.
#include <signal.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cmd/clusterdns/flags.hpp"
#include "discovery/source.hpp"
#include "dns/server/server.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;

namespace {

void setup_logging(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  for (const char* name : {"dns", "zones", "discovery", "main"}) {
    if (!spdlog::get(name)) spdlog::stderr_color_mt(name);
  }
  spdlog::set_default_logger(spdlog::get("main"));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = parse_flags(argc, argv);
  setup_logging(flags.log_level);
  auto log = spdlog::get("main");

  // Signals are taken by sigwait on this thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  zones::BuildConfig config;
  config.cluster = flags.cluster;
  config.keep_transfer_data = !flags.allow_transfer.empty();
  for (const auto& path : flags.zone_files) {
    std::string error;
    auto zf = zones::load_zone_file(path, error);
    if (!zf) {
      std::fprintf(stderr, "clusterdns: --zone-file %s\n", error.c_str());
      return 1;
    }
    config.static_zones.push_back(std::move(*zf));
  }

  std::string error;
  auto source = discovery::make_source(flags.source, error);
  if (!source) {
    std::fprintf(stderr, "clusterdns: --source: %s\n", error.c_str());
    return 1;
  }
  zones::SnapshotHolder holder;
  zones::Rebuilder rebuilder(holder, config, [&source] { return source->state(); });
  source->start([&rebuilder] { rebuilder.notify(); });
  rebuilder.start();

  zones::Responder responder(holder, zones::ResponderOptions{flags.allow_transfer});
  dns::ServerOptions server_options;
  server_options.listen = flags.listen;
  server_options.threads = flags.threads;
  dns::Server server(server_options, responder);
  try {
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

  int sig = 0;
  sigwait(&signals, &sig);
  log->info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.stop();
  source->stop();
  rebuilder.stop();
  return 0;
}
