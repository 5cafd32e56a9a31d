// Keeps the forwarding routes current: the base configuration (flags, resolv.conf) plus a kube-dns
// ConfigMap directory (`stubDomains`, `upstreamNameservers`), re-read when its content changes. An invalid
// value keeps the previous configuration and logs why; queries never stop while it changes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dns/forward/routes.hpp"

namespace clusterdns::dns::forward {

class RouteConfig {
 public:
  // `forwarding_off`: --upstream none; the ConfigMap's upstreamNameservers are then ignored (stub domains
  // still apply).
  RouteConfig(RoutesHolder& holder, HealthRegistry& registry, std::vector<Upstream> upstreams,
              std::vector<StubDomain> stubs, bool forwarding_off);
  ~RouteConfig();

  // Publishes the routes (reading `kube_dns_dir` once, synchronously), then, with a directory, polls it
  // every `poll` on a thread of its own. Call once.
  void start(std::optional<std::string> kube_dns_dir,
             std::chrono::milliseconds poll = std::chrono::milliseconds(1000));
  void stop();
  // One poll: re-reads the directory and publishes when its content changed and is valid. Returns true
  // when it published. Any thread.
  bool reload();
  // Number of successful publications so far (1 after start()).
  uint64_t publications() const;

 private:
  void publish(const KubeDnsConfig& extra);

  RoutesHolder& holder_;
  HealthRegistry& registry_;
  const std::vector<Upstream> upstreams_;
  const std::vector<StubDomain> stubs_;
  const bool forwarding_off_;
  std::optional<std::string> dir_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<std::string> last_stub_, last_upstream_;  // file contents last seen
  bool seen_ = false;
  uint64_t publications_ = 0;
  std::thread thread_;
};

}  // namespace clusterdns::dns::forward
