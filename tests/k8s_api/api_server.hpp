// k8s_test_apiserver: a Kubernetes API server stand-in speaking the documented JSON wire format.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/k8s_api/api_store.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace clusterdns::k8s_api {

struct ServerConfig {
  std::string tls_cert;  // PEM files: serve HTTPS when both are set
  std::string tls_key;
  std::string client_ca;  // require client certificates signed by this CA
  std::string token;      // require "Authorization: Bearer <token>" on API paths ("" = anonymous allowed)
  int threads = 64;       // one per open connection (watches hold theirs)
  int bookmark_interval_ms = 60000;
  // CustomResourceDefinitions installed from the start, by name ("serviceimports.multicluster.x-k8s.io").
  std::vector<std::string> crds = {};
};

// The CustomResourceDefinition name of a custom resource type: "<plural>.<group>".
std::string crd_name(const ResourceType& type);

// Fault injection and behaviour switches, changed through /test/* (guarded by the store's mutex, so a
// change can wake watchers through the store's condition variable).
struct Control {
  std::set<std::string> tokens;
  bool require_auth = false;
  std::string gone_mode = "event";  // too-old watch: "event" (200 + ERROR, as the watch cache does) or "http"
  bool ignore_limit = false;  // serve whole lists whatever ?limit= says (as the watch cache does for rv=0)
  int bookmark_interval_ms = 60000;
  bool hold = false;  // watches neither start nor send while held
  uint64_t cut_generation = 0;
  uint64_t bookmark_generation = 0;  // /test/bookmark: every watch sends a BOOKMARK now
  std::string cut_mode;              // clean, abort, midline, garble, error410, error500
  int split_bytes = 0;               // write each event in pieces this big…
  int piece_delay_ms = 0;            // …this far apart
  int response_delay_ms = 0;         // before answering any API request
  int fail_status = 0;               // answer the next fail_count API requests with this status
  int fail_count = 0;
  int fail_retry_after = 0;
  std::string fail_verb;                           // "list", "watch" or "" (any)
  std::map<std::string, uint64_t> lists, watches;  // by plural
  uint64_t active_watches = 0;
  uint64_t unauthorized = 0;
  std::set<std::string> crds;  // installed CustomResourceDefinitions, by crd_name()
  // A custom resource is served while its definition is installed; the core and discovery groups always.
  bool served(const ResourceType& type) const { return !type.custom || crds.count(crd_name(type)) != 0; }
};

class TestApiServer {
 public:
  explicit TestApiServer(ServerConfig config);
  ~TestApiServer();
  TestApiServer(const TestApiServer&) = delete;
  TestApiServer& operator=(const TestApiServer&) = delete;

  // Binds host:port (0 = any free port) and returns the port, or -1.
  int bind(const std::string& host, int port);
  // Serves until stop(). Blocks.
  bool listen();
  void stop();
  ApiStore& store() { return store_; }

 private:
  void install_routes();
  void handle_api(const httplib::Request& req, httplib::Response& res);
  void handle_control(const httplib::Request& req, httplib::Response& res);
  // /api, /apis, a group, a group version; false when path is none of those (or not served).
  bool serve_discovery(const std::string& path, httplib::Response& res);
  void serve_list(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                  const std::string& ns);
  void serve_watch(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                   const std::string& ns);
  // Auth and injected failures; false when res already holds the answer.
  bool admit(const httplib::Request& req, httplib::Response& res, const std::string& verb);
  json stats() const;

  ServerConfig config_;
  std::unique_ptr<httplib::Server> server_;
  ApiStore store_;
  Control control_;  // guarded by store_.lock()
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

void send_json(httplib::Response& res, int status, const json& body);
// A Service as read back from a real cluster (~2 KiB: last-applied annotation, managedFields, status).
json realistic_service(const std::string& ns, const std::string& name, int i);

}  // namespace clusterdns::k8s_api
