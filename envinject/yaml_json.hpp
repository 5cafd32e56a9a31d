// YAML (a Pod manifest, `envinject --pod`) → the JSON tree the envinject functions take. The caller vets
// untrusted text first (discovery/objects/yaml_guard.hpp): the conversion expands every alias.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace clusterdns::envinject {

// A plain (unquoted, untagged) YAML scalar as JSON, as YAML 1.2's core schema reads it: null, bool, integer,
// float, else string. Pure.
nlohmann::json plain_scalar(const std::string& s);

// The whole node: mappings → objects (keys as strings), sequences → arrays, quoted or !!str scalars →
// strings, plain scalars → plain_scalar(), anything else → null. Recursive (one level per YAML level).
nlohmann::json yaml_to_json(const YAML::Node& n);

}  // namespace clusterdns::envinject
