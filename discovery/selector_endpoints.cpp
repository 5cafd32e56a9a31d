// Endpoints for services that select pods but come without an EndpointSlice (the endpoints controller's job).
#include "discovery/selector_endpoints.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace clusterdns::discovery {

namespace {

bool selects(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

// The pod-side port a service port sends to (kubernetes podutil.FindPort), or nullopt.
std::optional<int32_t> resolve_target(const ServicePort& sp, const Pod& pod) {
  const std::string& target = sp.target_port;
  if (target.empty()) return sp.port;
  if (std::all_of(target.begin(), target.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (target.size() > 5) return std::nullopt;
    int32_t n = std::stoi(target);
    return n >= 1 && n <= 65535 ? std::optional<int32_t>(n) : std::nullopt;
  }
  for (const ContainerPort& cp : pod.container_ports) {
    if (cp.name == target && cp.protocol == sp.protocol) return cp.port;
  }
  return std::nullopt;
}

bool same_ports(const std::vector<EndpointPort>& a, const std::vector<EndpointPort>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const EndpointPort& x, const EndpointPort& y) {
    return x.name == y.name && x.port == y.port && x.protocol == y.protocol;
  });
}

void add_service_endpoints(const Service& svc, const ObjectTable<Pod>& pods, std::vector<EndpointSet>& out) {
  bool want_v4 = true;
  bool want_v6 = true;
  if (svc.kind == ServiceKind::ClusterIp && !svc.cluster_ips.empty()) {
    want_v4 =
        std::any_of(svc.cluster_ips.begin(), svc.cluster_ips.end(), [](auto& ip) { return !is_ipv6(ip); });
    want_v6 =
        std::any_of(svc.cluster_ips.begin(), svc.cluster_ips.end(), [](auto& ip) { return is_ipv6(ip); });
  }
  std::size_t first = out.size();
  for (const Pod& pod : pods) {
    if (pod.ns != svc.ns || pod.phase == "Succeeded" || pod.phase == "Failed") continue;
    if (!selects(svc.selector, pod.labels)) continue;
    Endpoint ep;
    const std::vector<std::string> only_ip = {pod.ip};
    const std::vector<std::string>& ips = pod.ips.empty() ? only_ip : pod.ips;
    for (const std::string& ip : ips) {
      if (!ip.empty() && (is_ipv6(ip) ? want_v6 : want_v4)) ep.addresses.push_back(ip);
    }
    if (ep.addresses.empty()) continue;
    ep.ready = svc.publish_not_ready || (pod.ready && !pod.terminating);
    if (!pod.hostname.empty() && pod.subdomain == svc.name) ep.hostname = pod.hostname;
    ep.target_pod = pod.name;

    std::vector<EndpointPort> ports;
    for (const ServicePort& sp : svc.ports) {
      if (std::optional<int32_t> port = resolve_target(sp, pod))
        ports.push_back({sp.name, *port, sp.protocol});
    }
    if (!svc.ports.empty() && ports.empty()) continue;

    auto group = std::find_if(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                              [&](const EndpointSet& set) { return same_ports(set.ports, ports); });
    if (group == out.end()) {
      // Named as no API object can be ('/' is not allowed): one set per port group, never a slice's key.
      std::string set_name = svc.name + "/selector/" + std::to_string(out.size() - first);
      out.push_back(EndpointSet{svc.ns, std::move(set_name), svc.name, {}, std::move(ports)});
      group = out.end() - 1;
    }
    group->endpoints.push_back(std::move(ep));
  }
}

}  // namespace

void compute_selector_endpoints(RegistryState& state) {
  std::set<std::pair<std::string, std::string>> covered;
  for (const EndpointSet& set : state.endpoint_sets)
    covered.emplace(set.ns, set.service_name);
  std::vector<EndpointSet> added;
  for (const Service& svc : state.services) {
    if (svc.selector.empty() || svc.kind == ServiceKind::ExternalName) continue;
    if (covered.count({svc.ns, svc.name})) continue;
    add_service_endpoints(svc, state.pods, added);
  }
  for (EndpointSet& set : added)
    state.endpoint_sets.upsert(std::move(set));
}

}  // namespace clusterdns::discovery
