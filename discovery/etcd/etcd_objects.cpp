// etcd keys ↔ objects: the API server's key layout, and one stored JSON value → a slim model object.
#include "discovery/etcd/etcd_objects.hpp"

#include <set>

#include <nlohmann/json.hpp>

#include "discovery/k8s/strict_json.hpp"
#include "discovery/objects/json_document.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/service_import.hpp"
#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery::etcd {

namespace {

using nlohmann::json;

// etcd's own request limit is 1.5 MiB by default (--max-request-bytes); a value far beyond is not an object.
constexpr std::size_t kMaxValueBytes = 16u << 20;

const char* resource_path(Resource r) {
  switch (r) {
    case Resource::Service:
      return "services/specs/";
    case Resource::EndpointSlice:
      return "endpointslices/";
    case Resource::Pod:
      return "pods/";
    case Resource::Namespace:
      return "namespaces/";
    case Resource::ServiceImport:
      return "multicluster.x-k8s.io/serviceimports/";
  }
  return "";
}

bool namespaced(Resource r) {
  return r != Resource::Namespace;
}

// Checks (or fills in) one identifying field; false and a reason when the value names another object.
bool match_field(json& obj, const char* field, const std::string& expected, const std::string& path,
                 std::string& error) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    obj[field] = expected;
    return true;
  }
  if (!it->is_string()) {
    error = path + " is not a string";
    return false;
  }
  if (it->get_ref<const std::string&>() != expected) {
    error = path + " '" + it->get<std::string>() + "' does not match the key ('" + expected + "')";
    return false;
  }
  return true;
}

// The manifest parser prefixes its reasons with "label:line: "; the key already says where.
std::string reasons(const std::vector<ManifestError>& errors) {
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < 3; ++i)
    out += (i ? "; " : "") + errors[i].reason;
  if (errors.size() > 3) out += "; and " + std::to_string(errors.size() - 3) + " more";
  return out;
}

}  // namespace

const char* resource_kind(Resource r) {
  switch (r) {
    case Resource::Service:
      return "Service";
    case Resource::EndpointSlice:
      return "EndpointSlice";
    case Resource::Pod:
      return "Pod";
    case Resource::Namespace:
      return "Namespace";
    case Resource::ServiceImport:
      return "ServiceImport";
  }
  return "";
}

const char* resource_api_version(Resource r) {
  switch (r) {
    case Resource::EndpointSlice:
      return "discovery.k8s.io/v1";
    case Resource::ServiceImport:
      return objects::kServiceImportApiVersion;
    default:
      return "v1";
  }
}

Layout::Layout(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.empty() || prefix_.back() != '/') prefix_ += '/';
}

std::string Layout::resource_prefix(Resource r) const {
  return prefix_ + resource_path(r);
}

std::string Layout::key(Resource r, const std::string& ns, const std::string& name) const {
  return namespaced(r) ? resource_prefix(r) + ns + "/" + name : resource_prefix(r) + name;
}

std::optional<ObjectKey> Layout::parse_key(const std::string& key) const {
  for (Resource r : kResources) {
    const std::string p = resource_prefix(r);
    if (key.compare(0, p.size(), p) != 0) continue;
    std::string rest = key.substr(p.size());
    ObjectKey out{r, "", rest};
    if (namespaced(r)) {
      std::size_t slash = rest.find('/');
      if (slash == std::string::npos || slash == 0) return std::nullopt;
      out.ns = rest.substr(0, slash);
      out.name = rest.substr(slash + 1);
    }
    if (out.name.empty() || out.name.find('/') != std::string::npos) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

DecodeResult decode_object(const ObjectKey& key, const std::string& value) {
  DecodeResult out;
  if (value.compare(0, 4, std::string("k8s\0", 4)) == 0) {
    out.error =
        "protobuf-encoded value; clusterdns reads JSON (kube-apiserver "
        "--storage-media-type=application/json)";
    return out;
  }
  json obj;
  if (!k8s::parse_strict_json(value, kMaxValueBytes, obj, out.error)) return out;
  if (!obj.is_object()) {
    out.error = "not a JSON object";
    return out;
  }
  const std::string kind = resource_kind(key.resource);
  if (!match_field(obj, "kind", kind, "kind", out.error)) return out;
  if (!obj.contains("apiVersion")) {
    obj["apiVersion"] = resource_api_version(key.resource);
  } else if (key.resource == Resource::ServiceImport &&
             obj["apiVersion"] != resource_api_version(key.resource)) {
    // A custom resource is stored in its definition's storage version; another version's fields are not
    // read as if they were v1alpha1's.
    out.error = "apiVersion " + obj["apiVersion"].dump() + ": clusterdns reads " +
                resource_api_version(key.resource) +
                " (make it the CustomResourceDefinition's storage version)";
    return out;
  }
  if (!obj.contains("metadata")) obj["metadata"] = json::object();
  json& meta = obj["metadata"];
  if (!meta.is_object()) {
    out.error = "metadata is not an object";
    return out;
  }
  if (!match_field(meta, "name", key.name, "metadata.name", out.error)) return out;
  if (namespaced(key.resource) && !match_field(meta, "namespace", key.ns, "metadata.namespace", out.error)) {
    return out;
  }

  ParseResult parsed;
  try {
    // The tree checked above: the manifest reader sees exactly the fields that were checked.
    std::optional<Document> tree = document_from_json(obj, out.error);
    if (!tree) return out;
    parsed = parse_manifest_document(*tree, "");
  } catch (const std::exception& e) {
    out.error = std::string("cannot parse: ") + e.what();
    return out;
  }
  if (!parsed.errors.empty()) {
    out.error = reasons(parsed.errors);
    return out;
  }
  for (const ManifestError& w : parsed.warnings)
    out.warnings.push_back(w.reason);
  SlimObject slim{key, 0, std::monostate{}};
  RegistryState& st = parsed.state;
  if (key.resource == Resource::Service && st.services.size() == 1) slim.value = std::move(st.services[0]);
  if (key.resource == Resource::Pod && st.pods.size() == 1) slim.value = std::move(st.pods[0]);
  if (key.resource == Resource::EndpointSlice && st.endpoint_sets.size() == 1) {
    slim.value = std::move(st.endpoint_sets[0]);
  }
  if (key.resource == Resource::ServiceImport && st.service_imports.size() == 1) {
    slim.value = std::move(st.service_imports[0]);
  }
  out.object = std::move(slim);
  return out;
}

RegistryState build_state(const std::map<std::string, SlimObject>& objects) {
  RegistryState st;
  std::set<std::string> namespaces;
  for (const auto& [key, obj] : objects) {
    namespaces.insert(obj.key.resource == Resource::Namespace ? obj.key.name : obj.key.ns);
    if (const auto* s = std::get_if<Service>(&obj.value)) st.services.push_back(*s);
    if (const auto* e = std::get_if<EndpointSet>(&obj.value)) st.endpoint_sets.push_back(*e);
    if (const auto* p = std::get_if<Pod>(&obj.value)) st.pods.push_back(*p);
    if (const auto* i = std::get_if<ServiceImport>(&obj.value)) st.service_imports.push_back(*i);
  }
  st.namespaces.assign(namespaces.begin(), namespaces.end());
  compute_selector_endpoints(st);
  return st;
}

}  // namespace clusterdns::discovery::etcd
