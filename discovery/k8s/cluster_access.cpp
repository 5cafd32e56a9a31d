// Loading ClusterAccess from the pod's service account or from a kubeconfig file (client-go's rules).
#include "discovery/k8s/cluster_access.hpp"

#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace clusterdns::discovery {

namespace fs = std::filesystem;

namespace {

bool readable_file(const std::string& path) {
  std::ifstream in(path);
  return static_cast<bool>(in);
}

// The entry named `name` of a kubeconfig list (clusters, users, contexts): its inner mapping (`field`).
YAML::Node find_named(const YAML::Node& root, const char* list, const char* field, const std::string& name) {
  YAML::Node entries = root[list];
  if (!entries || !entries.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const YAML::Node& e : entries) {
    if (e.IsMap() && e["name"] && e["name"].IsScalar() && e["name"].Scalar() == name) {
      YAML::Node inner = e[field];
      if (inner && inner.IsMap()) return inner;
      return YAML::Node(YAML::NodeType::Map);
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return "";
  YAML::Node v = map[key];
  return v && v.IsScalar() ? v.Scalar() : "";
}

bool truthy(const YAML::Node& map, const char* key) {
  std::string v = scalar(map, key);
  return v == "true" || v == "True" || v == "TRUE" || v == "yes";
}

// client-go resolves relative file references against the kubeconfig's own directory.
std::string resolve(const std::string& file, const fs::path& base) {
  if (file.empty() || fs::path(file).is_absolute()) return file;
  return (base / file).lexically_normal().string();
}

// A "-data" field (base64 PEM) into out, or an error naming the field.
bool decode_field(const YAML::Node& map, const char* key, std::string& out, std::string& error,
                  const std::string& where) {
  std::string text = scalar(map, key);
  if (text.empty()) return true;
  std::optional<std::string> pem = base64_decode(text);
  if (!pem || pem->empty()) {
    error = where + ": " + key + " is not valid base64";
    return false;
  }
  out = std::move(*pem);
  return true;
}

}  // namespace

std::optional<std::string> base64_decode(const std::string& text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the '=' padding as zero bytes: take them off (OpenSSL's EVP_DecodeBlock(3)).
  std::size_t pad = 0;
  for (std::size_t i = clean.size(); i > 0 && clean[i - 1] == '=' && pad < 2; --i)
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<ClusterAccess> load_in_cluster(std::string& error, const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    error =
        "--source kubernetes: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running "
        "in a "
        "pod?); use --source kubeconfig:PATH outside a cluster";
    return std::nullopt;
  }
  ClusterAccess a;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6 service address
  a.server = "https://" + h + ":" + port;
  a.token_file = (fs::path(sa_dir) / "token").string();
  a.ca_file = (fs::path(sa_dir) / "ca.crt").string();
  a.origin = "in-cluster";
  if (!readable_file(a.token_file)) {
    error = "--source kubernetes: cannot read the service-account token " + a.token_file;
    return std::nullopt;
  }
  if (!readable_file(a.ca_file)) {
    error = "--source kubernetes: cannot read the service-account CA " + a.ca_file;
    return std::nullopt;
  }
  return a;
}

std::optional<ClusterAccess> load_kubeconfig(const std::string& path, const std::string& context,
                                             std::string& error) {
  const std::string where = "kubeconfig " + path;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    error = where + ": cannot read the file";
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    error = where + ": invalid YAML: " + e.what();
    return std::nullopt;
  }
  if (!root.IsMap()) {
    error = where + ": expected a mapping with clusters, users and contexts";
    return std::nullopt;
  }
  std::string ctx_name = context.empty() ? scalar(root, "current-context") : context;
  if (ctx_name.empty()) {
    error = where + ": no current-context; name one with kubeconfig:PATH#CONTEXT";
    return std::nullopt;
  }
  YAML::Node ctx = find_named(root, "contexts", "context", ctx_name);
  if (!ctx) {
    error = where + ": no context named '" + ctx_name + "'";
    return std::nullopt;
  }
  std::string cluster_name = scalar(ctx, "cluster");
  YAML::Node cluster = find_named(root, "clusters", "cluster", cluster_name);
  if (cluster_name.empty() || !cluster) {
    error = where + ": context '" + ctx_name + "' names no known cluster ('" + cluster_name + "')";
    return std::nullopt;
  }
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  ClusterAccess a;
  a.origin = "kubeconfig:" + path + "#" + ctx_name;
  a.server = scalar(cluster, "server");
  while (!a.server.empty() && a.server.back() == '/')
    a.server.pop_back();
  const std::string cwhere = where + ": cluster '" + cluster_name + "'";
  if (a.server.rfind("https://", 0) != 0 && a.server.rfind("http://", 0) != 0) {
    error = cwhere + ": server '" + a.server + "' must start with https://";
    return std::nullopt;
  }
  if (truthy(cluster, "insecure-skip-tls-verify")) {
    error = cwhere +
            ": insecure-skip-tls-verify is refused: clusterdns always verifies the API server's certificate "
            "(give certificate-authority or certificate-authority-data)";
    return std::nullopt;
  }
  for (const char* unsupported : {"tls-server-name", "proxy-url"}) {
    if (!scalar(cluster, unsupported).empty()) {
      error = cwhere + ": " + unsupported + " is not supported";
      return std::nullopt;
    }
  }
  a.ca_file = resolve(scalar(cluster, "certificate-authority"), base);
  if (!decode_field(cluster, "certificate-authority-data", a.ca_pem, error, cwhere)) return std::nullopt;
  if (!a.ca_file.empty() && !readable_file(a.ca_file)) {
    error = cwhere + ": cannot read certificate-authority " + a.ca_file;
    return std::nullopt;
  }

  std::string user_name = scalar(ctx, "user");
  YAML::Node user =
      user_name.empty() ? YAML::Node(YAML::NodeType::Map) : find_named(root, "users", "user", user_name);
  const std::string uwhere = where + ": user '" + user_name + "'";
  if (!user) {
    error = where + ": context '" + ctx_name + "' names no known user ('" + user_name + "')";
    return std::nullopt;
  }
  for (const char* plugin : {"exec", "auth-provider"}) {
    if (user[plugin]) {
      error = uwhere + ": " + plugin +
              " credential plugins are not supported; use token, tokenFile or a client "
              "certificate";
      return std::nullopt;
    }
  }
  if (!scalar(user, "username").empty() || !scalar(user, "password").empty()) {
    error = uwhere + ": basic authentication (username/password) is not supported";
    return std::nullopt;
  }
  a.token = scalar(user, "token");
  a.token_file = resolve(scalar(user, "tokenFile"), base);
  a.client_cert_file = resolve(scalar(user, "client-certificate"), base);
  a.client_key_file = resolve(scalar(user, "client-key"), base);
  if (!decode_field(user, "client-certificate-data", a.client_cert_pem, error, uwhere) ||
      !decode_field(user, "client-key-data", a.client_key_pem, error, uwhere)) {
    return std::nullopt;
  }
  bool has_cert = !a.client_cert_file.empty() || !a.client_cert_pem.empty();
  bool has_key = !a.client_key_file.empty() || !a.client_key_pem.empty();
  if (has_cert != has_key) {
    error = uwhere + ": a client certificate needs both client-certificate(-data) and client-key(-data)";
    return std::nullopt;
  }
  if (has_cert && a.server.rfind("http://", 0) == 0) {
    error = cwhere + ": client certificates need an https:// server";
    return std::nullopt;
  }
  if (!a.token_file.empty() && !readable_file(a.token_file)) {
    error = uwhere + ": cannot read tokenFile " + a.token_file;
    return std::nullopt;
  }
  return a;
}

}  // namespace clusterdns::discovery
