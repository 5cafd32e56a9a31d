// The kubelet's service environment variables: selection (kubelet_pods.go getServiceEnvVarMap) and naming
// (pkg/kubelet/envvars/envvars.go FromServices, makeLinkVariables), byte for byte.
#include "envinject/service_env.hpp"

#include <algorithm>
#include <cstdint>
#include <map>

namespace clusterdns::envinject {
namespace {

using discovery::Service;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// A DNS label as the API validates it: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes. Such a name maps to
// [A-Z0-9_]+ one-to-one, so no two valid names can meet in one variable name.
bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// Service names are DNS-1035 labels (a letter first), so the variable never starts with a digit.
bool is_service_name(const std::string& s) {
  return is_dns_label(s) && s.front() >= 'a' && s.front() <= 'z';
}

const std::string& namespace_or_default(const std::string& ns) {
  static const std::string kDefault = kMasterServiceNamespace;
  return ns.empty() ? kDefault : ns;
}

void note(std::vector<SkipNote>* skipped, const Service& s, std::string reason) {
  if (skipped) skipped->push_back({namespace_or_default(s.ns), s.name, std::move(reason)});
}

// Go's net.JoinHostPort: brackets a host that contains a colon.
std::string join_host_port(const std::string& host, int32_t port) {
  std::string p = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + p;
  return host + ":" + p;
}

// Go's IsServiceIPSet: "None" and "" mean no cluster IP.
bool has_cluster_ip(const Service& s) {
  return !s.cluster_ips.empty() && !s.cluster_ips.front().empty() && s.cluster_ips.front() != "None";
}

}  // namespace

std::string env_name_prefix(const std::string& service_name) {
  std::string out = service_name;
  for (char& c : out) {
    if (c == '-') c = '_';
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::vector<EnvVar> variables_for_service(const Service& service, std::vector<SkipNote>* skipped) {
  std::vector<EnvVar> out;
  if (!has_cluster_ip(service)) return out;  // headless / ExternalName: silently, as the kubelet does
  if (!is_service_name(service.name)) {
    note(skipped, service, "service name cannot form an environment variable name (not a DNS-1035 label)");
    return out;
  }
  const std::string& ip = service.cluster_ips.front();
  auto canonical = discovery::canonical_ip(ip);
  if (!canonical) {
    note(skipped, service, "invalid cluster IP \"" + ip + "\"");
    return out;
  }
  if (service.ports.empty()) {
    note(skipped, service, "no ports");
    return out;
  }
  for (const auto& sp : service.ports) {
    if (sp.port < 1 || sp.port > 65535) {
      note(skipped, service, "invalid port " + std::to_string(sp.port));
      return out;
    }
  }

  const std::string prefix = env_name_prefix(service.name);
  out.reserve(2 + service.ports.size() * 6);
  out.push_back({prefix + "_SERVICE_HOST", ip});
  const std::string port_var = prefix + "_SERVICE_PORT";
  out.push_back({port_var, std::to_string(service.ports.front().port)});
  // All named ports (only the first may be unnamed, checked in API validation).
  for (const auto& sp : service.ports) {
    if (sp.name.empty()) continue;
    if (!is_dns_label(sp.name)) {
      note(skipped, service,
           "port name \"" + sp.name + "\" cannot form an environment variable name; " + port_var +
               "_… left out");
      continue;
    }
    out.push_back({port_var + "_" + env_name_prefix(sp.name), std::to_string(sp.port)});
  }
  // Docker-link variables.
  for (size_t i = 0; i < service.ports.size(); ++i) {
    const auto& sp = service.ports[i];
    const std::string proto_lower = discovery::protocol_label(sp.protocol);
    const std::string proto_upper = discovery::protocol_name(sp.protocol);
    const std::string port = std::to_string(sp.port);
    const std::string url = proto_lower + "://" + join_host_port(ip, sp.port);
    if (i == 0) out.push_back({prefix + "_PORT", url});  // Docker special-cases the first port.
    const std::string port_prefix = prefix + "_PORT_" + port + "_" + proto_upper;
    out.push_back({port_prefix, url});
    out.push_back({port_prefix + "_PROTO", proto_lower});
    out.push_back({port_prefix + "_PORT", port});
    out.push_back({port_prefix + "_ADDR", ip});
  }
  return out;
}

std::vector<EnvVar> service_env(const std::string& pod_namespace, bool enable_service_links,
                                const discovery::ObjectTable<Service>& services,
                                std::vector<SkipNote>* skipped) {
  const std::string& ns = namespace_or_default(pod_namespace);
  // getServiceEnvVarMap: the master's "kubernetes" never replaces a same-named service of the pod's
  // namespace; a pod-namespace service always replaces it. Services without an IP never enter the map.
  std::map<std::string, const Service*> selected;  // by name: also the deterministic processing order
  const auto consider = [&](const Service& s) {
    if (!has_cluster_ip(s)) return;
    const std::string& sns = namespace_or_default(s.ns);
    if (sns == kMasterServiceNamespace && s.name == "kubernetes") {
      selected.try_emplace(s.name, &s);
    } else if (sns == ns && enable_service_links) {
      selected[s.name] = &s;
    }
  };
  // Only the pod's namespace and the master service are read: O(namespace), not O(cluster).
  for (const std::string_view master_ns : {std::string_view(kMasterServiceNamespace), std::string_view()}) {
    if (const Service* master = services.find({master_ns, "kubernetes"})) consider(*master);
  }
  services.for_each_in(ns, consider);
  if (ns == kMasterServiceNamespace) services.for_each_in("", consider);  // no namespace means "default"

  struct Tagged {
    EnvVar var;
    const Service* from;
  };
  std::vector<Tagged> all;
  all.reserve(selected.size() * 8);
  for (const auto& [name, s] : selected) {
    for (auto& v : variables_for_service(*s, skipped))
      all.push_back({std::move(v), s});
  }
  // Sort positions, not strings; ties keep generation order (service name order, then the kubelet's order).
  std::vector<uint32_t> order(all.size());
  for (uint32_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int c = all[a].var.name.compare(all[b].var.name);
    return c < 0 || (c == 0 && a < b);
  });

  std::vector<EnvVar> out;
  out.reserve(all.size());
  const Service* owner = nullptr;  // the service that defined out.back()
  for (uint32_t i : order) {
    Tagged& t = all[i];
    if (!out.empty() && out.back().name == t.var.name) {
      // Within one service the kubelet's later definition wins; across services the first service keeps it.
      if (t.from == owner) {
        out.back().value = std::move(t.var.value);
      } else {
        note(skipped, *t.from, "variable " + t.var.name + " already defined by service " + owner->name);
      }
      continue;
    }
    out.push_back(std::move(t.var));
    owner = t.from;
  }
  return out;
}

}  // namespace clusterdns::envinject
