// Slimming API objects: copy the fields DNS needs into a small document and read it with the manifest rules.
#include "discovery/k8s/objects.hpp"

#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "discovery/objects/json_document.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/service_import.hpp"

namespace clusterdns::discovery::k8s {

namespace {

using nlohmann::json;

// How a picked field is copied. Map: the listed members of an object (an empty object when the value is
// none: the rule then reads "not set"). Each: a list whose object items keep the listed members (other
// items stay, so that the reader reports them). Ready: a list of the conditions of type "Ready" only.
enum class Take { Copy, Map, Each, Ready };

struct Pick {
  std::string_view key;
  Take take = Take::Copy;
  std::span<const Pick> sub = {};
  bool always = false;  // written (as an empty object) even when the object lacks it
};

void put_picked(DocumentBuilder& b, DocNode from, std::span<const Pick> picks);

void put_value(DocumentBuilder& b, DocNode v, const Pick& p) {
  switch (p.take) {
    case Take::Copy:
      copy_document_node(v, b);
      return;
    case Take::Map:
      put_picked(b, v, p.sub);
      return;
    case Take::Each:
    case Take::Ready:
      if (!v.is_list()) break;
      b.begin_list(v.line());
      for (std::size_t i = 0; i < v.size(); ++i) {
        DocNode item = v[i];
        if (p.take == Take::Ready) {
          DocNode type = item.get("type");
          if (type.is_scalar() && !type.plain() && type.scalar() == "Ready") put_picked(b, item, p.sub);
        } else if (item.is_map()) {
          put_picked(b, item, p.sub);
        } else {
          copy_document_node(item, b);
        }
      }
      b.end();
      return;
  }
  copy_document_node(v, b);
}

// A new object holding the listed members of `from` (none when it is not an object).
void put_picked(DocumentBuilder& b, DocNode from, std::span<const Pick> picks) {
  b.begin_map(1);
  for (const Pick& p : picks) {
    DocNode v = from.is_map() ? from.get(p.key) : DocNode();
    if (!v.defined() && !p.always) continue;
    b.scalar(p.key, false, 1);
    put_value(b, v, p);
  }
  b.end();
}

constexpr Pick kTolerate[] = {{"service.alpha.kubernetes.io/tolerate-unready-endpoints"}};
constexpr Pick kServicePorts[] = {{"name"}, {"port"}, {"protocol"}, {"targetPort"}};
constexpr Pick kServiceMeta[] = {{"name"}, {"namespace"}, {"annotations", Take::Map, kTolerate}};
constexpr Pick kServiceSpec[] = {{"type"},
                                 {"clusterIP"},
                                 {"clusterIPs"},
                                 {"externalName"},
                                 {"ports", Take::Each, kServicePorts},
                                 {"publishNotReadyAddresses"},
                                 {"selector"},
                                 {"externalIPs"}};
constexpr Pick kService[] = {{"metadata", Take::Map, kServiceMeta, true},
                             {"spec", Take::Map, kServiceSpec, true}};
// The external zone's addresses: status.loadBalancer.ingress[].ip/hostname (ports and ipMode dropped).
constexpr Pick kIngress[] = {{"ip"}, {"hostname"}};
constexpr Pick kLoadBalancer[] = {{"ingress", Take::Each, kIngress}};

constexpr Pick kSliceLabels[] = {{"kubernetes.io/service-name"},
                                 {"multicluster.kubernetes.io/service-name"},
                                 {"multicluster.kubernetes.io/source-cluster"}};
constexpr Pick kSliceAnnotations[] = {{"endpoints.kubernetes.io/last-change-trigger-time"}};
constexpr Pick kSliceMeta[] = {{"name"},
                               {"namespace"},
                               {"labels", Take::Map, kSliceLabels},
                               {"annotations", Take::Map, kSliceAnnotations}};
constexpr Pick kReady[] = {{"ready"}};
constexpr Pick kTargetRef[] = {{"kind"}, {"name"}};
constexpr Pick kSliceEndpoint[] = {
    {"addresses"}, {"conditions", Take::Map, kReady}, {"hostname"}, {"targetRef", Take::Map, kTargetRef}};
constexpr Pick kSlicePorts[] = {{"name"}, {"port"}, {"protocol"}};
constexpr Pick kSlice[] = {{"metadata", Take::Map, kSliceMeta, true},
                           {"addressType"},
                           {"endpoints", Take::Each, kSliceEndpoint},
                           {"ports", Take::Each, kSlicePorts}};

constexpr Pick kPodMeta[] = {{"name"}, {"namespace"}, {"labels"}, {"deletionTimestamp"}};
constexpr Pick kContainerPorts[] = {{"name"}, {"containerPort"}, {"protocol"}};
constexpr Pick kContainer[] = {{"ports", Take::Each, kContainerPorts}};
constexpr Pick kPodSpec[] = {
    {"hostname"}, {"subdomain"}, {"enableServiceLinks"}, {"containers", Take::Each, kContainer}};
constexpr Pick kCondition[] = {{"type"}, {"status"}};
constexpr Pick kPodStatus[] = {{"podIP"}, {"podIPs"}, {"phase"}, {"conditions", Take::Ready, kCondition}};
constexpr Pick kPod[] = {{"metadata", Take::Map, kPodMeta, true},
                         {"spec", Take::Map, kPodSpec, true},
                         {"status", Take::Map, kPodStatus}};

constexpr Pick kNamespaceMeta[] = {{"name"}};
constexpr Pick kNamespace[] = {{"metadata", Take::Map, kNamespaceMeta, true}};

// spec.type, spec.ips and spec.ports[].name/port/protocol: what the MCS API DNS specification answers from
// (sessionAffinity, appProtocol and status.clusters are no DNS rule's business).
constexpr Pick kImportMeta[] = {{"name"}, {"namespace"}};
constexpr Pick kImportPorts[] = {{"name"}, {"port"}, {"protocol"}};
constexpr Pick kImportSpec[] = {{"type"}, {"ips"}, {"ports", Take::Each, kImportPorts}};
constexpr Pick kServiceImport[] = {{"metadata", Take::Map, kImportMeta, true},
                                   {"spec", Take::Map, kImportSpec, true}};

std::span<const Pick> picks_of(Kind kind) {
  switch (kind) {
    case Kind::Namespace:
      return kNamespace;
    case Kind::Service:
      return kService;
    case Kind::EndpointSlice:
      return kSlice;
    case Kind::Pod:
      return kPod;
    case Kind::ServiceImport:
      return kServiceImport;
  }
  return {};
}

// The slim document: the picked members, status.loadBalancer of a Service when it has ingress, then the
// kind and apiVersion of the collection it was read from.
Document slim_document(Kind kind, DocNode object) {
  DocumentBuilder b;
  b.begin_map(1);
  for (const Pick& p : picks_of(kind)) {
    DocNode v = object.is_map() ? object.get(p.key) : DocNode();
    if (!v.defined() && !p.always) continue;
    b.scalar(p.key, false, 1);
    put_value(b, v, p);
  }
  if (kind == Kind::Service) {
    DocNode lb = object.get("status").get("loadBalancer");
    if (lb.get("ingress").defined()) {
      b.scalar("status", false, 1);
      b.begin_map(1);
      b.scalar("loadBalancer", false, 1);
      put_picked(b, lb, kLoadBalancer);
      b.end();
    }
  }
  b.scalar("apiVersion", false, 1);
  b.scalar(api_version(kind), false, 1);
  b.scalar("kind", false, 1);
  b.scalar(kind_name(kind), false, 1);
  b.end();
  return b.finish();
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

std::string object_key(Kind kind, DocNode object) {
  auto text = [](DocNode v) { return v.is_scalar() && !v.plain() ? v.scalar() : std::string_view(); };
  DocNode meta = object.get("metadata");
  const std::string_view name = text(meta.get("name"));
  if (!meta.is_map() || name.empty()) return "";
  if (kind == Kind::Namespace) return std::string(name);
  std::string_view ns = text(meta.get("namespace"));
  return std::string(ns.empty() ? "default" : ns) + "/" + std::string(name);
}

std::string resource_version(DocNode object) {
  DocNode rv = object.get("metadata").get("resourceVersion");
  return rv.is_scalar() && !rv.plain() ? rv.str() : "";
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

SlimResult slim_object(Kind kind, const nlohmann::json& object) {
  std::string error;
  std::optional<Document> doc = document_from_json(object, error);
  if (!doc) {
    SlimResult result;
    result.key = object_key(kind, object);
    result.error = error;
    return result;
  }
  return slim_object(kind, doc->root());
}

SlimResult slim_object(Kind kind, DocNode object) {
  SlimResult result;
  result.key = object_key(kind, object);
  if (result.key.empty()) {
    result.error = "metadata.name is missing";
    return result;
  }
  Document tree = slim_document(kind, object);
  // The slim document read by the manifest rules; one object, so every position is line 1.
  const std::string label = std::string(kind_name(kind)) + " " + result.key;
  ParsedObjects parsed = parse_object_document(tree, label);
  if (!parsed.errors.empty()) {
    result.error = join_reasons(parsed.errors, label + ": ");
    return result;
  }
  result.note = join_reasons(parsed.warnings, label + ": ");
  switch (kind) {
    case Kind::Namespace:
      if (!parsed.namespaces.empty()) result.object = Slim(std::move(parsed.namespaces.front()));
      break;
    case Kind::Service:
      if (!parsed.services.empty()) result.object = Slim(std::move(parsed.services.front()));
      break;
    case Kind::EndpointSlice:
      if (!parsed.endpoint_sets.empty()) result.object = Slim(std::move(parsed.endpoint_sets.front()));
      break;
    case Kind::Pod:
      if (!parsed.pods.empty()) result.object = Slim(std::move(parsed.pods.front()));
      break;
    case Kind::ServiceImport:
      if (!parsed.service_imports.empty()) result.object = Slim(std::move(parsed.service_imports.front()));
      break;
  }
  return result;
}

}  // namespace clusterdns::discovery::k8s
