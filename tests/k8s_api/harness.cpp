// Harness: k8s_test_apiserver as a child process, its control API, TLS material and object builders.
#include "tests/k8s_api/harness.hpp"

#include <openssl/evp.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>

extern char** environ;

namespace clusterdns::k8s_api::testing {

namespace fs = std::filesystem;

ScratchDir::ScratchDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/k8s-api-test.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ScratchDir::write(const std::string& name, const std::string& text) const {
  std::string target = file(name);
  std::string tmp = target + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, target);
  return target;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string make_test_certs(const std::string& dir, TestCerts& out) {
  out = TestCerts{dir + "/ca.crt",     dir + "/ca.key",     dir + "/server.crt",
                  dir + "/server.key", dir + "/client.crt", dir + "/client.key"};
  std::ofstream(dir + "/server.ext")
      << "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
         "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
  std::ofstream(dir + "/client.ext") << "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                                        "extendedKeyUsage=clientAuth\n";
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string script =
      "set -e; cd '" + dir + "'\n" + "openssl req -x509 " + ec +
      " -keyout ca.key -out ca.crt -days 2 -subj /CN=clusterdns-test-ca " +
      "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign\n" +
      "openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=127.0.0.1\n" +
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
      "-extfile server.ext\n" +
      "openssl req " + ec +
      " -keyout client.key -out client.csr -subj /CN=clusterdns/O=system:serviceaccounts\n" +
      "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 "
      "-extfile client.ext\n";
  std::ofstream(dir + "/certs.sh") << script;
  std::string cmd = "sh '" + dir + "/certs.sh' > '" + dir + "/certs.log' 2>&1";
  if (std::system(cmd.c_str()) != 0) return "openssl failed: " + read_text(dir + "/certs.log");
  return "";
}

ApiServerProcess::ApiServerProcess(ServerOptions options) : options_(std::move(options)) {
  std::vector<std::string> args = {K8S_TEST_APISERVER,
                                   "--port",
                                   "0",
                                   "--port-file",
                                   dir_.file("port"),
                                   "--bookmark-interval-ms",
                                   std::to_string(options_.bookmark_interval_ms)};
  if (!options_.token.empty()) args.insert(args.end(), {"--token", options_.token});
  if (options_.tls != nullptr) {
    args.insert(args.end(), {"--tls-cert", options_.tls->server_cert, "--tls-key", options_.tls->server_key});
    if (options_.require_client_cert) args.insert(args.end(), {"--client-ca", options_.tls->ca_cert});
  }
  for (const std::string& crd : options_.crds)
    args.insert(args.end(), {"--crd", crd});
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log = dir_.file("server.log");
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + std::string(K8S_TEST_APISERVER));
  for (int i = 0; i < 1000 && port_ == 0; ++i) {  // 1000 x 10 ms = 10 s
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("k8s_test_apiserver exited at start: " + read_text(log));
    }
    std::string text = read_text(dir_.file("port"));
    if (!text.empty()) port_ = std::atoi(text.c_str());
    if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (port_ == 0) throw std::runtime_error("k8s_test_apiserver did not start within 10 s: " + read_text(log));
}

ApiServerProcess::~ApiServerProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {  // 300 x 10 ms = 3 s
    if (waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
}

std::string ApiServerProcess::url() const {
  return std::string(options_.tls != nullptr ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

std::string ApiServerProcess::log() const {
  return read_text(dir_.file("server.log"));
}

json ApiServerProcess::control(const std::string& what, const json& body, int* status) {
  std::unique_ptr<httplib::ClientImpl> cli;
  if (options_.tls != nullptr) {
    auto ssl = options_.require_client_cert
                   ? std::make_unique<httplib::SSLClient>("127.0.0.1", port_, options_.tls->client_cert,
                                                          options_.tls->client_key)
                   : std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    ssl->set_ca_cert_path(options_.tls->ca_cert);
    ssl->enable_server_certificate_verification(true);
    cli = std::move(ssl);
  } else {
    cli = std::make_unique<httplib::ClientImpl>("127.0.0.1", port_);
  }
  cli->set_read_timeout(std::chrono::seconds(30));
  httplib::Result res = what == "stats"
                            ? cli->Get("/test/stats")
                            : cli->Post(("/test/" + what).c_str(), body.dump(), "application/json");
  if (!res) throw std::runtime_error("/test/" + what + ": " + httplib::to_string(res.error()));
  if (status != nullptr) *status = res->status;
  return json::parse(res->body, nullptr, false);
}

json ApiServerProcess::stats() {
  return control("stats");
}

void ApiServerProcess::apply(const json& object) {
  int status = 0;
  json r = control("apply", object, &status);
  if (status >= 300) throw std::runtime_error("apply failed: " + r.dump());
}

void ApiServerProcess::remove(const std::string& kind, const std::string& ns, const std::string& name) {
  int status = 0;
  json r = control("delete", {{"kind", kind}, {"namespace", ns}, {"name", name}}, &status);
  if (status >= 300) throw std::runtime_error("delete failed: " + r.dump());
}

json namespace_object(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

json service_object(const std::string& ns, const std::string& name, const std::string& cluster_ip, int port,
                    const std::string& port_name) {
  json spec = {{"type", "ClusterIP"},
               {"selector", {{"app", name}}},
               {"ports", {{{"name", port_name}, {"port", port}, {"protocol", "TCP"}, {"targetPort", port}}}}};
  if (!cluster_ip.empty()) spec["clusterIP"] = cluster_ip;
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", name}}}}},
          {"spec", spec}};
}

json slice_object(const std::string& ns, const std::string& name, const std::string& service,
                  const std::vector<std::string>& addresses, int port, const std::string& port_name) {
  json endpoints = json::array();
  for (const std::string& a : addresses) {
    endpoints.push_back({{"addresses", {a}},
                         {"conditions", {{"ready", true}, {"serving", true}, {"terminating", false}}},
                         {"nodeName", "node-1"}});
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels",
             {{"kubernetes.io/service-name", service},
              {"endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io"}}}}},
          {"addressType", "IPv4"},
          {"endpoints", endpoints},
          {"ports", {{{"name", port_name}, {"port", port}, {"protocol", "TCP"}}}}};
}

json service_import_object(const std::string& ns, const std::string& name,
                           const std::vector<std::string>& ips, int port, const std::string& port_name) {
  json spec = {{"type", ips.empty() ? "Headless" : "ClusterSetIP"},
               {"ports", {{{"name", port_name}, {"port", port}, {"protocol", "TCP"}}}},
               {"sessionAffinity", "None"}};
  if (!ips.empty()) spec["ips"] = ips;
  return {{"apiVersion", "multicluster.x-k8s.io/v1alpha1"},
          {"kind", "ServiceImport"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", spec},
          {"status", {{"clusters", {{{"cluster", "cluster-a"}}}}}}};
}

json multicluster_slice_object(const std::string& ns, const std::string& name, const std::string& service,
                               const std::string& cluster,
                               const std::vector<std::pair<std::string, std::string>>& hostname_address) {
  json endpoints = json::array();
  for (const auto& [hostname, address] : hostname_address) {
    json ep = {{"addresses", {address}}, {"conditions", {{"ready", true}}}};
    if (!hostname.empty()) ep["hostname"] = hostname;
    endpoints.push_back(ep);
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", name},
            {"namespace", ns},
            {"labels",
             {{"multicluster.kubernetes.io/service-name", service},
              {"multicluster.kubernetes.io/source-cluster", cluster},
              {"endpointslice.kubernetes.io/managed-by", "mcs-controller"}}}}},
          {"addressType", "IPv4"},
          {"endpoints", endpoints},
          {"ports", {{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}}};
}

json pod_object(const std::string& ns, const std::string& name, const std::string& ip,
                const std::map<std::string, std::string>& labels, bool ready) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"spec",
           {{"containers", {{{"name", "c"}, {"image", "nginx"}, {"ports", {{{"containerPort", 8080}}}}}}}}},
          {"status",
           {{"phase", "Running"},
            {"podIP", ip},
            {"podIPs", {{{"ip", ip}}}},
            {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}}}};
}

std::string kubeconfig_text(const std::string& server, const json& cluster_fields, const json& user_fields) {
  json cluster = cluster_fields;
  cluster["server"] = server;
  json config = {
      {"apiVersion", "v1"},
      {"kind", "Config"},
      {"clusters", {{{"name", "test-cluster"}, {"cluster", cluster}}}},
      {"users", {{{"name", "test-user"}, {"user", user_fields}}}},
      {"contexts", {{{"name", "test"}, {"context", {{"cluster", "test-cluster"}, {"user", "test-user"}}}}}},
      {"current-context", "test"}};
  return config.dump(2);  // JSON is YAML
}

long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long current_rss_kib() {
  std::ifstream in("/proc/self/statm");
  long size = 0, resident = 0;
  in >> size >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace clusterdns::k8s_api::testing
