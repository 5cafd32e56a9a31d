// The forwarding flags (--upstream, --resolv-conf, --stub-domain, --kube-dns-config, --cache-*, ...) and
// the assembly of the forwarding path from them, for the composition root.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/flags.hpp"
#include "dns/forward/acl.hpp"
#include "dns/forward/config_dir.hpp"
#include "dns/forward/forwarder.hpp"

namespace clusterdns::dns::forward {

struct ForwardFlags {
  std::vector<Upstream> upstreams;  // --upstream (repeatable); empty: resolv.conf's nameservers
  bool upstream_none = false;       // --upstream none
  bool upstream_tcp = false;
  std::string resolv_conf = "/etc/resolv.conf";
  bool resolv_conf_given = false;
  std::vector<StubDomain> stub_domains;
  std::string kube_dns_config;       // "" = none
  unsigned upstream_timeout_ms = 0;  // 0: resolv.conf's timeout:N, else 2000
  size_t max_inflight = 10000;
  size_t cache_size = 10000;
  uint32_t cache_max_ttl = 3600;
  uint32_t cache_max_neg_ttl = 300;
  uint32_t serve_stale = 86400;  // seconds past expiry; 0 = off
  bool autopath = false;
  // --allow-recursion (repeatable; the first replaces the defaults): clients whose names are forwarded.
  std::vector<base::AddressBlock> allow_recursion = default_recursion_clients();
  bool allow_recursion_given = false;
  bool recursion_open = false;  // --allow-recursion any
};

// The forwarding flags, declared once (name, value, help, range; base/flags.hpp).
base::FlagTable forward_flags();
// Applies one of forward_flags(); false with `error` (the reason, without the flag's name) when the value is
// bad.
bool set_forward_flag(ForwardFlags& f, const std::string& name, const std::string& value, std::string& error);

// The forwarding path of one server: routes, health, the ConfigMap watcher and the Forwarder.
class Forwarding {
 public:
  // Reads the resolv.conf, says clearly what it skips (loopback resolvers: a loop in a pod), starts the
  // --kube-dns-config watcher. Returns null when forwarding is off (--upstream none without stub domains
  // or ConfigMap, or no usable upstream at all): names outside the zones are then REFUSED. Null with
  // `error` set: a fatal configuration error.
  static std::unique_ptr<Forwarding> create(const ForwardFlags& flags, unsigned threads, std::string& error);
  ~Forwarding();

  QueryHandler& handler() { return *forwarder_; }
  Recursion& recursion() { return *forwarder_; }
  WorkerHooks& worker_hooks() { return *forwarder_; }  // Server::add_worker_hooks
  ForwarderStats stats() const { return forwarder_->stats(); }
  void stop();  // the ConfigMap watcher; the workers' state goes with Server::stop()

 private:
  Forwarding() = default;
  RoutesHolder routes_;
  HealthRegistry health_;
  std::unique_ptr<RouteConfig> config_;
  std::unique_ptr<Forwarder> forwarder_;
};

// The search domains of --resolv-conf (wire form), for --autopath: a pod's search list continues with
// its node's after <ns>.svc.<zone> svc.<zone> <zone>. Empty when the file cannot be read.
std::vector<std::string> resolv_conf_search(const ForwardFlags& flags);

}  // namespace clusterdns::dns::forward
