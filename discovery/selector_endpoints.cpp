// Endpoints for services that select pods but come without an EndpointSlice (the endpoints controller's job).
#include "discovery/selector_endpoints.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

namespace clusterdns::discovery {

namespace {

constexpr const char* kDerivedMarker = "/selector/";

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

void add_service_endpoints(const Service& svc, const std::vector<const Pod*>& pods,
                           std::vector<EndpointSet>& out) {
  bool want_v4 = true;
  bool want_v6 = true;
  if (svc.kind == ServiceKind::ClusterIp && !svc.cluster_ips.empty()) {
    want_v4 =
        std::any_of(svc.cluster_ips.begin(), svc.cluster_ips.end(), [](auto& ip) { return !is_ipv6(ip); });
    want_v6 =
        std::any_of(svc.cluster_ips.begin(), svc.cluster_ips.end(), [](auto& ip) { return is_ipv6(ip); });
  }
  std::size_t first = out.size();
  for (const Pod* each : pods) {
    const Pod& pod = *each;
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
      std::string set_name = svc.name + kDerivedMarker + std::to_string(out.size() - first);
      out.push_back(EndpointSet{svc.ns, std::move(set_name), svc.name, {}, std::move(ports)});
      group = out.end() - 1;
    }
    group->endpoints.push_back(std::move(ep));
  }
}

bool is_derived(const EndpointSet& set) {
  return set.name.find(kDerivedMarker) != std::string::npos;
}

// Replaces the derived sets of namespace `ns` with ones computed from its services and pods now.
void recompute_namespace(RegistryState& state, const std::string& ns) {
  std::vector<std::string> stale;
  std::set<std::string> covered;  // services some real EndpointSet names
  state.endpoint_sets.for_each_in(ns, [&](const EndpointSet& set) {
    if (is_derived(set)) {
      stale.push_back(set.name);
    } else {
      covered.insert(set.service_name);
    }
  });
  for (const std::string& name : stale)
    state.endpoint_sets.erase({ns, name});
  std::vector<const Pod*> pods;
  state.pods.for_each_in(ns, [&](const Pod& pod) { pods.push_back(&pod); });
  std::vector<EndpointSet> added;
  state.services.for_each_in(ns, [&](const Service& svc) {
    if (svc.selector.empty() || svc.kind == ServiceKind::ExternalName || covered.count(svc.name)) return;
    add_service_endpoints(svc, pods, added);
  });
  for (EndpointSet& set : added)
    state.endpoint_sets.upsert(std::move(set));
}

}  // namespace

void compute_selector_endpoints(RegistryState& state) {
  std::set<std::string> namespaces;
  for (const Service& svc : state.services) {
    if (!svc.selector.empty()) namespaces.insert(svc.ns);
  }
  for (const EndpointSet& set : state.endpoint_sets) {
    if (is_derived(set)) namespaces.insert(set.ns);
  }
  for (const std::string& ns : namespaces)
    recompute_namespace(state, ns);
}

void update_selector_endpoints(const RegistryState& before, RegistryState& after) {
  std::set<std::string> namespaces;
  const auto note = [&](const auto* was, const auto* now) { namespaces.insert(was ? was->ns : now->ns); };
  ObjectTable<Service>::diff(before.services, after.services, note);
  ObjectTable<Pod>::diff(before.pods, after.pods, note);
  ObjectTable<EndpointSet>::diff(before.endpoint_sets, after.endpoint_sets,
                                 [&](const EndpointSet* was, const EndpointSet* now) {
                                   if ((was && !is_derived(*was)) || (now && !is_derived(*now)))
                                     note(was, now);
                                 });
  for (const std::string& ns : namespaces)
    recompute_namespace(after, ns);
}

}  // namespace clusterdns::discovery
