// The /test/* control API: change state and inject faults while clients watch.
#include <httplib.h>

#include "tests/k8s_api/api_server.hpp"

namespace clusterdns::k8s_api {

namespace {

json body_of(const httplib::Request& req) {
  if (req.body.empty()) return json::object();
  return json::parse(req.body, nullptr, false);
}

}  // namespace

json realistic_service(const std::string& ns, const std::string& name, int i) {
  // What a Service looks like when read back from a real cluster: kubectl's last-applied annotation,
  // managedFields, defaulted spec fields and status. About 2 KiB of JSON.
  json ports = {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}, {"targetPort", 8080}},
                {{"name", "metrics"}, {"port", 9090}, {"protocol", "TCP"}, {"targetPort", "metrics"}}};
  json applied = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata",
                   {{"name", name},
                    {"namespace", ns},
                    {"labels", {{"app", name}, {"team", "t" + std::to_string(i % 50)}}}}},
                  {"spec", {{"selector", {{"app", name}}}, {"ports", ports}}}};
  json managed = {
      {{"manager", "kubectl-client-side-apply"},
       {"operation", "Update"},
       {"apiVersion", "v1"},
       {"time", "2024-05-01T10:00:00Z"},
       {"fieldsType", "FieldsV1"},
       {"fieldsV1",
        {{"f:metadata",
          {{"f:annotations",
            {{".", json::object()}, {"f:kubectl.kubernetes.io/last-applied-configuration", json::object()}}},
           {"f:labels", {{".", json::object()}, {"f:app", json::object()}, {"f:team", json::object()}}}}},
         {"f:spec",
          {{"f:internalTrafficPolicy", json::object()},
           {"f:ports",
            {{".", json::object()},
             {"k:{\"port\":80,\"protocol\":\"TCP\"}",
              {{".", json::object()}, {"f:name", json::object()}, {"f:port", json::object()}}},
             {"k:{\"port\":9090,\"protocol\":\"TCP\"}",
              {{".", json::object()}, {"f:name", json::object()}, {"f:port", json::object()}}}}},
           {"f:selector", json::object()},
           {"f:sessionAffinity", json::object()},
           {"f:type", json::object()}}}}}}};
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels", {{"app", name}, {"team", "t" + std::to_string(i % 50)}}},
            {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", applied.dump() + "\n"}}},
            {"managedFields", managed}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"selector", {{"app", name}}},
            {"ports", ports},
            {"sessionAffinity", "None"},
            {"ipFamilies", {"IPv4"}},
            {"ipFamilyPolicy", "SingleStack"},
            {"internalTrafficPolicy", "Cluster"}}},
          {"status", {{"loadBalancer", json::object()}}}};
}

json TestApiServer::stats() const {
  auto lock = store_.lock();
  return {{"lists", control_.lists},
          {"watches", control_.watches},
          {"activeWatches", control_.active_watches},
          {"unauthorized", control_.unauthorized},
          {"crds", control_.crds},
          {"resourceVersion", std::to_string(store_.rv_locked())},
          {"compacted", std::to_string(store_.compacted_locked())}};
}

void TestApiServer::handle_control(const httplib::Request& req, httplib::Response& res) {
  const std::string what = req.matches[1];
  json body = body_of(req);
  if (!body.is_object()) {
    send_json(res, 400, status_object(400, "BadRequest", "the body must be a JSON object"));
    return;
  }
  if (what == "crd") {
    // {"name": "serviceimports.multicluster.x-k8s.io", "installed": true|false}: the CustomResourceDefinition
    // created or deleted. Deleting it deletes its objects first (DELETED events), then the resource's
    // watches end and its paths answer 404, as kube-apiserver's apiextensions server does.
    const std::string name = body.value("name", "");
    const ResourceType* type = nullptr;
    for (const ResourceType& t : resource_types()) {
      if (t.custom && crd_name(t) == name) type = &t;
    }
    if (type == nullptr) {
      send_json(res, 404, status_object(404, "NotFound", "no custom resource " + name));
      return;
    }
    const bool installed = body.value("installed", true);
    if (!installed) store_.remove_all(*type);
    {
      auto lock = store_.lock();
      if (installed) {
        control_.crds.insert(name);
      } else {
        control_.crds.erase(name);
      }
    }
    store_.cv().notify_all();
    send_json(res, 200, {{"ok", true}});
    return;
  }
  if (what == "apply" || what == "delete") {
    // An object of a custom resource whose definition is not installed: no such kind, as kubectl says.
    const json& first = body.value("kind", "") == "List" && body.contains("items") &&
                                body["items"].is_array() && !body["items"].empty()
                            ? body["items"][0]
                            : body;
    const ResourceType* type =
        first.is_object() ? find_kind(first.value("apiVersion", ""), first.value("kind", "")) : nullptr;
    bool served = true;
    if (type != nullptr) {
      auto lock = store_.lock();
      served = control_.served(*type);
    }
    if (!served) {
      send_json(res, 404,
                status_object(404, "NotFound",
                              "no matches for kind \"" + type->kind + "\" in version \"" + type->api_version +
                                  "\" (its CRD is not installed)"));
      return;
    }
  }
  if (what == "apply") {
    if (body.value("kind", "") == "List" && body.contains("items") && body["items"].is_array()) {
      std::size_t applied = 0;
      for (json& item : body["items"]) {
        ApiStore::Result r = store_.apply(std::move(item));
        if (r.status >= 300) {
          send_json(res, r.status, r.body);
          return;
        }
        ++applied;
      }
      send_json(res, 200, {{"applied", applied}, {"resourceVersion", std::to_string(store_.rv())}});
      return;
    }
    ApiStore::Result r = store_.apply(std::move(body));
    send_json(res, r.status, r.body);
    return;
  }
  if (what == "delete") {
    std::string kind = body.value("kind", "");
    std::string api = body.value("apiVersion", kind == "EndpointSlice"   ? "discovery.k8s.io/v1"
                                               : kind == "ServiceImport" ? "multicluster.x-k8s.io/v1alpha1"
                                                                         : "v1");
    const ResourceType* type = find_kind(api, kind);
    json meta = body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : body;
    std::string name = meta.value("name", "");
    std::string ns = meta.value("namespace", "");
    if (type == nullptr || name.empty()) {
      send_json(res, 400, status_object(400, "BadRequest", "delete needs kind, name (and namespace)"));
      return;
    }
    if (type->namespaced && ns.empty()) ns = "default";
    ApiStore::Result r = store_.remove(*type, type->namespaced ? ns : "", name);
    send_json(res, r.status, r.body);
    return;
  }
  if (what == "generate") {
    // Bulk objects made here, so a test process measuring its own memory never holds them.
    int count = body.value("count", 0);
    std::string ns = body.value("namespace", "bulk");
    std::string prefix = body.value("prefix", "svc-");
    for (int i = 0; i < count; ++i) {
      ApiStore::Result r = store_.apply(realistic_service(ns, prefix + std::to_string(i), i));
      if (r.status >= 300) {
        send_json(res, r.status, r.body);
        return;
      }
    }
    send_json(res, 200, {{"generated", count}, {"resourceVersion", std::to_string(store_.rv())}});
    return;
  }
  if (what == "compact") {
    store_.compact();
    send_json(res, 200, {{"compacted", std::to_string(store_.compacted())}});
    return;
  }
  {
    auto lock = store_.lock();
    if (what == "cut-streams") {
      control_.cut_mode = body.value("mode", "abort");
      ++control_.cut_generation;
    } else if (what == "bookmark") {
      ++control_.bookmark_generation;
    } else if (what == "expire-token") {
      // Bound tokens expire: the old one is refused from now on, only the new one is accepted.
      control_.tokens.clear();
      if (std::string t = body.value("newToken", ""); !t.empty()) control_.tokens.insert(t);
      control_.require_auth = true;
    } else if (what == "hold") {
      control_.hold = body.value("hold", true);
    } else if (what == "slow") {
      control_.split_bytes = body.value("splitBytes", 0);
      control_.piece_delay_ms = body.value("pieceDelayMs", 0);
      control_.response_delay_ms = body.value("responseDelayMs", 0);
    } else if (what == "fail") {
      control_.fail_status = body.value("status", 500);
      control_.fail_count = body.value("count", 1);
      control_.fail_retry_after = body.value("retryAfter", 0);
      control_.fail_verb = body.value("verb", "");
    } else if (what == "config") {
      if (body.contains("token")) {
        control_.tokens = {body["token"].get<std::string>()};
        control_.require_auth = !body["token"].get<std::string>().empty();
      }
      control_.gone_mode = body.value("goneMode", control_.gone_mode);
      control_.ignore_limit = body.value("ignoreLimit", control_.ignore_limit);
      control_.bookmark_interval_ms = body.value("bookmarkIntervalMs", control_.bookmark_interval_ms);
    } else {
      send_json(res, 404, status_object(404, "NotFound", "no control endpoint /test/" + what));
      return;
    }
  }
  store_.cv().notify_all();
  send_json(res, 200, {{"ok", true}});
}

}  // namespace clusterdns::k8s_api
