// ServiceImport (multicluster.x-k8s.io/v1alpha1, the Multi-Cluster Services API, KEP-1645) → the model.
#pragma once

#include <string>

#include "discovery/model.hpp"
#include "discovery/objects/document.hpp"
#include "discovery/objects/yaml_fields.hpp"

namespace clusterdns::discovery::objects {

inline constexpr const char* kServiceImportApiVersion = "multicluster.x-k8s.io/v1alpha1";

// Reads spec.type (ClusterSetIP or Headless), spec.ips and spec.ports of one ServiceImport whose metadata
// (namespace, name) is already read, with the CRD's rules. False, with the reasons reported through f, when
// it is unusable. To be called by the manifest reader for kind ServiceImport of kServiceImportApiVersion.
bool read_service_import(DocNode doc, Fields& f, const std::string& ns, const std::string& name,
                         ServiceImport& out);

}  // namespace clusterdns::discovery::objects
