// TestApiServer: discovery documents, list with paging, object CRUD, authentication and fault injection.
#include "tests/k8s_api/api_server.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <httplib.h>

namespace clusterdns::k8s_api {

namespace {

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    std::size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    if (next > pos) out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

// Continue tokens are base64url without padding (Go's base64.RawURLEncoding), as the API server writes them.
std::string b64url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=')
    out.pop_back();
  for (char& c : out)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string unb64url(std::string in) {
  for (char& c : in)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  std::size_t pad = (4 - in.size() % 4) % 4;
  if (in.empty() || pad == 3) return "";
  in.append(pad, '=');
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return "";
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

json resource_list(const std::string& group_path, const std::string& group_version) {
  json resources = json::array();
  for (const ResourceType& t : resource_types()) {
    if (t.group_path != group_path) continue;
    resources.push_back({{"name", t.plural},
                         {"singularName", t.singular},
                         {"namespaced", t.namespaced},
                         {"kind", t.kind},
                         {"verbs", {"create", "delete", "get", "list", "update", "watch"}},
                         {"shortNames", t.short_names}});
    if (!t.categories.empty()) resources.back()["categories"] = t.categories;
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

}  // namespace

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

TestApiServer::TestApiServer(ServerConfig config) : config_(std::move(config)) {
  if (!config_.tls_cert.empty() && !config_.tls_key.empty()) {
    server_ =
        std::make_unique<httplib::SSLServer>(config_.tls_cert.c_str(), config_.tls_key.c_str(),
                                             config_.client_ca.empty() ? nullptr : config_.client_ca.c_str());
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  int threads = config_.threads;
  // Each open watch holds a pool thread for its whole life (cpp-httplib's thread pool): the default 8 would
  // stall.
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  server_->set_read_timeout(std::chrono::seconds(30));
  server_->set_write_timeout(std::chrono::seconds(10));
  server_->set_keep_alive_max_count(1000);
  {
    auto lock = store_.lock();
    control_.bookmark_interval_ms = config_.bookmark_interval_ms;
    control_.crds.insert(config_.crds.begin(), config_.crds.end());
    if (!config_.token.empty()) {
      control_.tokens.insert(config_.token);
      control_.require_auth = true;
    }
  }
  install_routes();
}

TestApiServer::~TestApiServer() {
  stop();
}

int TestApiServer::bind(const std::string& host, int port) {
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  return port_;
}

bool TestApiServer::listen() {
  return server_->listen_after_bind();
}

void TestApiServer::stop() {
  stopping_.store(true);
  {
    auto lock = store_.lock();
    ++control_.cut_generation;
    control_.cut_mode = "abort";
  }
  store_.cv().notify_all();
  if (server_) server_->stop();
}

void TestApiServer::install_routes() {
  auto api = [this](const httplib::Request& req, httplib::Response& res) { handle_api(req, res); };
  server_->Get(R"(/version/?)", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admit(req, res, "get")) return;
    send_json(res, 200,
              {{"major", "1"},
               {"minor", "30"},
               {"gitVersion", "v1.30.0-clusterdns-test"},
               {"gitCommit", "0000000000000000000000000000000000000000"},
               {"gitTreeState", "clean"},
               {"buildDate", "2024-01-01T00:00:00Z"},
               {"goVersion", "go1.22.0"},
               {"compiler", "gc"},
               {"platform", "linux/amd64"}});
  });
  for (const char* pattern : {R"(/api(/.*)?)", R"(/apis(/.*)?)"}) {
    server_->Get(pattern, api);
    server_->Post(pattern, api);
    server_->Put(pattern, api);
    server_->Delete(pattern, api);
  }
  server_->Get(R"(/test/stats)",
               [this](const httplib::Request&, httplib::Response& res) { send_json(res, 200, stats()); });
  server_->Post(R"(/test/([a-z-]+))",
                [this](const httplib::Request& req, httplib::Response& res) { handle_control(req, res); });
}

bool TestApiServer::admit(const httplib::Request& req, httplib::Response& res, const std::string& verb) {
  int delay_ms = 0;
  {
    auto lock = store_.lock();
    if (control_.require_auth) {
      std::string auth = req.get_header_value("Authorization");
      std::string token = auth.rfind("Bearer ", 0) == 0 ? auth.substr(7) : "";
      if (!control_.tokens.count(token)) {
        ++control_.unauthorized;
        send_json(res, 401, status_object(401, "Unauthorized", "Unauthorized"));
        return false;
      }
    }
    if (control_.fail_count > 0 && (control_.fail_verb.empty() || control_.fail_verb == verb)) {
      --control_.fail_count;
      int code = control_.fail_status;
      if (control_.fail_retry_after > 0)
        res.set_header("Retry-After", std::to_string(control_.fail_retry_after));
      const char* reason = code == 429 ? "TooManyRequests" : code >= 500 ? "InternalError" : "BadRequest";
      send_json(res, code, status_object(code, reason, "injected failure"));
      return false;
    }
    delay_ms = control_.response_delay_ms;
  }
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  return true;
}

std::string crd_name(const ResourceType& type) {
  return type.plural + "." + group_of(type);
}

bool TestApiServer::serve_discovery(const std::string& path, httplib::Response& res) {
  if (path == "/api") {
    send_json(res, 200,
              {{"kind", "APIVersions"},
               {"versions", {"v1"}},
               {"serverAddressByClientCIDRs",
                {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", "127.0.0.1:" + std::to_string(port_)}}}}});
    return true;
  }
  if (path == "/api/v1") {
    send_json(res, 200, resource_list("/api/v1", "v1"));
    return true;
  }
  // The named groups served now: discovery.k8s.io, and each custom resource's while it is installed.
  std::vector<const ResourceType*> groups;
  {
    auto lock = store_.lock();
    for (const ResourceType& t : resource_types()) {
      if (group_of(t).empty() || !control_.served(t)) continue;
      bool seen = false;
      for (const ResourceType* g : groups)
        seen = seen || g->group_path == t.group_path;
      if (!seen) groups.push_back(&t);
    }
  }
  auto group_object = [](const ResourceType& t) {
    json gv = {{"groupVersion", group_of(t) + "/" + version_of(t)}, {"version", version_of(t)}};
    return json{{"name", group_of(t)}, {"versions", {gv}}, {"preferredVersion", gv}};
  };
  if (path == "/apis") {
    json list = json::array();
    for (const ResourceType* g : groups)
      list.push_back(group_object(*g));
    send_json(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}});
    return true;
  }
  for (const ResourceType* g : groups) {
    if (path == "/apis/" + group_of(*g)) {
      json body = group_object(*g);
      body["kind"] = "APIGroup";
      body["apiVersion"] = "v1";
      send_json(res, 200, body);
      return true;
    }
    if (path == g->group_path) {
      send_json(res, 200, resource_list(g->group_path, group_of(*g) + "/" + version_of(*g)));
      return true;
    }
  }
  return false;
}

void TestApiServer::handle_api(const httplib::Request& req, httplib::Response& res) {
  std::string path = req.path;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  // /api, /api/v1, /apis, /apis/GROUP, /apis/GROUP/VERSION: the discovery documents.
  const bool discovery_path =
      path == "/api" || path == "/apis" || path == "/api/v1" ||
      (path.rfind("/apis/", 0) == 0 && std::count(path.begin(), path.end(), '/') <= 3);
  if (discovery_path) {
    if (!admit(req, res, "get")) return;
    if (!serve_discovery(path, res))
      send_json(res, 404, status_object(404, "NotFound", "the server could not find the requested resource"));
    return;
  }
  std::string group_path;
  for (const ResourceType& t : resource_types()) {
    if (path.rfind(t.group_path + "/", 0) == 0) group_path = t.group_path;
  }
  std::vector<std::string> seg =
      group_path.empty() ? std::vector<std::string>() : split_path(path.substr(group_path.size()));
  std::string ns, name;
  const ResourceType* type = nullptr;
  if (seg.size() >= 3 && seg[0] == "namespaces") {
    ns = seg[1];
    type = find_resource(group_path, seg[2]);
    if (type != nullptr && !type->namespaced) type = nullptr;
    if (seg.size() == 4) name = seg[3];
    if (seg.size() > 4) type = nullptr;
  } else if (!seg.empty() && seg.size() <= 2) {
    type = find_resource(group_path, seg[0]);
    if (seg.size() == 2) name = seg[1];
    if (type != nullptr && type->namespaced && !name.empty()) type = nullptr;
  }
  if (type != nullptr) {
    auto lock = store_.lock();
    if (!control_.served(*type)) type = nullptr;  // its CustomResourceDefinition is not installed
  }
  if (type == nullptr) {
    send_json(res, 404, status_object(404, "NotFound", "the server could not find the requested resource"));
    return;
  }
  bool watch = req.get_param_value("watch") == "1" || req.get_param_value("watch") == "true";
  if (req.method == "GET" && name.empty()) {
    if (!admit(req, res, watch ? "watch" : "list")) return;
    if (watch) {
      serve_watch(req, res, *type, ns);
    } else {
      serve_list(req, res, *type, ns);
    }
    return;
  }
  if (!admit(req, res, "write")) return;
  if (req.method == "GET") {
    ApiStore::Result r = store_.get(*type, ns, name);
    send_json(res, r.status, r.body);
  } else if (req.method == "DELETE" && !name.empty()) {
    ApiStore::Result r = store_.remove(*type, ns, name);
    send_json(res, r.status, r.body);
  } else if ((req.method == "POST" && name.empty()) || (req.method == "PUT" && !name.empty())) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_object() && !ns.empty()) body["metadata"]["namespace"] = ns;
    if (body.is_object() && !body.contains("kind")) body["kind"] = type->kind;
    if (body.is_object() && !body.contains("apiVersion")) body["apiVersion"] = type->api_version;
    ApiStore::Result r = store_.apply(std::move(body), req.method == "POST", req.method == "PUT");
    send_json(res, r.status, r.body);
  } else {
    send_json(res, 405, status_object(405, "MethodNotAllowed", "method not allowed"));
  }
}

void TestApiServer::serve_list(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                               const std::string& ns) {
  std::optional<LabelSelector> labels = LabelSelector::parse(req.get_param_value("labelSelector"));
  std::string error;
  std::optional<FieldSelector> fields = FieldSelector::parse(req.get_param_value("fieldSelector"), error);
  if (!labels || !fields) {
    send_json(res, 400, status_object(400, "BadRequest", labels ? error : "unable to parse requirement"));
    return;
  }
  std::size_t limit = 0;
  if (req.has_param("limit"))
    limit = static_cast<std::size_t>(std::max(0L, std::atol(req.get_param_value("limit").c_str())));
  bool ignore_limit = false;
  {
    auto lock = store_.lock();
    ++control_.lists[type.plural];
    ignore_limit = control_.ignore_limit;
  }
  // A list at resourceVersion "0" is served from the watch cache, which ignores limit.
  if (ignore_limit || req.get_param_value("resourceVersion") == "0") limit = 0;
  std::string start;
  int64_t snapshot_rv = 0;
  if (std::string cont = req.get_param_value("continue"); !cont.empty()) {
    json token = json::parse(unb64url(cont), nullptr, false);
    if (!token.is_object() || !token.contains("rv") || !token.contains("start")) {
      send_json(res, 400, status_object(400, "BadRequest", "continue key is not valid"));
      return;
    }
    snapshot_rv = token["rv"].get<int64_t>();
    start = token["start"].get<std::string>();
    if (snapshot_rv < store_.compacted()) {
      send_json(res, 410,
                status_object(410, "Expired",
                              "The provided continue parameter is too old to display a consistent list "
                              "result. You can start a new list without the continue parameter."));
      return;
    }
  }
  ApiStore::Page page = store_.list(type, ns, *labels, *fields, start, limit);
  // Later pages report the first page's resourceVersion. (Their items are read from the current state, not
  // a snapshot; a watch from that resourceVersion replays whatever changed meanwhile.)
  int64_t rv = snapshot_rv != 0 ? snapshot_rv : page.rv;
  json meta = {{"resourceVersion", std::to_string(rv)}};
  if (!page.next_key.empty()) {
    meta["continue"] = b64url(json{{"v", "meta.k8s.io/v1"}, {"rv", rv}, {"start", page.next_key}}.dump());
    if (labels->requirements.empty() && fields->terms.empty()) meta["remainingItemCount"] = page.remaining;
  }
  json body = {{"kind", type.kind + "List"},
               {"apiVersion", type.api_version},
               {"metadata", meta},
               {"items", std::move(page.items)}};
  send_json(res, 200, body);
}

}  // namespace clusterdns::k8s_api
