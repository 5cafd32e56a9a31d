// Reads the object kinds DNS needs (Service, EndpointSlice, Endpoints, Pod) into the slim model: the fields
// the Kubernetes DNS specification (github.com/kubernetes/dns, docs/specification.md) and the kubelet read.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <set>

#include "discovery/objects/manifest_reader.hpp"
#include "discovery/objects/service_import.hpp"

namespace clusterdns::discovery::objects {

namespace {

// RFC 3339 with optional fraction ("2026-12-01T18:00:00.123456Z", "...+01:00") -> ms since the epoch.
std::optional<int64_t> rfc3339_ms(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, n = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
    return std::nullopt;
  std::size_t i = 19;
  int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits)
      ms *= 10;
  }
  int64_t offset_s = 0;
  if (i + 1 == s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_s = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    i += 6;
  }
  if (i != s.size() || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return (static_cast<int64_t>(timegm(&tm)) - offset_s) * 1000 + ms;
}

// The endpoints controllers' last-change-trigger-time; 0 when absent or unreadable (it only feeds a metric).
int64_t trigger_time_ms(const ObjectMeta& m) {
  auto it = m.annotations.find("endpoints.kubernetes.io/last-change-trigger-time");
  return it == m.annotations.end() ? 0 : rfc3339_ms(it->second).value_or(0);
}

std::string idx(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

const char* const kPortNameRule =
    " is not a valid port name (IANA_SVC_NAME: at most 15 lowercase letters, "
    "digits and '-', with a letter)";

// An optional port name field ("" when absent); reports names a DNS SRV label could not carry.
std::string port_name(DocNode parent, Fields& f, const std::string& path) {
  std::string name = f.str(parent, "name", path).value_or("");
  if (!name.empty() && !is_iana_svc_name(name)) {
    f.error(child(parent, "name"), path + " '" + name + "'" + kPortNameRule);
  }
  return name;
}

// hostname / subdomain style fields: optional, a DNS-1123 label when set.
std::string label_field(DocNode parent, Fields& f, const std::string& key, const std::string& path) {
  std::string value = f.str(parent, key, path).value_or("");
  if (!value.empty() && !is_dns1123_label(value)) {
    f.error(child(parent, key), path + " '" + value + "' is not a DNS-1123 label");
  }
  return value;
}

// targetRef is checked for its shape (a map of strings) and not kept: no record depends on it, and a
// million endpoints would each hold a pod name nothing reads.
void check_target_ref(DocNode parent, Fields& f, const std::string& path) {
  DocNode ref = f.map(parent, "targetRef", path);
  if (!ref.defined()) return;
  f.str(ref, "kind", path + ".kind");
  f.str(ref, "name", path + ".name");
}

// EndpointSlice / Endpoints ports: name, port, protocol. A slice port without a number means "all
// ports", which DNS cannot express; it is skipped.
void read_endpoint_ports(DocNode ports, Fields& f, const std::string& path, bool port_required,
                         std::vector<EndpointPort>& out) {
  if (!ports.defined()) return;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    DocNode p = ports[i];
    std::string at = idx(path, i);
    if (!p.is_map()) {
      f.error(p, at + ": expected a mapping");
      continue;
    }
    EndpointPort ep;
    ep.name = port_name(p, f, at + ".name");
    std::optional<int32_t> port = f.port(p, "port", at + ".port", port_required);
    std::optional<Protocol> proto = f.protocol(p, "protocol", at + ".protocol");
    if (!port || !proto) continue;
    ep.port = *port;
    ep.protocol = *proto;
    out.push_back(std::move(ep));
  }
}

// spec.externalIPs and status.loadBalancer.ingress[] (ip, hostname): the addresses the external zone
// (--external-zone) serves. Validated as the API server does (ValidateService, ValidateLoadBalancerStatus):
// externalIPs and ingress IPs are IP addresses, an ingress hostname is a DNS-1123 subdomain and no IP.
void read_external_addresses(DocNode doc, DocNode spec, Fields& f, Service& svc) {
  DocNode ips = f.seq(spec, "externalIPs", "spec.externalIPs");
  if (ips.defined()) {
    for (std::size_t i = 0; i < ips.size(); ++i) {
      if (std::optional<std::string> ip = f.ip(ips[i], idx("spec.externalIPs", i))) {
        if (std::find(svc.external_ips.begin(), svc.external_ips.end(), *ip) == svc.external_ips.end())
          svc.external_ips.push_back(*ip);
      }
    }
  }
  DocNode status = f.map(doc, "status", "status");
  DocNode lb = f.map(status, "loadBalancer", "status.loadBalancer");
  DocNode ingress = f.seq(lb, "ingress", "status.loadBalancer.ingress");
  if (!ingress.defined()) return;
  for (std::size_t i = 0; i < ingress.size(); ++i) {
    DocNode entry = ingress[i];
    const std::string at = idx("status.loadBalancer.ingress", i);
    if (!entry.is_map()) {
      f.error(entry, at + ": expected a mapping");
      continue;
    }
    LoadBalancerIngress in;
    if (present(child(entry, "ip"))) in.ip = f.ip(child(entry, "ip"), at + ".ip").value_or("");
    std::string host = f.str(entry, "hostname", at + ".hostname").value_or("");
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (!host.empty() && (canonical_ip(host) || !is_dns1123_subdomain(host))) {
      f.error(child(entry, "hostname"), at + ".hostname '" + host + "' is not a DNS name");
      continue;
    }
    in.hostname = host;
    if (!in.ip.empty() || !in.hostname.empty()) svc.load_balancer.push_back(std::move(in));
  }
}

// The Multi-Cluster Services API's labels on a slice of an imported service (KEP-1645): the ServiceImport
// it belongs to (multicluster.kubernetes.io/service-name, instead of kubernetes.io/service-name) and the
// cluster exporting it (multicluster.kubernetes.io/source-cluster, a cluster ID).
void read_multicluster_labels(const ObjectMeta& m, EndpointSet& set) {
  auto service = m.labels.find("multicluster.kubernetes.io/service-name");
  if (service != m.labels.end() && is_dns1123_label(service->second))
    set.multicluster_service = service->second;
  auto cluster = m.labels.find("multicluster.kubernetes.io/source-cluster");
  if (cluster != m.labels.end()) set.source_cluster = cluster->second;
}

}  // namespace

bool read_service_import(DocNode doc, Fields& f, const std::string& ns, const std::string& name,
                         ServiceImport& out) {
  const std::size_t before = f.error_count();
  out = ServiceImport{};
  out.ns = ns;
  out.name = name;
  DocNode spec = f.map(doc, "spec", "spec");
  const std::string type = f.need_str(spec, "type", "spec.type").value_or("");
  if (type == "Headless") {
    out.type = ImportType::Headless;
  } else if (type == "ClusterSetIP") {
    out.type = ImportType::ClusterSetIp;
  } else if (!type.empty()) {
    f.error(child(spec, "type"), "spec.type '" + type + "' is not one of ClusterSetIP, Headless");
  }
  DocNode ips = f.seq(spec, "ips", "spec.ips");
  for (std::size_t i = 0; ips.defined() && i < ips.size(); ++i) {
    if (std::optional<std::string> ip = f.ip(ips[i], idx("spec.ips", i))) out.ips.push_back(*ip);
  }
  if (out.ips.size() > 2 || (out.ips.size() == 2 && is_ipv6(out.ips[0]) == is_ipv6(out.ips[1]))) {
    f.error(ips, "spec.ips: at most one address per IP family");
  }
  DocNode ports = f.seq(spec, "ports", "spec.ports");
  for (std::size_t i = 0; ports.defined() && i < ports.size(); ++i) {
    DocNode p = ports[i];
    const std::string at = idx("spec.ports", i);
    if (!p.is_map()) {
      f.error(p, at + ": expected a mapping");
      continue;
    }
    ServicePort sp;
    sp.name = port_name(p, f, at + ".name");
    std::optional<int32_t> port = f.port(p, "port", at + ".port", true);
    std::optional<Protocol> proto = f.protocol(p, "protocol", at + ".protocol");
    if (!port || !proto) continue;
    sp.port = *port;
    sp.protocol = *proto;
    out.ports.push_back(std::move(sp));
  }
  return f.error_count() == before;
}

void ManifestReader::read_service(DocNode doc, Fields& f, const ObjectMeta& m) {
  std::size_t before = f.error_count();
  if (!claim(f, doc, "Service " + m.ns + "/" + m.name)) return;
  Service svc;
  svc.ns = m.ns;
  svc.name = m.name;
  DocNode spec = f.map(doc, "spec", "spec");
  std::string type = f.str(spec, "type", "spec.type").value_or("");
  bool keep = true;
  if (type == "ExternalName") {
    svc.kind = ServiceKind::ExternalName;
    if (std::optional<std::string> ext = f.need_str(spec, "externalName", "spec.externalName")) {
      std::string name = *ext;
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (!name.empty() && name.back() == '.') name.pop_back();
      if (canonical_ip(name)) {
        // An IP literal in externalName is ignored (NXDOMAIN), as CoreDNS's kubernetes plugin does.
        f.warning(
            child(spec, "externalName"),
            "spec.externalName '" + *ext + "' is an IP address, not a DNS name; service left out of DNS");
        keep = false;
      } else if (!is_dns1123_subdomain(name)) {
        f.error(child(spec, "externalName"), "spec.externalName '" + *ext + "' is not a valid DNS name");
      }
      svc.external_name = name;
    }
  } else if (type.empty() || type == "ClusterIP" || type == "NodePort" || type == "LoadBalancer") {
    read_cluster_ips(doc, spec, f, svc);
  } else {
    f.error(child(spec, "type"),
            "spec.type '" + type + "' is not one of ClusterIP, NodePort, LoadBalancer, ExternalName");
  }
  read_service_ports(spec, f, svc);
  if (svc.kind != ServiceKind::ExternalName) read_external_addresses(doc, spec, f, svc);
  svc.publish_not_ready =
      f.boolean(spec, "publishNotReadyAddresses", "spec.publishNotReadyAddresses").value_or(false);
  auto tolerate = m.annotations.find("service.alpha.kubernetes.io/tolerate-unready-endpoints");
  if (tolerate != m.annotations.end() && tolerate->second == "true") svc.publish_not_ready = true;
  svc.selector = f.string_map(spec, "selector", "spec.selector");
  if (keep && f.error_count() == before) services_.push_back(std::move(svc));
}

void ManifestReader::read_cluster_ips(DocNode doc, DocNode spec, Fields& f, Service& svc) {
  std::vector<DocNode> raw;
  DocNode list = f.seq(spec, "clusterIPs", "spec.clusterIPs");
  if (list.defined()) {
    for (std::size_t i = 0; i < list.size(); ++i)
      raw.push_back(list[i]);
  }
  DocNode single = child(spec, "clusterIP");
  std::optional<std::string> single_text = f.str(spec, "clusterIP", "spec.clusterIP");
  if (raw.empty() && single_text && !single_text->empty()) raw.push_back(single);
  if (raw.empty()) {
    f.warning(spec.defined() ? spec : doc,
              "no spec.clusterIP (nothing allocates one for manifest files); it gets no A/AAAA records");
    return;
  }
  const std::string path = list.defined() && list.size() > 0 ? "spec.clusterIPs" : "spec.clusterIP";
  auto text_of = [](DocNode n) { return n.is_scalar() ? n.str() : std::string(); };
  if (text_of(raw[0]) == "None") {
    svc.kind = ServiceKind::Headless;
    if (raw.size() > 1) f.error(raw[1], path + ": 'None' must be the only entry");
    if (single_text && !single_text->empty() && *single_text != "None") {
      f.error(single, "spec.clusterIP '" + *single_text + "' must equal spec.clusterIPs[0] 'None'");
    }
    return;
  }
  for (std::size_t i = 0; i < raw.size(); ++i) {
    std::string at = raw.size() > 1 || path == "spec.clusterIPs" ? idx(path, i) : path;
    if (text_of(raw[i]) == "None") {
      f.error(raw[i], at + ": 'None' must be the only entry");
    } else if (std::optional<std::string> ip = f.ip(raw[i], at)) {
      svc.cluster_ips.push_back(*ip);
    }
  }
  if (raw.size() > 2) {
    f.error(raw[2], path + ": at most two addresses (one per IP family)");
  } else if (svc.cluster_ips.size() == 2 && is_ipv6(svc.cluster_ips[0]) == is_ipv6(svc.cluster_ips[1])) {
    f.error(raw[1], path + ": a dual-stack service needs one IPv4 and one IPv6 address");
  }
  if (single_text && !single_text->empty() && path == "spec.clusterIPs" && !svc.cluster_ips.empty() &&
      canonical_ip(*single_text) != svc.cluster_ips[0]) {
    f.error(single,
            "spec.clusterIP '" + *single_text + "' must equal spec.clusterIPs[0] '" + text_of(raw[0]) + "'");
  }
}

void ManifestReader::read_service_ports(DocNode spec, Fields& f, Service& svc) {
  DocNode ports = f.seq(spec, "ports", "spec.ports");
  if (!ports.defined()) return;
  std::set<std::string> names;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    DocNode p = ports[i];
    std::string at = idx("spec.ports", i);
    if (!p.is_map()) {
      f.error(p, at + ": expected a mapping");
      continue;
    }
    ServicePort sp;
    sp.name = port_name(p, f, at + ".name");
    if (sp.name.empty() && ports.size() > 1) {
      f.error(p, at + ".name is required when a service has more than one port");
    } else if (!sp.name.empty() && !names.insert(sp.name).second) {
      f.error(child(p, "name"), at + ".name '" + sp.name + "' is used by another port");
    }
    std::optional<int32_t> port = f.port(p, "port", at + ".port", true);
    std::optional<Protocol> proto = f.protocol(p, "protocol", at + ".protocol");
    DocNode target = child(p, "targetPort");
    if (target.present() && !target.is_scalar()) {
      f.error(target, at + ".targetPort: expected a number or a port name");
    } else if (target.present()) {
      const std::string& t = target.str();
      if (all_digits(t) && t.find_first_not_of('0') == std::string::npos) {
        // The API defaults targetPort 0 to the service port: leave target_port empty.
      } else if (all_digits(t)) {
        std::optional<int32_t> n = f.port(p, "targetPort", at + ".targetPort", false);
        if (n) sp.target_port = std::to_string(*n);
      } else if (!is_iana_svc_name(t)) {
        f.error(target, at + ".targetPort '" + t + "'" + kPortNameRule);
      } else {
        sp.target_port = t;
      }
    }
    if (!port || !proto) continue;
    sp.port = *port;
    sp.protocol = *proto;
    svc.ports.push_back(std::move(sp));
  }
}

void ManifestReader::read_endpoint_slice(DocNode doc, Fields& f, const ObjectMeta& m) {
  std::size_t before = f.error_count();
  if (!claim(f, doc, "EndpointSlice " + m.ns + "/" + m.name)) return;
  EndpointSet set;
  set.ns = m.ns;
  set.name = m.name;
  set.trigger_time_ms = trigger_time_ms(m);
  read_multicluster_labels(m, set);
  auto label = m.labels.find("kubernetes.io/service-name");
  DocNode meta = child(doc, "metadata");
  if ((label == m.labels.end() || label->second.empty()) && set.multicluster_service.empty()) {
    f.error(meta,
            "metadata.labels['kubernetes.io/service-name'] is required to join the slice to its service");
    return;
  }
  if (label != m.labels.end()) set.service_name = label->second;
  if (!set.service_name.empty() && !is_dns1123_label(set.service_name)) {
    f.error(child(child(meta, "labels"), "kubernetes.io/service-name"),
            "label kubernetes.io/service-name '" + set.service_name + "' is not a valid service name");
  }
  std::optional<std::string> type = f.need_str(doc, "addressType", "addressType");
  if (!type) return;
  if (*type == "FQDN") {
    f.warning(child(doc, "addressType"), "addressType FQDN is deprecated and ignored");
    return;
  }
  if (*type != "IPv4" && *type != "IPv6") {
    f.error(child(doc, "addressType"), "addressType '" + *type + "' is not one of IPv4, IPv6, FQDN");
    return;
  }
  bool v6 = *type == "IPv6";
  DocNode endpoints = f.seq(doc, "endpoints", "endpoints");
  for (std::size_t i = 0; endpoints.defined() && i < endpoints.size(); ++i) {
    DocNode e = endpoints[i];
    std::string at = idx("endpoints", i);
    if (!e.is_map()) {
      f.error(e, at + ": expected a mapping");
      continue;
    }
    Endpoint ep;
    DocNode addrs = f.seq(e, "addresses", at + ".addresses");
    if (!present(child(e, "addresses")) || (addrs.defined() && addrs.size() == 0)) {
      f.error(e, at + ".addresses is required (at least one address)");
    }
    for (std::size_t j = 0; addrs.defined() && j < addrs.size(); ++j) {
      std::string addr_at = idx(at + ".addresses", j);
      std::optional<std::string> ip = f.ip(addrs[j], addr_at);
      if (ip && is_ipv6(*ip) != v6) {
        f.error(addrs[j],
                addr_at + " '" + *ip + "' is not an " + *type + " address (addressType " + *type + ")");
      } else if (ip) {
        ep.addresses.push_back(*ip);
      }
    }
    DocNode cond = f.map(e, "conditions", at + ".conditions");
    ep.ready = f.boolean(cond, "ready", at + ".conditions.ready").value_or(true);  // absent = ready
    ep.hostname = label_field(e, f, "hostname", at + ".hostname");
    check_target_ref(e, f, at + ".targetRef");
    set.endpoints.push_back(std::move(ep));
  }
  read_endpoint_ports(f.seq(doc, "ports", "ports"), f, "ports", false, set.ports);
  if (f.error_count() != before) return;
  endpoint_sets_.push_back(std::move(set));
}

void ManifestReader::read_endpoints(DocNode doc, Fields& f, const ObjectMeta& m) {
  std::size_t before = f.error_count();
  if (!claim(f, doc, "Endpoints " + m.ns + "/" + m.name)) return;
  std::vector<EndpointSet> sets;
  DocNode subsets = f.seq(doc, "subsets", "subsets");
  for (std::size_t i = 0; subsets.defined() && i < subsets.size(); ++i) {
    DocNode s = subsets[i];
    std::string at = idx("subsets", i);
    if (!s.is_map()) {
      f.error(s, at + ": expected a mapping");
      continue;
    }
    // Each subset has its own ports, so each becomes one EndpointSet of the same service, keyed apart
    // ('/' is in no object name).
    EndpointSet set{
        m.ns, i == 0 ? m.name : m.name + "/subset/" + std::to_string(i), m.name, {}, {}, trigger_time_ms(m)};
    for (bool ready : {true, false}) {
      std::string key = ready ? "addresses" : "notReadyAddresses";
      DocNode addrs = f.seq(s, key, at + "." + key);
      for (std::size_t j = 0; addrs.defined() && j < addrs.size(); ++j) {
        DocNode a = addrs[j];
        std::string addr_at = idx(at + "." + key, j);
        if (!a.is_map()) {
          f.error(a, addr_at + ": expected a mapping with ip");
          continue;
        }
        if (!present(child(a, "ip"))) {
          f.error(a, addr_at + ".ip is required");
          continue;
        }
        Endpoint ep;
        ep.ready = ready;
        if (std::optional<std::string> ip = f.ip(child(a, "ip"), addr_at + ".ip"))
          ep.addresses.push_back(*ip);
        ep.hostname = label_field(a, f, "hostname", addr_at + ".hostname");
        check_target_ref(a, f, addr_at + ".targetRef");
        set.endpoints.push_back(std::move(ep));
      }
    }
    read_endpoint_ports(f.seq(s, "ports", at + ".ports"), f, at + ".ports", true, set.ports);
    if (!set.endpoints.empty()) sets.push_back(std::move(set));
  }
  if (f.error_count() != before) return;
  for (EndpointSet& set : sets)
    legacy_sets_.push_back(std::move(set));
}

void ManifestReader::read_pod(DocNode doc, Fields& f, const ObjectMeta& m) {
  std::size_t before = f.error_count();
  if (!claim(f, doc, "Pod " + m.ns + "/" + m.name)) return;
  Pod pod;
  pod.ns = m.ns;
  pod.name = m.name;
  pod.labels = m.labels;
  pod.terminating = m.deleting;
  DocNode spec = f.map(doc, "spec", "spec");
  pod.hostname = label_field(spec, f, "hostname", "spec.hostname");
  pod.subdomain = label_field(spec, f, "subdomain", "spec.subdomain");
  pod.enable_service_links = f.boolean(spec, "enableServiceLinks", "spec.enableServiceLinks").value_or(true);
  DocNode containers = f.seq(spec, "containers", "spec.containers");
  for (std::size_t i = 0; containers.defined() && i < containers.size(); ++i) {
    std::string at = idx("spec.containers", i);
    if (!containers[i].is_map()) {
      f.error(containers[i], at + ": expected a mapping");
      continue;
    }
    DocNode ports = f.seq(containers[i], "ports", at + ".ports");
    for (std::size_t j = 0; ports.defined() && j < ports.size(); ++j) {
      DocNode p = ports[j];
      std::string port_at = idx(at + ".ports", j);
      if (!p.is_map()) {
        f.error(p, port_at + ": expected a mapping");
        continue;
      }
      ContainerPort cp;
      cp.name = port_name(p, f, port_at + ".name");
      std::optional<int32_t> port = f.port(p, "containerPort", port_at + ".containerPort", true);
      std::optional<Protocol> proto = f.protocol(p, "protocol", port_at + ".protocol");
      if (!port || !proto) continue;
      cp.port = *port;
      cp.protocol = *proto;
      pod.container_ports.push_back(std::move(cp));
    }
  }
  read_pod_status(doc, f, pod);
  if (f.error_count() == before) pods_.push_back(std::move(pod));
}

void ManifestReader::read_pod_status(DocNode doc, Fields& f, Pod& pod) {
  DocNode status = f.map(doc, "status", "status");
  if (!status.defined()) return;  // as written for kubectl apply: no IP, not ready
  if (present(child(status, "podIP"))) {
    pod.ip = f.ip(child(status, "podIP"), "status.podIP").value_or("");
  }
  DocNode ips = f.seq(status, "podIPs", "status.podIPs");
  for (std::size_t i = 0; ips.defined() && i < ips.size(); ++i) {
    std::string at = idx("status.podIPs", i) + ".ip";
    DocNode ip = child(ips[i], "ip");
    if (!ip.present()) {
      f.error(ips[i], at + " is required");
    } else if (std::optional<std::string> canon = f.ip(ip, at)) {
      pod.ips.push_back(*canon);
    }
  }
  if (pod.ip.empty() && !pod.ips.empty()) pod.ip = pod.ips[0];
  if (pod.ips.empty() && !pod.ip.empty()) pod.ips.push_back(pod.ip);
  if (!pod.ips.empty() && pod.ips[0] != pod.ip) {
    f.error(child(status, "podIP"),
            "status.podIP '" + pod.ip + "' must equal status.podIPs[0].ip '" + pod.ips[0] + "'");
  }
  pod.phase = f.str(status, "phase", "status.phase").value_or("");
  static const std::set<std::string> kPhases = {"", "Pending", "Running", "Succeeded", "Failed", "Unknown"};
  if (!kPhases.count(pod.phase)) {
    f.error(child(status, "phase"),
            "status.phase '" + pod.phase + "' is not one of Pending, Running, Succeeded, Failed, Unknown");
  }
  DocNode conditions = f.seq(status, "conditions", "status.conditions");
  for (std::size_t i = 0; conditions.defined() && i < conditions.size(); ++i) {
    std::string at = idx("status.conditions", i);
    if (f.str(conditions[i], "type", at + ".type").value_or("") == "Ready") {
      pod.ready = f.str(conditions[i], "status", at + ".status").value_or("") == "True";
    }
  }
}

}  // namespace clusterdns::discovery::objects
