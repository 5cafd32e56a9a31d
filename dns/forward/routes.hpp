// Where a name is forwarded: stub domains (longest match) or the default upstreams, plus every upstream's
// health, shared by all worker threads. Reloadable: a holder publishes new Routes with a generation.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/guarded.hpp"
#include "base/published.hpp"
#include "dns/forward/upstream.hpp"

namespace clusterdns::dns::forward {

// One upstream's state, shared by every worker and every generation of Routes: relaxed atomics.
struct UpstreamHealth {
  UpstreamHealth(uint32_t id_, Upstream upstream_) : id(id_), upstream(std::move(upstream_)) {}
  bool usable() const {
    return !down.load(std::memory_order_relaxed) && !looping.load(std::memory_order_relaxed);
  }

  const uint32_t id;  // stable for the process; names the upstream in loop probes
  const Upstream upstream;
  std::atomic<uint32_t> failures{0};  // consecutive timeouts or errors
  std::atomic<bool> down{false};      // skipped until a health check answers
  std::atomic<bool> looping{false};   // our own query came back through it: skipped, re-checked slowly
  std::atomic<bool> probed{false};    // the first loop probe went out (with the first query to it)
  std::atomic<int64_t> last_probe_ms{0};
  std::atomic<uint64_t> loop_seen_probe{0};  // sequence number of the last probe that came back to us
  std::atomic<uint64_t> sent{0}, failed{0};
};

// Every upstream ever configured, by address; entries are never removed (health survives reloads).
class HealthRegistry {
 public:
  std::shared_ptr<UpstreamHealth> get(const Upstream& u);
  std::shared_ptr<UpstreamHealth> by_id(uint32_t id) const;  // null when unknown
  std::vector<std::shared_ptr<UpstreamHealth>> all() const;

 private:
  base::Guarded<std::vector<std::shared_ptr<UpstreamHealth>>> by_id_;
};

struct Group {
  std::string domain;  // lower-cased wire form; "\0" (the root) for the default group
  std::vector<std::shared_ptr<UpstreamHealth>> servers;  // tried in order, skipping unusable ones
};

struct Routes {
  std::vector<Group> stubs;  // longest domain first
  Group fallback;            // the default upstreams; empty = forwarding off (REFUSED)
  // The group for `qname` (lower-cased wire form). Hot path: no allocation.
  const Group& match(std::string_view qname) const;
  std::vector<std::shared_ptr<UpstreamHealth>> all() const;  // every server of every group, once
};

// "acme.local=10.1.2.3[:53][,10.1.2.4]" (--stub-domain) and the kube-dns ConfigMap's stubDomains.
struct StubDomain {
  std::string domain;  // text, lower-cased, no trailing dot
  std::vector<Upstream> servers;
};
std::optional<StubDomain> parse_stub_domain(std::string_view text, std::string& error);
std::optional<StubDomain> make_stub_domain(std::string_view domain, const std::vector<std::string>& servers,
                                           std::string& error);

// What the kube-dns ConfigMap directory says (kube-dns's `stubDomains` and `upstreamNameservers` keys,
// kubernetes.io/docs/tasks/administer-cluster/dns-custom-nameservers).
struct KubeDnsConfig {
  std::optional<std::vector<StubDomain>> stubs;    // key absent: nullopt
  std::optional<std::vector<Upstream>> upstreams;  // key absent: nullopt; at most 3
};
// Parses the two keys' values (nullopt = file absent). On failure returns nullopt and says why.
std::optional<KubeDnsConfig> parse_kube_dns_config(const std::optional<std::string>& stub_domains,
                                                   const std::optional<std::string>& upstream_nameservers,
                                                   std::string& error);

std::shared_ptr<const Routes> build_routes(const std::vector<Upstream>& upstreams,
                                           const std::vector<StubDomain>& stubs, HealthRegistry& registry);

// Publishes Routes to the workers: one atomic read per forwarded query, a lock only on change.
using RoutesHolder = base::Published<Routes>;

}  // namespace clusterdns::dns::forward
