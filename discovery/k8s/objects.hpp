// Kubernetes API objects (JSON, as served) → the slim model, the moment they arrive (CoreDNS object/).
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json_fwd.hpp>

#include "discovery/model.hpp"
#include "discovery/objects/document.hpp"

namespace clusterdns::discovery::k8s {

// ServiceImport: multicluster.x-k8s.io/v1alpha1, a custom resource (the Multi-Cluster Services API,
// KEP-1645), watched only for --clusterset-zone.
enum class Kind { Namespace, Service, EndpointSlice, Pod, ServiceImport };

// "Namespace", "Service", "EndpointSlice", "Pod", "ServiceImport".
const char* kind_name(Kind kind);
// "v1", "discovery.k8s.io/v1" or "multicluster.x-k8s.io/v1alpha1".
const char* api_version(Kind kind);

// What the registry keeps of one object. A Namespace keeps only its name.
using Slim = std::variant<std::string, Service, EndpointSet, Pod, ServiceImport>;

struct SlimResult {
  std::string key;             // "ns/name", or "name" for a Namespace; "" when metadata has no name
  std::optional<Slim> object;  // set when the object is kept
  std::string error;           // rejected (the object breaks a field rule): reasons, "; "-joined
  std::string note;            // kept or left out on purpose, with a reason worth a debug line
};

// The store key of an object: "ns/name" (namespace "default" when absent) or "name" for a Namespace.
// "" when metadata.name is missing or not a string.
std::string object_key(Kind kind, DocNode object);

// metadata.resourceVersion, or "" when absent.
std::string resource_version(DocNode object);

// Slims one object (as JsonReader read it). List items come without kind/apiVersion; both are taken from
// `kind`. The field rules are the manifest reader's: only the fields a DNS or environment-variable rule reads
// are copied into a small document, then parse_object_document validates and converts them, so a file
// registry and the API agree on every object.
SlimResult slim_object(Kind kind, DocNode object);

// The same for an object already held as nlohmann JSON (tests, tools).
std::string object_key(Kind kind, const nlohmann::json& object);
SlimResult slim_object(Kind kind, const nlohmann::json& object);

}  // namespace clusterdns::discovery::k8s
