// The kubelet's service environment variables (pkg/kubelet/envvars FromServices + getServiceEnvVarMap).
#pragma once

#include <string>
#include <vector>

#include "discovery/model.hpp"

namespace clusterdns::envinject {

struct EnvVar {
  std::string name;
  std::string value;
  bool operator==(const EnvVar&) const = default;
};

// Why a service (or one of its variables) contributed nothing. The caller decides whether to log it.
struct SkipNote {
  std::string ns;
  std::string service;
  std::string reason;
};

// The namespace of the API server's own service (kubelet --master-service-namespace).
inline constexpr const char* kMasterServiceNamespace = "default";

// The variables the kubelet gives a container of a pod in pod_namespace ("" means "default"):
//  - default/kubernetes always; every other service of pod_namespace only when enable_service_links is true;
//    a pod_namespace service named "kubernetes" then shadows the default one (kubelet_pods.go);
//  - services without a cluster IP (headless, ExternalName, "None") are left out silently; only
//  cluster_ips[0]
//    is used;
//  - a service with no port, an invalid port or an invalid IP, or whose name cannot form a variable name
//    (not a DNS-1035 label) is left out with a note; so is a named-port variable whose port name is not a DNS
//    label. Names are never mangled.
// When two services would define the same variable (a "foo" port and a "foo-port-80-tcp" service) the
// kubelet's winner depends on Go map order; here the service first in name order wins and the loser is noted.
// Result sorted by variable name (byte order), names unique. Pure: no I/O, any thread.
std::vector<EnvVar> service_env(const std::string& pod_namespace, bool enable_service_links,
                                const discovery::ObjectTable<discovery::Service>& services,
                                std::vector<SkipNote>* skipped = nullptr);

// The variables of one service in the kubelet's own order (envvars.FromServices), without any namespace
// selection. Empty (and a note) when the service is left out by the rules above.
std::vector<EnvVar> variables_for_service(const discovery::Service& service,
                                          std::vector<SkipNote>* skipped = nullptr);

// "my-nginx" -> "MY_NGINX" (envvars.makeEnvVariableName: upper-case, '-' -> '_').
std::string env_name_prefix(const std::string& service_name);

}  // namespace clusterdns::envinject
