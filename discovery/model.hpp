// The registry's slim value types: only the fields a DNS or environment-variable rule needs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "discovery/object_table.hpp"

namespace clusterdns::discovery {

enum class Protocol { Tcp, Udp, Sctp };

// "TCP" / "UDP" / "SCTP" as the API spells them.
const char* protocol_name(Protocol p);
// "tcp" / "udp" / "sctp" as SRV labels and Docker links spell them.
const char* protocol_label(Protocol p);
std::optional<Protocol> parse_protocol(const std::string& api_name);

enum class ServiceKind { ClusterIp, Headless, ExternalName };

// One status.loadBalancer.ingress[] entry: the load balancer's address, or its DNS name (ELB style).
struct LoadBalancerIngress {
  std::string ip;        // canonical text, "" when the entry has only a hostname
  std::string hostname;  // lower case, without trailing dot; "" when the entry has only an IP
  bool operator==(const LoadBalancerIngress&) const = default;
};

struct ServicePort {
  std::string name;  // "" when unnamed (then no SRV record)
  int32_t port = 0;
  Protocol protocol = Protocol::Tcp;
  std::string target_port;  // number or container port name; "" = same as port
  bool operator==(const ServicePort&) const = default;
};

struct Service {
  std::string ns;
  std::string name;
  ServiceKind kind = ServiceKind::ClusterIp;
  std::vector<std::string> cluster_ips;  // canonical text, primary family first; empty unless ClusterIp
  std::string external_name;             // ExternalName only, without trailing dot
  std::vector<ServicePort> ports;
  bool publish_not_ready = false;
  std::map<std::string, std::string> selector;  // empty: endpoints come from slices only
  // Addresses outside the cluster (the external zone, --external-zone): spec.externalIPs (canonical text)
  // and status.loadBalancer.ingress[], in the object's order.
  std::vector<std::string> external_ips = {};
  std::vector<LoadBalancerIngress> load_balancer = {};
  bool operator==(const Service&) const = default;
};

// A multicluster.x-k8s.io/v1alpha1 ServiceImport (the Multi-Cluster Services API, KEP-1645): a service
// exported by clusters of the cluster set, served under --clusterset-zone.
enum class ImportType { ClusterSetIp, Headless };

struct ServiceImport {
  std::string ns;
  std::string name;
  ImportType type = ImportType::ClusterSetIp;
  std::vector<std::string> ips = {};    // spec.ips, canonical text (ClusterSetIP)
  std::vector<ServicePort> ports = {};  // spec.ports (name, port, protocol)
  bool operator==(const ServiceImport&) const = default;
};

struct EndpointPort {
  std::string name;
  int32_t port = 0;
  Protocol protocol = Protocol::Tcp;
  bool operator==(const EndpointPort&) const = default;
};

struct Endpoint {
  std::vector<std::string> addresses;  // canonical text
  bool ready = true;                   // EndpointSlice: absent ready = ready
  std::string hostname;                // "" unless the pod's subdomain names the service
  bool operator==(const Endpoint&) const = default;
};

// One EndpointSlice (or one legacy Endpoints object, normalised), joined to its service by name.
struct EndpointSet {
  std::string ns;
  std::string name;          // object name
  std::string service_name;  // kubernetes.io/service-name label, or the Endpoints object's name
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
  // endpoints.kubernetes.io/last-change-trigger-time in ms since the epoch (0: not set): when the change
  // this object carries happened, for coredns_kubernetes_dns_programming_duration_seconds.
  int64_t trigger_time_ms = 0;
  // A slice of an imported service (MCS API): the multicluster.kubernetes.io/service-name and
  // multicluster.kubernetes.io/source-cluster labels; "" otherwise.
  std::string multicluster_service = {};
  std::string source_cluster = {};
  bool operator==(const EndpointSet&) const = default;
};

struct ContainerPort {
  std::string name;
  int32_t port = 0;
  Protocol protocol = Protocol::Tcp;
  bool operator==(const ContainerPort&) const = default;
};

struct Pod {
  std::string ns;
  std::string name;
  std::string ip;                // status.podIP, canonical; "" if not assigned
  std::vector<std::string> ips;  // status.podIPs
  std::map<std::string, std::string> labels;
  std::string hostname;      // spec.hostname
  std::string subdomain;     // spec.subdomain
  bool ready = false;        // Ready condition
  bool terminating = false;  // metadata.deletionTimestamp set
  std::string phase;         // Pending, Running, Succeeded, Failed, Unknown
  bool enable_service_links = true;
  std::vector<ContainerPort> container_ports;
  bool operator==(const Pod&) const = default;
};

// Everything a registry knows at one moment. A value whose copies share their objects: a source keeps one,
// applies each event to it (upsert/erase) and publishes a copy, in O(what changed + chunks).
struct RegistryState {
  ObjectTable<std::string> namespaces;  // every namespace that exists (named by an object or a Namespace)
  ObjectTable<Service> services;
  ObjectTable<EndpointSet> endpoint_sets;  // keyed by (ns, object name)
  ObjectTable<Pod> pods;
  ObjectTable<ServiceImport> service_imports;  // --clusterset-zone
};

// Canonical text of an IP address (inet_ntop form, lower case), or nullopt when text is not an IP.
std::optional<std::string> canonical_ip(const std::string& text);
bool is_ipv6(const std::string& canonical);

}  // namespace clusterdns::discovery
