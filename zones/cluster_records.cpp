// Record synthesis; section numbers refer to the Kubernetes DNS specification 1.1.0 and SPEC.md.
#include "zones/cluster_records.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using discovery::Endpoint;
using discovery::EndpointSet;
using discovery::Service;
using discovery::ServiceKind;

namespace {

std::string label(std::string_view text) {
  std::string w;
  w.push_back(static_cast<char>(text.size()));
  w += wire::lowercase(text);
  return w;
}

// One SRV target: (priority/weight computed later) port, target name.
struct SrvTarget {
  uint16_t port;
  std::string target;
  bool operator<(const SrvTarget& o) const { return std::tie(port, target) < std::tie(o.port, o.target); }
};

class Builder {
 public:
  Builder(ZoneDraft& draft, const ClusterOptions& opts) : draft_(draft), opts_(opts) {
    zone_ = wire::name_from_text(opts.domain).value_or(std::string(1, '\0'));
    svc_ = label("svc") + zone_;
    pod_ = label("pod") + zone_;
  }

  void run(const discovery::RegistryState& state) {
    draft_.add_empty(svc_);
    draft_.add_empty(pod_);  // exists in every pod mode (SPEC.md §4)
    // §2.2 schema version.
    draft_.add(label("dns-version") + zone_, wire::rrtype::TXT, kDnsVersionTtl, rdata_txt("1.1.0"));
    for (const auto& ns : state.namespaces)
      add_namespace(ns);

    std::map<std::pair<std::string, std::string>, std::vector<const EndpointSet*>> sets;
    for (const auto& set : state.endpoint_sets)
      sets[{set.ns, set.service_name}].push_back(&set);
    for (const auto& svc : state.services) {
      if (!known_ns_.count(svc.ns) || !is_dns_label(svc.name)) continue;
      auto it = sets.find({svc.ns, svc.name});
      static const std::vector<const EndpointSet*> kNone;
      add_service(svc, it == sets.end() ? kNone : it->second);
    }
    if (opts_.pods == PodMode::Verified) add_verified_pods(state);
    add_nameserver(state);
  }

 private:
  void add_namespace(const std::string& ns) {
    if (!is_dns_label(ns)) return;
    known_ns_.insert(ns);
    draft_.add_empty(label(ns) + svc_);  // an existing namespace is NODATA, never NXDOMAIN (§4)
    if (opts_.pods == PodMode::Disabled) return;
    const std::string pod_ns = label(ns) + pod_;
    draft_.add_empty(pod_ns);
    if (opts_.pods == PodMode::Insecure) draft_.find(pod_ns)->insecure_pod_parent = true;
  }

  void add_address(const std::string& owner, const std::string& ip) {
    uint16_t type = 0;
    Rdata rd;
    if (rdata_ip(ip, type, rd)) draft_.add(owner, type, opts_.ttl, std::move(rd));
  }

  void add_ptr(const std::string& ip, const std::string& target) {
    const std::string rev = reverse_name(ip);
    if (!rev.empty()) draft_.add(rev, wire::rrtype::PTR, opts_.ttl, rdata_name(target));
  }

  // §2.3.2 / §2.4.2: one SRV per target under _port._proto, all of them under the service name too
  // (CoreDNS extension); weight = 100 / number of targets (SPEC.md §3).
  void add_srv(const std::string& service_name, const std::map<std::string, std::set<SrvTarget>>& by_port) {
    std::set<SrvTarget> all;
    for (const auto& [key, targets] : by_port) {
      const auto weight = static_cast<uint16_t>(100 / targets.size());
      for (const auto& t : targets) {
        draft_.add(key + service_name, wire::rrtype::SRV, opts_.ttl, rdata_srv(0, weight, t.port, t.target));
        all.insert(t);
      }
    }
    if (all.empty()) return;
    // Under the bare name, 53/udp and 53/tcp to one target are one record: weigh what is left.
    const auto weight = static_cast<uint16_t>(100 / all.size());
    for (const auto& t : all) {
      draft_.add(service_name, wire::rrtype::SRV, opts_.ttl, rdata_srv(0, weight, t.port, t.target));
    }
  }

  static std::string srv_key(const std::string& port_name, discovery::Protocol proto) {
    return label("_" + port_name) + label(std::string("_") + discovery::protocol_label(proto));
  }

  // The endpoint's own label: its hostname, else the dashed IP (SPEC.md §1 "hostname").
  static std::string endpoint_label(const Endpoint& ep, const std::string& ip) {
    return (!ep.hostname.empty() && is_dns_label(wire::lowercase(ep.hostname))) ? ep.hostname : dashed_ip(ip);
  }

  void add_service(const Service& svc, const std::vector<const EndpointSet*>& sets) {
    const std::string name = label(svc.name) + label(svc.ns) + svc_;
    if (svc.kind == ServiceKind::ExternalName) {
      // §2.5: a CNAME to the absolute external name; an IP literal is not a name (SPEC.md §3).
      if (discovery::canonical_ip(svc.external_name)) return;
      auto target = wire::name_from_text(svc.external_name);
      if (target) draft_.add(name, wire::rrtype::CNAME, opts_.ttl, rdata_name(*target));
      return;
    }
    const bool headless = svc.kind == ServiceKind::Headless;
    // Ready endpoints, merged across slices; not-ready ones are invisible (§2.4.1).
    std::map<std::string, std::set<SrvTarget>> srv;
    bool any_ready = false;
    for (const EndpointSet* set : sets) {
      for (const Endpoint& ep : set->endpoints) {
        if (!ep.ready && !svc.publish_not_ready) continue;
        for (const auto& ip : ep.addresses) {
          const std::string host = label(endpoint_label(ep, ip)) + name;
          any_ready = true;
          add_address(host, ip);
          add_ptr(ip, host);
          if (headless) {
            add_address(name, ip);
            for (const auto& port : set->ports) {
              if (port.name.empty() || port.port <= 0 || port.port > 65535) continue;
              srv[srv_key(port.name, port.protocol)].insert(
                  SrvTarget{static_cast<uint16_t>(port.port), host});
            }
          }
        }
      }
    }
    if (headless) {
      // Headless with no ready endpoint does not exist (spec §2.4.1): no records at all.
      if (any_ready) add_srv(name, srv);
      return;
    }
    for (const auto& ip : svc.cluster_ips) {
      add_address(name, ip);
      add_ptr(ip, name);
    }
    for (const auto& port : svc.ports) {
      if (port.name.empty()) continue;  // unnamed ports have no SRV (§2.3.2)
      srv[srv_key(port.name, port.protocol)].insert(SrvTarget{static_cast<uint16_t>(port.port), name});
    }
    add_srv(name, srv);
    draft_.add_empty(name);  // a ClusterIP service exists even without endpoints or IPs
  }

  void add_verified_pods(const discovery::RegistryState& state) {
    for (const auto& pod : state.pods) {
      if (pod.ip.empty() || pod.terminating || !known_ns_.count(pod.ns)) continue;
      if (pod.phase == "Succeeded" || pod.phase == "Failed" || pod.phase == "Unknown") continue;
      add_address(label(dashed_ip(pod.ip)) + label(pod.ns) + pod_, pod.ip);
    }
  }

  // NS at every apex (SPEC.md §3): ns.dns.<zone>, glued to the DNS Service's addresses (--dns-service).
  void add_nameserver(const discovery::RegistryState& state) {
    const std::string ns_name = label("ns") + label("dns") + zone_;
    for (const auto& zone : draft_.zones()) {
      if (zone.registry_backed) draft_.add(zone.apex, wire::rrtype::NS, opts_.ttl, rdata_name(ns_name));
    }
    for (const auto& svc : state.services) {
      if (svc.ns == opts_.dns_service_ns && svc.name == opts_.dns_service_name) {
        for (const auto& ip : svc.cluster_ips)
          add_address(ns_name, ip);
      }
    }
  }

  ZoneDraft& draft_;
  const ClusterOptions& opts_;
  std::string zone_, svc_, pod_;
  std::set<std::string> known_ns_;
};

}  // namespace

void add_cluster_zones(ZoneDraft& draft, const ClusterOptions& opts, uint32_t serial) {
  const std::string zone = wire::name_from_text(opts.domain).value_or(std::string(1, '\0'));
  const std::string mname = label("ns") + label("dns") + zone;
  const std::string rname = label("hostmaster") + zone;
  for (const char* apex : {"", "in-addr.arpa", "ip6.arpa"}) {
    DraftZone z;
    z.apex = *apex ? *wire::name_from_text(apex) : zone;
    z.mname = mname;
    z.rname = rname;
    z.serial = serial;
    z.minimum = opts.ttl;
    z.soa_ttl = std::min<uint32_t>(opts.ttl, 300);
    z.registry_backed = true;
    draft.add_zone(std::move(z));
  }
}

void add_cluster_records(ZoneDraft& draft, const discovery::RegistryState& state,
                         const ClusterOptions& opts) {
  Builder(draft, opts).run(state);
}

}  // namespace clusterdns::zones
