// etcd keys ↔ objects: the API server's key layout, and one stored JSON value → a slim model object.
#include "discovery/etcd/etcd_objects.hpp"

#include <set>

#include "discovery/objects/json_document.hpp"
#include "discovery/objects/json_text.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/service_import.hpp"
#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery::etcd {

namespace {

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

// Checks one identifying field; false and a reason when the value names another object. missing: absent or
// null, to be filled in from the key.
bool match_field(DocNode parent, const char* field, const std::string& expected, const std::string& path,
                 bool& missing, std::string& error) {
  DocNode v = parent.get(field);
  if (!v.present()) {
    missing = true;
    return true;
  }
  if (!v.is_scalar() || v.plain()) {
    error = path + " is not a string";
    return false;
  }
  if (v.scalar() != expected) {
    error = path + " '" + v.str() + "' does not match the key ('" + expected + "')";
    return false;
  }
  return true;
}

// A value as JSON would show it in a message.
std::string shown(DocNode v) {
  if (v.is_scalar()) return v.plain() ? v.str() : "\"" + v.str() + "\"";
  if (v.is_map()) return "{…}";
  return v.is_list() ? "[…]" : "null";
}

// The object again with the identifying fields it lacks (absent or null) taken from the key.
Document with_identity(DocNode root, const ObjectKey& key) {
  const std::string kind = resource_kind(key.resource);
  DocumentBuilder b;
  auto put_meta_fields = [&](DocNode meta) {
    for (std::size_t i = 0; i < meta.size(); ++i) {
      const std::string_view k = meta.key_at(i).scalar();
      DocNode v = meta.value_at(i);
      copy_document_node(meta.key_at(i), b);
      if (k == "name" && !v.present()) {
        b.scalar(key.name, false, 1);
      } else if (k == "namespace" && namespaced(key.resource) && !v.present()) {
        b.scalar(key.ns, false, 1);
      } else {
        copy_document_node(v, b);
      }
    }
    if (!meta.get("name").defined()) b.scalar("name", false, 1), b.scalar(key.name, false, 1);
    if (namespaced(key.resource) && !meta.get("namespace").defined())
      b.scalar("namespace", false, 1), b.scalar(key.ns, false, 1);
  };
  b.begin_map(1);
  for (std::size_t i = 0; i < root.size(); ++i) {
    const std::string_view k = root.key_at(i).scalar();
    DocNode v = root.value_at(i);
    copy_document_node(root.key_at(i), b);
    if (k == "kind" && !v.present()) {
      b.scalar(kind, false, 1);
    } else if (k == "metadata") {
      b.begin_map(v.line());
      put_meta_fields(v);
      b.end();
    } else {
      copy_document_node(v, b);
    }
  }
  if (!root.get("kind").defined()) b.scalar("kind", false, 1), b.scalar(kind, false, 1);
  if (!root.get("apiVersion").defined())
    b.scalar("apiVersion", false, 1), b.scalar(resource_api_version(key.resource), false, 1);
  if (!root.get("metadata").defined()) {
    b.scalar("metadata", false, 1);
    b.begin_map(1);
    put_meta_fields(DocNode());
    b.end();
  }
  b.end();
  return b.finish();
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
  if (value.size() > kMaxValueBytes) {
    out.error = "larger than " + std::to_string(kMaxValueBytes) + " bytes";
    return out;
  }
  // Each value is copied into one reused padded buffer: held padded, 100,000 values would keep 6 MiB more
  // while a range is applied.
  thread_local std::string scratch;
  std::optional<Document> doc = parse_json_text(PaddedJson(value, scratch), out.error);
  if (scratch.capacity() > kJsonParserKept) std::string().swap(scratch);
  if (!doc) return out;
  DocNode obj = doc->root();
  if (!obj.is_map()) {
    out.error = "not a JSON object";
    return out;
  }
  const std::string kind = resource_kind(key.resource);
  bool missing = false;
  if (!match_field(obj, "kind", kind, "kind", missing, out.error)) return out;
  DocNode api = obj.get("apiVersion");
  missing = missing || !api.defined();
  if (api.defined() && key.resource == Resource::ServiceImport &&
      !(api.is_scalar() && !api.plain() && api.scalar() == resource_api_version(key.resource))) {
    // A custom resource is stored in its definition's storage version; another version's fields are not
    // read as if they were v1alpha1's.
    out.error = "apiVersion " + shown(api) + ": clusterdns reads " + resource_api_version(key.resource) +
                " (make it the CustomResourceDefinition's storage version)";
    return out;
  }
  DocNode meta = obj.get("metadata");
  if (meta.defined() && !meta.is_map()) {
    out.error = "metadata is not an object";
    return out;
  }
  missing = missing || !meta.defined();
  if (!match_field(meta, "name", key.name, "metadata.name", missing, out.error)) return out;
  if (namespaced(key.resource) &&
      !match_field(meta, "namespace", key.ns, "metadata.namespace", missing, out.error)) {
    return out;
  }
  // What the API server writes names itself; an object written by hand may leave it to the key.
  if (missing) doc = with_identity(obj, key);

  ParsedObjects parsed;
  try {
    // The document checked above: the manifest reader sees exactly the fields that were checked.
    parsed = parse_object_document(*doc, "");
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
  if (key.resource == Resource::Service && parsed.services.size() == 1)
    slim.value = std::move(parsed.services[0]);
  if (key.resource == Resource::Pod && parsed.pods.size() == 1) slim.value = std::move(parsed.pods[0]);
  if (key.resource == Resource::EndpointSlice && parsed.endpoint_sets.size() == 1) {
    slim.value = std::move(parsed.endpoint_sets[0]);
  }
  if (key.resource == Resource::ServiceImport && parsed.service_imports.size() == 1) {
    slim.value = std::move(parsed.service_imports[0]);
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
