// The composition root of build/clusterdns: registry source → snapshot rebuilder → responder (and forwarder)
// → server, with operations (metrics, probes, webhook, reload, lameduck) around them. Every part is a member,
// declared in the order it is built; the constructor starts them, and the members' destructors stop them in
// reverse order, so a failure at any step unwinds exactly what had started.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "cmd/clusterdns/flags.hpp"
#include "discovery/source.hpp"
#include "dns/forward/forwarding.hpp"
#include "dns/server/server.hpp"
#include "ops/http/http_server.hpp"
#include "ops/metrics/programming_latency.hpp"
#include "ops/metrics/query_metrics.hpp"
#include "ops/runtime/node_local.hpp"
#include "ops/runtime/readiness.hpp"
#include "ops/runtime/reload.hpp"
#include "ops/runtime/runtime_metrics.hpp"
#include "ops/runtime/snapshot_pipeline.hpp"
#include "ops/runtime/sources.hpp"
#include "zones/autopath.hpp"
#include "zones/holder.hpp"
#include "zones/responder.hpp"

namespace clusterdns {

class Application {
 public:
  // Builds and starts everything. Throws std::runtime_error with one line (a bad zone file, source,
  // upstream, address) after stopping what had started.
  Application(int argc, char** argv);
  Application(const Application&) = delete;
  Application& operator=(const Application&) = delete;

  // Serves until SIGTERM (after the lameduck) or SIGINT, reloading on SIGHUP and --config changes; stops the
  // DNS sockets before returning. The rest stops as the object is destroyed. Returns the exit status.
  int run();

 private:
  // Runs `f` when destroyed: a step of the unwinding that belongs to no member's destructor.
  class OnDestroy {
   public:
    OnDestroy() = default;
    OnDestroy(const OnDestroy&) = delete;
    OnDestroy& operator=(const OnDestroy&) = delete;
    ~OnDestroy() {
      if (f_) f_();
    }
    void set(std::function<void()> f) { f_ = std::move(f); }

   private:
    std::function<void()> f_;
  };

  bool forward_all() const;
  dns::QueryHandler& front_handler();
  std::optional<zones::Autopath> make_autopath();
  void start_node_local();
  void start_http();

  const int argc_;
  char** const argv_;
  Flags flags_;
  std::shared_ptr<spdlog::logger> log_;  // after ops::setup_logging
  ops::Settings settings_;
  OnDestroy remove_node_local_;  // last: the interface goes once nothing listens on it
  std::unique_ptr<discovery::RegistrySource> source_;
  zones::SnapshotHolder holder_;
  ops::ProgrammingLatency programming_;  // endpoint change -> published answer
  ops::SnapshotPipeline rebuilder_;
  ops::Sources sources_;
  OnDestroy stop_source_;                                 // the source notifies rebuilder_: it stops first
  std::unique_ptr<dns::forward::Forwarding> forwarding_;  // null with --upstream none
  zones::Responder responder_;
  std::optional<zones::Autopath> autopath_;  // --autopath, around responder_
  ops::QueryMetrics metrics_;
  ops::MetricsHandler measured_;  // outermost handler: coredns_dns_*, deferred answers included
  dns::Server server_;
  ops::Readiness readiness_;
  ops::ReloadStats reload_stats_;
  ops::MetricsPage page_;
  ops::HttpServer http_;
};

}  // namespace clusterdns
