// Manifests → stored JSON objects: validation by the file registry's parser, then YAML → JSON per object.
#include "cmd/clusterdnsctl/manifests.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "discovery/files/manifest_parser.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::ctl {

namespace {

using discovery::etcd::Resource;
using nlohmann::json;

bool is_integer(const std::string& s) {
  std::size_t i = s[0] == '-' || s[0] == '+' ? 1 : 0;
  if (i == s.size() || (s[i] == '0' && s.size() > i + 1)) return false;  // "0777" stays text
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(i), s.end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool is_float(const std::string& s) {
  double d = 0;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  auto [ptr, ec] = std::from_chars(first, s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size() && s.find_first_of(".eE") != std::string::npos &&
         s.find_first_of("xXpPnN") == std::string::npos;
}

// A YAML node as JSON, with YAML 1.2 core-schema typing of plain scalars (what kubectl sends for
// `port: 80`, `ready: true`); quoted or !!str scalars stay strings.
json to_json(discovery::DocNode n) {
  switch (n.kind()) {
    case discovery::NodeKind::List: {
      json out = json::array();
      for (std::size_t i = 0; i < n.size(); ++i)
        out.push_back(to_json(n[i]));
      return out;
    }
    case discovery::NodeKind::Map: {
      json out = json::object();
      for (std::size_t i = 0; i < n.size(); ++i)
        out[n.key_at(i).str()] = to_json(n.value_at(i));
      return out;
    }
    case discovery::NodeKind::Scalar: {
      const std::string s = n.str();
      if (!n.plain() || s.empty()) return s;  // quoted or explicitly tagged
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
      if (is_integer(s)) {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), v);
        if (ec == std::errc() && ptr == s.data() + s.size()) return v;
      }
      if (is_float(s)) return std::stod(s);
      return s;
    }
    default:  // null (plain "", "~", "null"), or absent
      return nullptr;
  }
}

std::optional<Resource> resource_of(const std::string& api, const std::string& kind) {
  if (api == "v1" && kind == "Service") return Resource::Service;
  if (api == "v1" && kind == "Pod") return Resource::Pod;
  if (api == "v1" && kind == "Namespace") return Resource::Namespace;
  if (kind == "EndpointSlice" && (api == "discovery.k8s.io/v1" || api == "discovery.k8s.io/v1beta1")) {
    return Resource::EndpointSlice;
  }
  if (api == discovery::etcd::resource_api_version(Resource::ServiceImport) && kind == "ServiceImport")
    return Resource::ServiceImport;
  return std::nullopt;
}

void add_object(json obj, const std::string& file, ManifestSet& out) {
  if (!obj.is_object()) return;
  const std::string kind = obj.value("kind", "");
  const std::string api = obj.value("apiVersion", "");
  if (kind == "List" || (kind.size() > 4 && kind.ends_with("List") && obj.contains("items"))) {
    for (json& item : obj["items"])
      add_object(std::move(item), file, out);
    return;
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  json& meta = obj["metadata"];
  const std::string name = meta.value("name", "");
  std::optional<Resource> r = resource_of(api, kind);
  if (r && *r != Resource::Namespace && !meta.contains("namespace")) meta["namespace"] = "default";
  const std::string ns = meta.value("namespace", "");
  if (!r) {
    out.skipped.push_back(kind + " " + (ns.empty() ? "" : ns + "/") + name + " (" + file + ")");
    if (!ns.empty()) out.namespaces.insert(ns);
    return;
  }
  if (*r == Resource::EndpointSlice) obj["apiVersion"] = "discovery.k8s.io/v1";  // the version stored today
  if (*r != Resource::Namespace) out.namespaces.insert(ns);
  out.objects.push_back(StoredObject{*r, *r == Resource::Namespace ? "" : ns, name, obj.dump(), file});
}

}  // namespace

ManifestSet load_manifests(const std::string& path) {
  ManifestSet out;
  std::vector<discovery::ManifestError> read_errors;
  std::vector<discovery::ManifestFile> files = discovery::read_manifest_files(path, read_errors);
  discovery::ParseResult checked = discovery::parse_manifest_files(files);
  for (const auto& e : read_errors)
    out.errors.push_back(e.to_string());
  for (const auto& e : checked.errors)
    out.errors.push_back(e.to_string());
  for (const auto& w : checked.warnings)
    out.warnings.push_back(w.to_string());
  if (!out.errors.empty()) return out;
  if (files.empty()) out.errors.push_back(path + ": no manifest files (*.yaml, *.yml, *.json)");
  for (const discovery::ManifestFile& file : files) {
    std::vector<discovery::Document> docs;
    if (auto problem = discovery::parse_yaml(file.text, docs)) {  // the reader accepted it: unexpected
      out.errors.push_back(file.path + ":" + std::to_string(problem->line) + ": " + problem->reason);
      continue;
    }
    for (const discovery::Document& doc : docs) {
      if (doc.root().is_map()) add_object(to_json(doc.root()), file.path, out);
    }
  }
  return out;
}

}  // namespace clusterdns::ctl
