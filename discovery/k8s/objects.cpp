// Slimming API objects: copy the fields DNS needs into a small document and read it with the manifest rules.
#include "discovery/k8s/objects.hpp"

#include <initializer_list>

#include <nlohmann/json.hpp>

#include "discovery/objects/json_document.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/service_import.hpp"

namespace clusterdns::discovery::k8s {

namespace {

using nlohmann::json;

// The member `key` of `from` when `from` is an object holding it; else null.
json* member(json& from, const char* key) {
  if (!from.is_object()) return nullptr;
  auto it = from.find(key);
  return it == from.end() ? nullptr : &*it;
}

// A new object holding the listed members of `from`, moved out of it.
json pick(json* from, std::initializer_list<const char*> keys) {
  json out = json::object();
  if (from == nullptr || !from->is_object()) return out;
  for (const char* key : keys) {
    if (json* v = member(*from, key)) out[key] = std::move(*v);
  }
  return out;
}

// Applies pick() to every element of the array at from[key], keeping non-objects as they are so that
// the reader reports them ("expected a mapping").
void pick_each(json& parent, const char* key, std::initializer_list<const char*> keys) {
  json* list = member(parent, key);
  if (list == nullptr || !list->is_array()) return;
  for (json& item : *list) {
    if (item.is_object()) item = pick(&item, keys);
  }
}

json slim_metadata(json& object, std::initializer_list<const char*> keys) {
  return pick(member(object, "metadata"), keys);
}

json slim_service(json& object) {
  json meta = slim_metadata(object, {"name", "namespace", "annotations"});
  if (json* ann = member(meta, "annotations")) {
    *ann = pick(ann, {"service.alpha.kubernetes.io/tolerate-unready-endpoints"});
  }
  json spec = pick(member(object, "spec"), {"type", "clusterIP", "clusterIPs", "externalName", "ports",
                                            "publishNotReadyAddresses", "selector", "externalIPs"});
  pick_each(spec, "ports", {"name", "port", "protocol", "targetPort"});
  json out{{"metadata", std::move(meta)}, {"spec", std::move(spec)}};
  // The external zone's addresses: status.loadBalancer.ingress[].ip/hostname (ports and ipMode dropped).
  json* status = member(object, "status");
  json lb = pick(status ? member(*status, "loadBalancer") : nullptr, {"ingress"});
  pick_each(lb, "ingress", {"ip", "hostname"});
  if (!lb.empty()) out["status"] = json{{"loadBalancer", std::move(lb)}};
  return out;
}

json slim_slice(json& object) {
  json meta = slim_metadata(object, {"name", "namespace", "labels", "annotations"});
  if (json* labels = member(meta, "labels"))
    *labels = pick(labels, {"kubernetes.io/service-name", "multicluster.kubernetes.io/service-name",
                            "multicluster.kubernetes.io/source-cluster"});
  if (json* ann = member(meta, "annotations")) {
    *ann = pick(ann, {"endpoints.kubernetes.io/last-change-trigger-time"});
  }
  json out{{"metadata", std::move(meta)}};
  if (json* v = member(object, "addressType")) out["addressType"] = std::move(*v);
  if (json* v = member(object, "endpoints")) out["endpoints"] = std::move(*v);
  if (json* v = member(object, "ports")) out["ports"] = std::move(*v);
  pick_each(out, "endpoints", {"addresses", "conditions", "hostname", "targetRef"});
  if (json* eps = member(out, "endpoints"); eps != nullptr && eps->is_array()) {
    for (json& ep : *eps) {
      if (json* c = member(ep, "conditions")) *c = pick(c, {"ready"});
      if (json* r = member(ep, "targetRef")) *r = pick(r, {"kind", "name"});
    }
  }
  pick_each(out, "ports", {"name", "port", "protocol"});
  return out;
}

json slim_pod(json& object) {
  json meta = slim_metadata(object, {"name", "namespace", "labels", "deletionTimestamp"});
  json spec = pick(member(object, "spec"), {"hostname", "subdomain", "enableServiceLinks", "containers"});
  pick_each(spec, "containers", {"ports"});
  if (json* cs = member(spec, "containers"); cs != nullptr && cs->is_array()) {
    for (json& c : *cs)
      pick_each(c, "ports", {"name", "containerPort", "protocol"});
  }
  json out{{"metadata", std::move(meta)}, {"spec", std::move(spec)}};
  if (json* status = member(object, "status")) {
    json st = pick(status, {"podIP", "podIPs", "phase", "conditions"});
    if (json* conds = member(st, "conditions"); conds != nullptr && conds->is_array()) {
      json ready = json::array();
      for (json& c : *conds) {
        json* type = member(c, "type");
        if (type != nullptr && *type == "Ready") ready.push_back(pick(&c, {"type", "status"}));
      }
      *conds = std::move(ready);
    }
    out["status"] = std::move(st);
  }
  return out;
}

// spec.type, spec.ips and spec.ports[].name/port/protocol: what the MCS API DNS specification answers from
// (sessionAffinity, appProtocol and status.clusters are no DNS rule's business).
json slim_service_import(json& object) {
  json meta = slim_metadata(object, {"name", "namespace"});
  json spec = pick(member(object, "spec"), {"type", "ips", "ports"});
  pick_each(spec, "ports", {"name", "port", "protocol"});
  return json{{"metadata", std::move(meta)}, {"spec", std::move(spec)}};
}

// The reasons without the reader's "Kind ns/name: " prefix (the caller logs the key itself).
std::string join_reasons(const std::vector<ManifestError>& list, const std::string& prefix) {
  std::string out;
  for (const ManifestError& e : list) {
    if (!out.empty()) out += "; ";
    out += e.reason.compare(0, prefix.size(), prefix) == 0 ? e.reason.substr(prefix.size()) : e.reason;
  }
  return out;
}

}  // namespace

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::Namespace:
      return "Namespace";
    case Kind::Service:
      return "Service";
    case Kind::EndpointSlice:
      return "EndpointSlice";
    case Kind::Pod:
      return "Pod";
    case Kind::ServiceImport:
      return "ServiceImport";
  }
  return "?";
}

const char* api_version(Kind kind) {
  switch (kind) {
    case Kind::EndpointSlice:
      return "discovery.k8s.io/v1";
    case Kind::ServiceImport:
      return objects::kServiceImportApiVersion;
    default:
      return "v1";
  }
}

std::string object_key(Kind kind, const nlohmann::json& object) {
  if (!object.is_object()) return "";
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto name = meta->find("name");
  if (name == meta->end() || !name->is_string() || name->get_ref<const std::string&>().empty()) return "";
  if (kind == Kind::Namespace) return name->get<std::string>();
  std::string ns = "default";
  auto n = meta->find("namespace");
  if (n != meta->end() && n->is_string() && !n->get_ref<const std::string&>().empty())
    ns = n->get<std::string>();
  return ns + "/" + name->get<std::string>();
}

std::string resource_version(const nlohmann::json& object) {
  if (!object.is_object()) return "";
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto rv = meta->find("resourceVersion");
  return rv != meta->end() && rv->is_string() ? rv->get<std::string>() : "";
}

SlimResult slim_object(Kind kind, nlohmann::json& object) {
  SlimResult result;
  result.key = object_key(kind, object);
  if (result.key.empty()) {
    result.error = "metadata.name is missing";
    return result;
  }
  json doc;
  switch (kind) {
    case Kind::Namespace:
      doc = json{{"metadata", slim_metadata(object, {"name"})}};
      break;
    case Kind::Service:
      doc = slim_service(object);
      break;
    case Kind::EndpointSlice:
      doc = slim_slice(object);
      break;
    case Kind::Pod:
      doc = slim_pod(object);
      break;
    case Kind::ServiceImport:
      doc = slim_service_import(object);
      break;
  }
  doc["apiVersion"] = api_version(kind);
  doc["kind"] = kind_name(kind);
  // The slim tree read by the manifest rules; one object, so every position is line 1.
  const std::string label = std::string(kind_name(kind)) + " " + result.key;
  std::optional<Document> tree = document_from_json(doc, result.error);
  if (!tree) return result;
  ParseResult parsed = parse_manifest_document(*tree, label);
  if (!parsed.errors.empty()) {
    result.error = join_reasons(parsed.errors, label + ": ");
    return result;
  }
  result.note = join_reasons(parsed.warnings, label + ": ");
  RegistryState& st = parsed.state;
  switch (kind) {
    case Kind::Namespace:
      if (!st.namespaces.empty()) result.object = Slim(std::move(st.namespaces.front()));
      break;
    case Kind::Service:
      if (!st.services.empty()) result.object = Slim(std::move(st.services.front()));
      break;
    case Kind::EndpointSlice:
      if (!st.endpoint_sets.empty()) result.object = Slim(std::move(st.endpoint_sets.front()));
      break;
    case Kind::Pod:
      if (!st.pods.empty()) result.object = Slim(std::move(st.pods.front()));
      break;
    case Kind::ServiceImport:
      if (!st.service_imports.empty()) result.object = Slim(std::move(st.service_imports.front()));
      break;
  }
  return result;
}

}  // namespace clusterdns::discovery::k8s
