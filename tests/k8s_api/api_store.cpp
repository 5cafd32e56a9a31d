// ApiStore: apply/delete/list with resourceVersions, the event log watches read, compaction.
#include "tests/k8s_api/api_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace clusterdns::k8s_api {

namespace {

constexpr std::size_t kMaxLog = 200000;  // older events are compacted away, like etcd's history window

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string key_of(const ResourceType& type, const std::string& ns, const std::string& name) {
  return type.namespaced ? ns + "/" + name : name;
}

}  // namespace

const std::vector<ResourceType>& resource_types() {
  static const std::vector<ResourceType> types = {
      {"/api/v1", "namespaces", "namespace", "Namespace", "v1", false, {"ns"}},
      {"/api/v1", "services", "service", "Service", "v1", true, {"svc"}},
      {"/api/v1", "pods", "pod", "Pod", "v1", true, {"po"}},
      {"/api/v1", "endpoints", "endpoints", "Endpoints", "v1", true, {"ep"}},
      {"/apis/discovery.k8s.io/v1",
       "endpointslices",
       "endpointslice",
       "EndpointSlice",
       "discovery.k8s.io/v1",
       true,
       {}},
      // The Multi-Cluster Services API's ServiceImport, as kubernetes-sigs/mcs-api's CustomResourceDefinition
      // (config/crd-base/multicluster.x-k8s.io_serviceimports.yaml) declares it.
      {"/apis/multicluster.x-k8s.io/v1alpha1",
       "serviceimports",
       "serviceimport",
       "ServiceImport",
       "multicluster.x-k8s.io/v1alpha1",
       true,
       {"svcim", "svcimport"},
       true,
       {"multicluster"}},
  };
  return types;
}

std::string group_of(const ResourceType& type) {
  if (type.group_path.rfind("/apis/", 0) != 0) return "";
  std::string rest = type.group_path.substr(6);
  return rest.substr(0, rest.find('/'));
}

std::string version_of(const ResourceType& type) {
  return type.group_path.substr(type.group_path.rfind('/') + 1);
}

const ResourceType* find_resource(const std::string& group_path, const std::string& plural) {
  for (const ResourceType& t : resource_types()) {
    if (t.group_path == group_path && t.plural == plural) return &t;
  }
  return nullptr;
}

const ResourceType* find_kind(const std::string& api_version, const std::string& kind) {
  for (const ResourceType& t : resource_types()) {
    if (t.api_version == api_version && t.kind == kind) return &t;
  }
  return nullptr;
}

json status_object(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
              {"status", "Failure"}, {"message", message}, {"reason", reason},
              {"code", code}};
}

ApiStore::ApiStore() {
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"})
    apply(json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
}

ApiStore::Result ApiStore::apply(json object, bool create_only, bool update_only) {
  Result r;
  {
    std::lock_guard lock(mutex_);
    r = apply_locked(std::move(object), create_only, update_only);
  }
  cv_.notify_all();
  return r;
}

std::string ApiStore::allocate_cluster_ip() {
  uint32_t n = next_ip_++;
  return "10.96." + std::to_string((n / 250) % 256) + "." + std::to_string(n % 250 + 1);
}

ApiStore::Result ApiStore::apply_locked(json object, bool create_only, bool update_only) {
  if (!object.is_object()) return {400, status_object(400, "BadRequest", "the object must be a JSON object")};
  std::string api = object.value("apiVersion", "");
  std::string kind = object.value("kind", "");
  const ResourceType* type = find_kind(api, kind);
  if (type == nullptr) return {400, status_object(400, "BadRequest", "no kind \"" + kind + "\" in " + api)};
  json& meta = object["metadata"];
  if (!meta.is_object() || !meta.contains("name") || !meta["name"].is_string() ||
      meta["name"].get<std::string>().empty()) {
    return {422, status_object(422, "Invalid", kind + ": metadata.name: Required value")};
  }
  std::string name = meta["name"];
  std::string ns;
  if (type->namespaced) {
    ns = meta.value("namespace", "");
    if (ns.empty()) ns = "default";
    meta["namespace"] = ns;
    if (!objects_["namespaces"].count(ns)) {
      apply_locked(json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}, false,
                   false);
    }
  } else {
    meta.erase("namespace");
  }
  auto& bucket = objects_[type->plural];
  std::string key = key_of(*type, ns, name);
  auto it = bucket.find(key);
  if (create_only && it != bucket.end()) {
    return {409, status_object(409, "AlreadyExists", type->plural + " \"" + name + "\" already exists")};
  }
  if (update_only && it == bucket.end()) {
    return {404, status_object(404, "NotFound", type->plural + " \"" + name + "\" not found")};
  }
  if (it != bucket.end()) {
    const json& old = (*it->second)["metadata"];
    meta["uid"] = old.value("uid", "");
    meta["creationTimestamp"] = old.value("creationTimestamp", now_rfc3339());
  } else {
    char uid[40];
    std::snprintf(uid, sizeof uid, "00000000-0000-4000-8000-%012llu",
                  static_cast<unsigned long long>(++uid_counter_));
    meta["uid"] = uid;
    meta["creationTimestamp"] = now_rfc3339();
  }
  if (type->kind == "Service") {
    json& spec = object["spec"];
    if (!spec.is_object()) spec = json::object();
    std::string svc_type = spec.value("type", "ClusterIP");
    spec["type"] = svc_type;
    if (svc_type != "ExternalName" && (!spec.contains("clusterIP") || spec["clusterIP"] == "")) {
      std::string ip = it != bucket.end() ? (*it->second)["spec"].value("clusterIP", "") : "";
      spec["clusterIP"] = ip.empty() ? allocate_cluster_ip() : ip;
    }
    if (spec.contains("clusterIP") && !spec.contains("clusterIPs"))
      spec["clusterIPs"] = json::array({spec["clusterIP"]});
    if (spec.contains("ports") && spec["ports"].is_array()) {
      for (json& p : spec["ports"]) {
        if (!p.is_object()) continue;
        if (!p.contains("protocol")) p["protocol"] = "TCP";
        if (!p.contains("targetPort") && p.contains("port")) p["targetPort"] = p["port"];
      }
    }
  }
  ++rv_;
  meta["resourceVersion"] = std::to_string(rv_);
  auto stored = std::make_shared<const json>(std::move(object));
  std::string type_name = it == bucket.end() ? "ADDED" : "MODIFIED";
  bucket[key] = stored;
  log_.push_back(Event{rv_, type->plural, ns, type_name, stored});
  if (log_.size() > kMaxLog) {
    compacted_ = log_.front().rv;
    log_.pop_front();
  }
  return {it == bucket.end() ? 201 : 200, *stored};
}

ApiStore::Result ApiStore::remove(const ResourceType& type, const std::string& ns, const std::string& name) {
  Result r;
  {
    std::lock_guard lock(mutex_);
    auto& bucket = objects_[type.plural];
    auto it = bucket.find(key_of(type, ns, name));
    if (it == bucket.end()) {
      return {404, status_object(404, "NotFound", type.plural + " \"" + name + "\" not found")};
    }
    if (type.kind == "Namespace") {
      // Namespace deletion empties the namespace first (the namespace controller's job).
      for (auto& [plural, objs] : objects_) {
        for (auto o = objs.begin(); o != objs.end();) {
          const json& meta = (*o->second)["metadata"];
          if (plural != "namespaces" && meta.value("namespace", "") == name) {
            record(plural, name, "DELETED", *o->second);
            o = objs.erase(o);
          } else {
            ++o;
          }
        }
      }
    }
    json last = *it->second;
    bucket.erase(it);
    record(type.plural, ns, "DELETED", last);
    r = {200, log_.back().object ? *log_.back().object : json()};
  }
  cv_.notify_all();
  return r;
}

void ApiStore::remove_all(const ResourceType& type) {
  {
    std::lock_guard lock(mutex_);
    auto& bucket = objects_[type.plural];
    for (const auto& [key, object] : bucket) {
      const json& meta = (*object)["metadata"];
      record(type.plural, meta.value("namespace", ""), "DELETED", *object);
    }
    bucket.clear();
  }
  cv_.notify_all();
}

void ApiStore::record(const std::string& plural, const std::string& ns, const std::string& type,
                      const json& object) {
  ++rv_;
  json copy = object;
  copy["metadata"]["resourceVersion"] = std::to_string(rv_);  // a deletion has its own resourceVersion
  log_.push_back(Event{rv_, plural, ns, type, std::make_shared<const json>(std::move(copy))});
}

ApiStore::Result ApiStore::get(const ResourceType& type, const std::string& ns,
                               const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto b = objects_.find(type.plural);
  if (b != objects_.end()) {
    auto it = b->second.find(key_of(type, ns, name));
    if (it != b->second.end()) return {200, *it->second};
  }
  return {404, status_object(404, "NotFound", type.plural + " \"" + name + "\" not found")};
}

ApiStore::Page ApiStore::list(const ResourceType& type, const std::string& ns, const LabelSelector& labels,
                              const FieldSelector& fields, const std::string& start_key,
                              std::size_t limit) const {
  Page page;
  std::lock_guard lock(mutex_);
  page.rv = rv_;
  auto b = objects_.find(type.plural);
  if (b == objects_.end()) return page;
  for (auto it = b->second.lower_bound(start_key); it != b->second.end(); ++it) {
    const json& obj = *it->second;
    if (!ns.empty() && obj["metadata"].value("namespace", "") != ns) continue;
    if (!labels.matches(obj) || !fields.matches(obj)) continue;
    if (!page.next_key.empty()) {
      // Counted for remainingItemCount, which is only sent for a list without selectors: with one, stop.
      if (!labels.requirements.empty() || !fields.terms.empty()) break;
      ++page.remaining;
      continue;
    }
    if (limit > 0 && page.items.size() == limit) {
      page.next_key = it->first;
      if (ns.empty() && labels.requirements.empty() && fields.terms.empty()) {
        if (sorted_rv_ != rv_) sorted_keys_.clear(), sorted_rv_ = rv_;
        std::vector<std::string>& keys = sorted_keys_[type.plural];
        if (keys.empty()) {
          keys.reserve(b->second.size());
          for (const auto& entry : b->second)
            keys.push_back(entry.first);
        }
        page.remaining =
            static_cast<std::size_t>(keys.end() - std::lower_bound(keys.begin(), keys.end(), it->first));
        break;
      }
      ++page.remaining;
      continue;
    }
    json item = obj;
    item.erase("kind");  // list items carry no TypeMeta on the wire
    item.erase("apiVersion");
    page.items.push_back(std::move(item));
  }
  return page;
}

void ApiStore::events_after(int64_t rv, const std::string& plural, std::vector<Event>& out) const {
  auto first =
      std::upper_bound(log_.begin(), log_.end(), rv, [](int64_t v, const Event& e) { return v < e.rv; });
  for (auto it = first; it != log_.end(); ++it) {
    if (it->plural == plural) out.push_back(*it);
  }
}

std::vector<std::shared_ptr<const json>> ApiStore::current(const std::string& plural) const {
  std::vector<std::shared_ptr<const json>> out;
  auto b = objects_.find(plural);
  if (b == objects_.end()) return out;
  for (const auto& [key, obj] : b->second)
    out.push_back(obj);
  return out;
}

void ApiStore::compact() {
  std::lock_guard lock(mutex_);
  compacted_ = rv_;
  log_.clear();
}

int64_t ApiStore::rv() const {
  std::lock_guard lock(mutex_);
  return rv_;
}

int64_t ApiStore::compacted() const {
  std::lock_guard lock(mutex_);
  return compacted_;
}

}  // namespace clusterdns::k8s_api
