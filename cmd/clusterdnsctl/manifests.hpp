// Manifest files → the JSON objects kube-apiserver would store in etcd, and the keys it would use.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "discovery/etcd/etcd_objects.hpp"

namespace clusterdns::ctl {

struct StoredObject {
  discovery::etcd::Resource resource;
  std::string ns;  // "" for a Namespace
  std::string name;
  std::string json;   // compact JSON, metadata.namespace filled in
  std::string where;  // "file" for messages
};

struct ManifestSet {
  std::vector<StoredObject> objects;
  std::set<std::string> namespaces;   // every namespace an object is placed in
  std::vector<std::string> skipped;   // "Deployment default/x (file)": kinds the registry does not hold
  std::vector<std::string> errors;    // "file:line: reason" (the manifest parser's); nothing is written then
  std::vector<std::string> warnings;  // accepted, but DNS will leave something out
};

// Reads a file or a directory tree (*.yaml, *.yml, *.json), validates it with the manifest parser the file
// registry uses, and turns each Service, EndpointSlice, Pod, Namespace and ServiceImport
// (multicluster.x-k8s.io/v1alpha1; `kind: List` items included) into its stored JSON form. Typed YAML scalars
// become JSON numbers/booleans/null; quoted ones stay strings.
ManifestSet load_manifests(const std::string& path);

}  // namespace clusterdns::ctl
