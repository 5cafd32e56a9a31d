// clusterdnsctl's commands: apply, delete and get against etcd in the kube-apiserver layout.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "discovery/etcd/etcd_client.hpp"
#include "discovery/etcd/etcd_objects.hpp"

namespace clusterdns::ctl {

struct Context {
  discovery::etcd::Client& client;
  discovery::etcd::Layout layout;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
};

// Each returns the process exit status (0, or 1 for a manifest problem). etcd failures throw EtcdError.
int apply(Context& ctx, const std::vector<std::string>& paths);
int delete_manifests(Context& ctx, const std::vector<std::string>& paths);
int delete_object(Context& ctx, discovery::etcd::Resource r, const std::string& ns, const std::string& name);
// Tables of what DNS sees (the source's own decoding); ns "" = every namespace.
int get(Context& ctx, const std::vector<discovery::etcd::Resource>& resources, const std::string& ns);

// "service", "svc", "services", "pod", "po", "endpointslice", "namespace", "ns", "serviceimport", "svcim",
// … → the resource.
std::optional<discovery::etcd::Resource> parse_resource(const std::string& word);

}  // namespace clusterdns::ctl
