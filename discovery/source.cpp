// make_source: turns a --source value into a RegistrySource.
#include "discovery/source.hpp"

#include <signal.h>

#include <filesystem>
#include <system_error>

#include "discovery/etcd/etcd_source.hpp"
#include "discovery/files/file_source.hpp"
#include "discovery/k8s/kube_source.hpp"

namespace clusterdns::discovery {

void ignore_sigpipe_unless_handled() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

std::unique_ptr<RegistrySource> make_source(const std::string& spec, std::string& error,
                                            const SourceOptions& options) {
  const std::string file_scheme = "file:";
  if (spec.compare(0, file_scheme.size(), file_scheme) == 0) {
    std::string path = spec.substr(file_scheme.size());
    std::error_code ec;
    if (path.empty() || !std::filesystem::exists(path, ec)) {
      error = "file source: no such file or directory: " + path;
      return nullptr;
    }
    return std::make_unique<FileSource>(path);
  }
  const std::string kubeconfig_scheme = "kubeconfig:";
  if (spec == "kubernetes" || spec.compare(0, kubeconfig_scheme.size(), kubeconfig_scheme) == 0) {
    std::optional<ClusterAccess> access;
    if (spec == "kubernetes") {
      access = load_in_cluster(error);
    } else {  // kubeconfig:PATH[#context]
      std::string rest = spec.substr(kubeconfig_scheme.size());
      std::size_t hash = rest.rfind('#');
      std::string context = hash == std::string::npos ? "" : rest.substr(hash + 1);
      access = load_kubeconfig(rest.substr(0, hash), context, error);
    }
    if (!access) return nullptr;
    try {
      KubeSourceOptions kube;
      kube.watch_pods = options.pods;
      kube.namespaces = options.namespaces;
      kube.service_label_selector = options.label_selector;
      kube.watch_service_imports = options.service_imports;
      return std::make_unique<KubeSource>(std::move(*access), std::move(kube));
    } catch (const std::exception& e) {
      error = spec + ": " + e.what();
      return nullptr;
    }
  }
  const std::string etcd_scheme = "etcd:";  // etcd:http(s)://HOST:PORT[,…][?prefix=…&cacert=…&cert=…&key=…]
  if (spec.compare(0, etcd_scheme.size(), etcd_scheme) == 0) {
    EtcdSourceOptions etcd;
    if (!parse_etcd_spec(spec.substr(etcd_scheme.size()), etcd, error)) return nullptr;
    try {
      return std::make_unique<EtcdSource>(std::move(etcd));
    } catch (const std::exception& e) {
      error = spec + ": " + e.what();
      return nullptr;
    }
  }
  error = "unknown --source '" + spec +
          "' (expected file:PATH, etcd:URL[,URL…], kubernetes or kubeconfig:PATH[#context])";
  return nullptr;
}

}  // namespace clusterdns::discovery
