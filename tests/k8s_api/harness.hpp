// Test-side helpers: start k8s_test_apiserver as a process, drive /test/*, make certificates and kubeconfigs.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace clusterdns::k8s_api::testing {

using nlohmann::json;

// A private temporary directory, removed (recursively) on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes text to name (atomically: a temp file renamed over it) and returns the path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

// Self-signed CA, a server certificate for IP 127.0.0.1 and a client certificate (CN=clusterdns), made
// with the openssl CLI into dir. Returns "" or the failing command's output.
struct TestCerts {
  std::string ca_cert, ca_key, server_cert, server_key, client_cert, client_key;
};
std::string make_test_certs(const std::string& dir, TestCerts& out);

struct ServerOptions {
  std::string token;                 // required bearer token ("" = anonymous)
  const TestCerts* tls = nullptr;    // serve HTTPS with these
  bool require_client_cert = false;  // and demand a client certificate signed by tls->ca_cert
  int bookmark_interval_ms = 60000;
  std::vector<std::string> crds = {};  // installed from the start ("serviceimports.multicluster.x-k8s.io")
};

inline constexpr const char* kServiceImportCrd = "serviceimports.multicluster.x-k8s.io";

// The server as a child process on 127.0.0.1 (kernel-chosen port). The destructor sends SIGTERM to its
// PID, waits (bounded, 3 s), then SIGKILLs it.
class ApiServerProcess {
 public:
  explicit ApiServerProcess(ServerOptions options);  // throws std::runtime_error when it does not start
  ~ApiServerProcess();
  ApiServerProcess(const ApiServerProcess&) = delete;
  ApiServerProcess& operator=(const ApiServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const;  // http(s)://127.0.0.1:PORT
  std::string log() const;  // the server's stdout+stderr so far

  // POST /test/<what> with a JSON body; returns the response body (throws on transport failure).
  json control(const std::string& what, const json& body = json::object(), int* status = nullptr);
  json stats();
  void apply(const json& object);
  void remove(const std::string& kind, const std::string& ns, const std::string& name);

 private:
  ServerOptions options_;
  ScratchDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// API objects as the API server would hold them (the server fills in resourceVersion, uid, …).
json namespace_object(const std::string& name);
json service_object(const std::string& ns, const std::string& name, const std::string& cluster_ip,
                    int port = 80, const std::string& port_name = "http");
json slice_object(const std::string& ns, const std::string& name, const std::string& service,
                  const std::vector<std::string>& addresses, int port = 8080,
                  const std::string& port_name = "http");
// A multicluster.x-k8s.io/v1alpha1 ServiceImport of type ClusterSetIP (ips given) or Headless (ips empty),
// with one TCP port.
json service_import_object(const std::string& ns, const std::string& name,
                           const std::vector<std::string>& ips, int port = 80,
                           const std::string& port_name = "http");
// An EndpointSlice of an imported service: labelled multicluster.kubernetes.io/service-name and
// multicluster.kubernetes.io/source-cluster (as the MCS controller writes them), endpoints with hostnames.
json multicluster_slice_object(const std::string& ns, const std::string& name, const std::string& service,
                               const std::string& cluster,
                               const std::vector<std::pair<std::string, std::string>>& hostname_address);
json pod_object(const std::string& ns, const std::string& name, const std::string& ip,
                const std::map<std::string, std::string>& labels, bool ready);

// kubeconfig text for server with one context "test"; user fields as given (token, tokenFile,
// certificate-authority-data, client-certificate-data, client-key-data, …).
std::string kubeconfig_text(const std::string& server, const json& cluster_fields, const json& user_fields);

// Peak resident set size of this process, in KiB (getrusage ru_maxrss).
long peak_rss_kib();
// Current resident set size in KiB (/proc/self/statm).
long current_rss_kib();

std::string read_text(const std::string& path);
std::string base64(const std::string& bytes);

}  // namespace clusterdns::k8s_api::testing
