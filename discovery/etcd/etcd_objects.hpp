// The Kubernetes API server's etcd layout (which key holds which object) and decoding one stored value.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "discovery/model.hpp"

namespace clusterdns::discovery::etcd {

// ServiceImport: the multicluster.x-k8s.io/v1alpha1 custom resource (--clusterset-zone). Read always: an
// etcd prefix nothing is written under costs one idle watcher.
enum class Resource { Service, EndpointSlice, Pod, Namespace, ServiceImport };

inline constexpr std::array<Resource, 5> kResources = {
    Resource::Service, Resource::EndpointSlice, Resource::Pod, Resource::Namespace, Resource::ServiceImport};

// "Service", "EndpointSlice", "Pod", "Namespace", "ServiceImport".
const char* resource_kind(Resource r);
// "v1", "discovery.k8s.io/v1" or "multicluster.x-k8s.io/v1alpha1".
const char* resource_api_version(Resource r);

struct ObjectKey {
  Resource resource = Resource::Service;
  std::string ns;  // "" for Namespace
  std::string name;
};

// Keys as kube-apiserver writes them: PREFIX services/specs/<ns>/<name>, endpointslices/<ns>/<name>,
// pods/<ns>/<name>, namespaces/<name>, and for a custom resource <group>/<plural>/<ns>/<name>
// (apiextensions-apiserver's storage: multicluster.x-k8s.io/serviceimports/<ns>/<name>). PREFIX defaults to
// "/registry/" (the API server's --etcd-prefix).
class Layout {
 public:
  explicit Layout(std::string prefix = "/registry/");  // a missing trailing '/' is added
  const std::string& prefix() const { return prefix_; }
  // Every key of resource r starts with this.
  std::string resource_prefix(Resource r) const;
  std::string key(Resource r, const std::string& ns, const std::string& name) const;
  // nullopt for keys outside the five resources (or with the wrong number of path segments).
  std::optional<ObjectKey> parse_key(const std::string& key) const;

 private:
  std::string prefix_;
};

// What one stored object contributes to the registry: nothing (a Namespace, an object DNS leaves out such
// as an ExternalName holding an IP), or one slim value.
struct SlimObject {
  ObjectKey key;
  int64_t mod_revision = 0;  // the etcd revision that wrote it (set by the caller)
  std::variant<std::monostate, Service, EndpointSet, Pod, ServiceImport> value;
};

struct DecodeResult {
  std::optional<SlimObject> object;   // set when the value is usable
  std::string error;                  // why not, when object is empty
  std::vector<std::string> warnings;  // usable, but something was left out
};

// Decodes a JSON-encoded object (as the API server stores it with --storage-media-type=application/json)
// with the manifest parser. The object must be of the key's kind, name and namespace; a missing kind,
// apiVersion, name or namespace is taken from the key. Never throws.
DecodeResult decode_object(const ObjectKey& key, const std::string& value);

// The registry the objects describe, keyed by etcd key, with selector endpoints computed. Pure.
RegistryState build_state(const std::map<std::string, SlimObject>& objects);

}  // namespace clusterdns::discovery::etcd
