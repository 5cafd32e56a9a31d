// Splits manifest text into documents, dispatches each object by kind, and merges the result.
#include "discovery/objects/manifest_reader.hpp"

#include <algorithm>

#include "discovery/objects/parse_ahead.hpp"
#include "discovery/objects/service_import.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery::objects {

namespace {

bool is_document_marker(std::string_view line) {
  if (line.substr(0, 3) != "---") return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r' || line[3] == '\n';
}

// Whether a line carries YAML content (not blank, not a comment, not a %directive).
bool has_content(std::string_view line, std::size_t from) {
  std::size_t i = line.find_first_not_of(" \t\r\n", from);
  return i != std::string_view::npos && line[i] != '#' && !(from == 0 && line[i] == '%');
}

// Split at "---" lines so one broken document does not hide the errors (or objects) of the others.
// A marker inside a block scalar would have to be indented, and at column 0 it ends any scalar, so
// splitting there matches what a YAML parser does. Leading comments and directives stay with the next
// document.
std::vector<Chunk> split_documents(std::string_view text) {
  std::vector<Chunk> chunks;
  std::size_t chunk_start = 0;
  int chunk_line = 0;
  bool content = false;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    end = end == std::string_view::npos ? text.size() : end + 1;
    std::string_view line = text.substr(pos, end - pos);
    bool marker = is_document_marker(line);
    if (marker && content) {
      chunks.push_back(Chunk{chunk_line, text.substr(chunk_start, pos - chunk_start)});
      chunk_start = pos;
      chunk_line = line_no;
      content = false;
    }
    content = content || has_content(line, marker ? 3 : 0);
    ++line_no;
    pos = end;
  }
  if (content) chunks.push_back(Chunk{chunk_line, text.substr(chunk_start)});
  return chunks;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

void ManifestReader::read_text(const std::string& text, const std::string& file) {
  file_ = file;
  Fields f(file, result_.errors, result_.warnings, text.size() / 2 + 1024);
  // One expansion budget for the whole file: many small alias bombs must not add up to a big one.
  const std::size_t file_budget = 1000000 + 4 * text.size();
  std::size_t node_budget = file_budget;
  const std::vector<Chunk> chunks = split_documents(text);
  seen_.reserve(seen_.size() + chunks.size());
  ParseAhead ahead(chunks, file_budget, ParseAhead::helpers_for(text.size()));
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    ParseAhead::Parsed parsed = ahead.take(i);
    // Parsed ahead under the whole file's budget: where that differs from what is left and could have
    // mattered (it failed, or spent more than is left), parse again under what is left, as a serial read.
    if ((parsed.problem || parsed.nodes > node_budget) && parsed.budget != node_budget) {
      parsed = ParseAhead::Parsed{};
      YamlLimits limits;
      limits.max_expanded_nodes = node_budget;
      parsed.problem = parse_yaml(chunks[i].text, parsed.docs, chunks[i].first_line, limits, &parsed.nodes);
    }
    if (const auto& problem = parsed.problem) {
      int line = std::max(problem->line, chunks[i].first_line + 1);
      result_.errors.push_back(ManifestError{file, line, problem->reason});
      broken_yaml_ = true;
      if (problem->reason.rfind("invalid YAML", 0) != 0) return;  // a limit: the rest is no better
      continue;
    }
    node_budget -= std::min(parsed.nodes, node_budget - 1);
    f.set_line_offset(0);  // the documents carry the file's lines
    for (const Document& doc : parsed.docs)
      read_document(doc.root(), f, false);
  }
}

void ManifestReader::read_parsed(const Document& doc, const std::string& file) {
  file_ = file;
  Fields f(file, result_.errors, result_.warnings, 4 * doc.node_count() + 1024);
  read_document(doc.root(), f, false);
}

void ManifestReader::read_document(DocNode doc, Fields& f, bool in_list) {
  if (!doc.present()) return;  // an empty document ("---" twice, a trailing "---")
  f.set_context("");
  f.set_fallback_line(f.line_of(doc));
  if (!doc.is_map()) {
    f.error(doc, "a manifest must be a mapping with apiVersion and kind");
    return;
  }
  f.set_fallback_line(f.line_of(doc));
  std::optional<std::string> kind = f.need_str(doc, "kind", "kind");
  std::optional<std::string> api = f.need_str(doc, "apiVersion", "apiVersion");
  if (!kind || !api) return;

  // kubectl accepts "List" and the typed lists ("ServiceList", …) wrapping items.
  if (*kind == "List" || (ends_with(*kind, "List") && present(child(doc, "items")))) {
    if (in_list) {
      f.error(doc, "a " + *kind + " inside a list is not supported");
      return;
    }
    DocNode items = f.seq(doc, "items", "items");
    for (std::size_t i = 0; i < items.size(); ++i)
      read_document(items[i], f, true);
    return;
  }

  ObjectMeta m;
  if (*api == "v1" && *kind == "Namespace") {
    if (!read_meta(doc, f, *kind, false, NameRule::Dns1123Label, m)) return;
    if (claim(f, doc, "Namespace " + m.name)) namespaces_.insert(m.name);
  } else if (*api == "v1" && *kind == "Service") {
    if (read_meta(doc, f, *kind, true, NameRule::Dns1123Label, m)) read_service(doc, f, m);
  } else if (*api == "v1" && *kind == "Endpoints") {
    if (read_meta(doc, f, *kind, true, NameRule::Dns1123Label, m)) read_endpoints(doc, f, m);
  } else if (*api == "v1" && *kind == "Pod") {
    if (read_meta(doc, f, *kind, true, NameRule::Dns1123Subdomain, m)) read_pod(doc, f, m);
  } else if ((*api == "discovery.k8s.io/v1" || *api == "discovery.k8s.io/v1beta1") &&
             *kind == "EndpointSlice") {
    if (read_meta(doc, f, *kind, true, NameRule::Dns1123Subdomain, m)) read_endpoint_slice(doc, f, m);
  } else if (*api == kServiceImportApiVersion && *kind == "ServiceImport") {
    if (read_meta(doc, f, *kind, true, NameRule::Dns1123Label, m) &&
        claim(f, doc, "ServiceImport " + m.ns + "/" + m.name)) {
      ServiceImport imported;
      if (read_service_import(doc, f, m.ns, m.name, imported))
        result_.state.service_imports.push_back(std::move(imported));
    }
  } else if ((*api == "v1" && !is_core_v1_kind(*kind)) || (api->rfind("discovery.k8s.io/", 0) == 0)) {
    // A kind the core or discovery group does not have is a typo ("Servize"), not someone else's object.
    f.error(doc, "unknown kind " + *kind + " for apiVersion " + *api);
  } else {
    // Any other kind (Deployment, ConfigMap, a CRD, a Knative "Service") is not ours to read, but an
    // object placed in a namespace shows that the namespace exists.
    DocNode ns = child(child(doc, "metadata"), "namespace");
    if (ns.present() && ns.is_scalar() && is_dns1123_label(ns.str())) namespaces_.insert(ns.str());
  }
}

bool ManifestReader::is_core_v1_kind(const std::string& kind) {
  static const char* const kKinds[] = {"Binding",
                                       "ComponentStatus",
                                       "ConfigMap",
                                       "Endpoints",
                                       "Event",
                                       "LimitRange",
                                       "Namespace",
                                       "Node",
                                       "PersistentVolume",
                                       "PersistentVolumeClaim",
                                       "Pod",
                                       "PodTemplate",
                                       "ReplicationController",
                                       "ResourceQuota",
                                       "Secret",
                                       "Service",
                                       "ServiceAccount"};
  for (const char* k : kKinds) {
    if (kind == k) return true;
  }
  return false;
}

bool ManifestReader::read_meta(DocNode doc, Fields& f, const std::string& kind, bool namespaced,
                               NameRule rule, ObjectMeta& out) {
  f.set_context(kind + ": ");
  std::size_t before = f.error_count();
  DocNode meta = f.map(doc, "metadata", "metadata");
  if (!meta.defined()) {
    if (f.error_count() == before) f.error(doc, "metadata is required");
    return false;
  }
  std::optional<std::string> name = f.need_str(meta, "name", "metadata.name");
  if (!name) return false;
  out.name = *name;
  if (namespaced) {
    out.ns = f.str(meta, "namespace", "metadata.namespace").value_or("");
    if (out.ns.empty()) out.ns = "default";
  }
  f.set_context(kind + " " + (namespaced ? out.ns + "/" : "") + out.name + ": ");
  if (namespaced && !is_dns1123_label(out.ns)) {
    f.error(child(meta, "namespace"), "metadata.namespace '" + out.ns + "' is not a valid namespace name");
  }
  bool valid = rule == NameRule::Dns1123Label   ? is_dns1123_label(out.name)
               : rule == NameRule::Dns1035Label ? is_dns1035_label(out.name)
                                                : is_dns1123_subdomain(out.name);
  if (!valid) {
    const char* what = rule == NameRule::Dns1123Label   ? "a DNS-1123 label"
                       : rule == NameRule::Dns1035Label ? "a DNS-1035 label"
                                                        : "a DNS-1123 subdomain";
    f.error(child(meta, "name"), std::string("metadata.name '") + out.name + "' is not " + what +
                                     " (lowercase letters, digits and '-', at most 63 characters)");
  }
  out.labels = f.string_map(meta, "labels", "metadata.labels");
  out.annotations = f.string_map(meta, "annotations", "metadata.annotations");
  out.deleting = present(child(meta, "deletionTimestamp"));
  if (f.error_count() != before) return false;
  if (namespaced) namespaces_.insert(out.ns);
  return true;
}

bool ManifestReader::claim(Fields& f, DocNode at, const std::string& key) {
  if (files_.empty() || files_.back() != file_) files_.push_back(file_);
  const Position here{static_cast<uint32_t>(files_.size() - 1), f.line_of(at)};
  auto [it, inserted] = seen_.emplace(key, here);
  if (!inserted) {
    f.error(at, "defined twice (first at " + files_[it->second.text] + ":" + std::to_string(it->second.line) +
                    ")");
  }
  return inserted;
}

// EndpointSlices are the source of truth (CoreDNS reads only them): legacy Endpoints of a service count
// only where no slice of it exists. `add` may append to `slices`: they are all read before it is called.
template <typename Slices, typename Add>
static void add_unshadowed(std::vector<EndpointSet>& legacy, const Slices& slices, Add add) {
  if (legacy.empty()) return;
  std::set<std::string> sliced;
  for (const EndpointSet& set : slices)
    sliced.insert(set.ns + "/" + set.service_name);
  for (EndpointSet& set : legacy) {
    if (!sliced.count(set.ns + "/" + set.service_name)) add(std::move(set));
  }
  legacy.clear();
}

ParsedObjects ManifestReader::take_objects() {
  ParsedObjects out;
  out.namespaces.assign(namespaces_.begin(), namespaces_.end());
  out.services = std::move(services_);
  out.endpoint_sets = std::move(endpoint_sets_);
  out.pods = std::move(pods_);
  add_unshadowed(legacy_sets_, out.endpoint_sets,
                 [&out](EndpointSet&& set) { out.endpoint_sets.push_back(std::move(set)); });
  for (const ServiceImport& import : result_.state.service_imports)  // rare: copied
    out.service_imports.push_back(import);
  out.errors = std::move(result_.errors);
  out.warnings = std::move(result_.warnings);
  services_.clear();
  endpoint_sets_.clear();
  pods_.clear();
  return out;
}

ParseResult ManifestReader::finish() {
  RegistryState& st = result_.state;
  st.namespaces.assign(namespaces_.begin(), namespaces_.end());
  st.services = ObjectTable<Service>::from(std::move(services_));
  st.endpoint_sets = ObjectTable<EndpointSet>::from(std::move(endpoint_sets_));
  st.pods = ObjectTable<Pod>::from(std::move(pods_));
  services_.clear();
  endpoint_sets_.clear();
  pods_.clear();
  // A cluster dump holds both the EndpointSlices and the legacy Endpoints mirror of each service.
  add_unshadowed(legacy_sets_, st.endpoint_sets,
                 [&st](EndpointSet&& set) { st.endpoint_sets.push_back(std::move(set)); });
  return std::move(result_);
}

}  // namespace clusterdns::discovery::objects
