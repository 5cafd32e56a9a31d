// Where the Kubernetes API is and how to authenticate: in-cluster service account or a kubeconfig file.
#pragma once

#include <optional>
#include <string>

namespace clusterdns::discovery {

// Everything needed to reach one API server. TLS verification is always on: there is no way to turn it off.
struct ClusterAccess {
  std::string server;      // "https://host[:port][/prefix]"; "http://…" only when allowed (tests)
  std::string ca_file;     // PEM bundle to trust; "" with ca_pem "" = the system's roots
  std::string ca_pem;      // certificate-authority-data, decoded
  std::string token;       // static bearer token
  std::string token_file;  // bearer token file, re-read whenever it changes (bound tokens expire)
  std::string client_cert_file;
  std::string client_cert_pem;  // client-certificate-data, decoded
  std::string client_key_file;
  std::string client_key_pem;  // client-key-data, decoded
  std::string origin;          // for logs: "in-cluster", "kubeconfig:/path#context"
};

// The service-account directory kubelet mounts into every pod.
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// In-cluster access: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with sa_dir/token (re-read
// when it changes) and sa_dir/ca.crt. Returns nullopt and a one-line reason when something is missing.
std::optional<ClusterAccess> load_in_cluster(std::string& error,
                                             const std::string& sa_dir = kServiceAccountDir);

// Reads a kubeconfig (YAML): the named context, or current-context when context is "". Supports server,
// certificate-authority(-data), token, tokenFile, client-certificate(-data), client-key(-data); relative
// paths are relative to the kubeconfig's directory. insecure-skip-tls-verify, exec and auth-provider
// plugins and basic auth are refused with a reason. http:// servers are accepted (for tests; no TLS).
std::optional<ClusterAccess> load_kubeconfig(const std::string& path, const std::string& context,
                                             std::string& error);

// Standard base64 (RFC 4648 §4), whitespace ignored. nullopt when text is not base64.
std::optional<std::string> base64_decode(const std::string& text);

}  // namespace clusterdns::discovery
