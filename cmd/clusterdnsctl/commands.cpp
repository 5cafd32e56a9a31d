// apply / delete / get: manifests in and tables out, through the same key layout and decoding the source
// uses.
#include "cmd/clusterdnsctl/commands.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "cmd/clusterdnsctl/manifests.hpp"

namespace clusterdns::ctl {

namespace {

using discovery::etcd::Resource;
namespace etcd = discovery::etcd;

constexpr std::size_t kTxnOps = 100;  // etcd's --max-txn-ops defaults to 128

std::string lower_kind(Resource r) {
  std::string k = etcd::resource_kind(r);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return std::tolower(c); });
  return k;
}

std::string label(Resource r, const std::string& ns, const std::string& name) {
  return lower_kind(r) + " " + (ns.empty() ? name : ns + "/" + name);
}

ManifestSet load_all(Context& ctx, const std::vector<std::string>& paths, bool& ok) {
  ManifestSet all;
  for (const std::string& path : paths) {
    ManifestSet one = load_manifests(path);
    for (auto list : {&ManifestSet::skipped, &ManifestSet::errors, &ManifestSet::warnings})
      (all.*list).insert((all.*list).end(), (one.*list).begin(), (one.*list).end());
    all.objects.insert(all.objects.end(), one.objects.begin(), one.objects.end());
    all.namespaces.insert(one.namespaces.begin(), one.namespaces.end());
  }
  for (const std::string& e : all.errors)
    std::fprintf(ctx.err, "error: %s\n", e.c_str());
  ok = all.errors.empty();
  if (!ok) std::fprintf(ctx.err, "clusterdnsctl: nothing written: fix the manifests first\n");
  return all;
}

std::string join(const std::vector<std::string>& items, const std::string& sep = ",") {
  std::string out;
  for (const std::string& s : items)
    out += (out.empty() ? "" : sep) + s;
  return out;
}

void print_table(std::FILE* out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i)
      line += i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size() + 3, ' ');
    std::fprintf(out, "%s\n", line.c_str());
  }
}

std::vector<std::string> row_of(const etcd::SlimObject& obj) {
  const std::string& ns = obj.key.ns;
  const std::string& name = obj.key.name;
  if (const auto* s = std::get_if<discovery::Service>(&obj.value)) {
    std::vector<std::string> ports, selector;
    for (const auto& p : s->ports)
      ports.push_back(std::to_string(p.port) + "/" + discovery::protocol_name(p.protocol));
    for (const auto& [k, v] : s->selector)
      selector.push_back(k + "=" + v);
    const char* type = s->kind == discovery::ServiceKind::ExternalName ? "ExternalName"
                       : s->kind == discovery::ServiceKind::Headless   ? "Headless"
                                                                       : "ClusterIP";
    std::string ip = s->kind == discovery::ServiceKind::ExternalName ? s->external_name
                     : s->cluster_ips.empty()                        ? "None"
                                                                     : join(s->cluster_ips);
    return {ns,
            name,
            type,
            ip,
            ports.empty() ? "<none>" : join(ports),
            selector.empty() ? "<none>" : join(selector)};
  }
  if (const auto* e = std::get_if<discovery::EndpointSet>(&obj.value)) {
    std::vector<std::string> addrs, ports;
    for (const auto& ep : e->endpoints) {
      for (const auto& a : ep.addresses)
        addrs.push_back(ep.ready ? a : a + "(not ready)");
    }
    if (addrs.size() > 4) {
      std::size_t more = addrs.size() - 3;
      addrs.resize(3);
      addrs.push_back("+ " + std::to_string(more) + " more");
    }
    for (const auto& p : e->ports)
      ports.push_back(std::to_string(p.port) + "/" + discovery::protocol_name(p.protocol));
    return {ns, name, e->service_name, addrs.empty() ? "<none>" : join(addrs),
            ports.empty() ? "<none>" : join(ports)};
  }
  if (const auto* p = std::get_if<discovery::Pod>(&obj.value)) {
    std::vector<std::string> labels;
    for (const auto& [k, v] : p->labels)
      labels.push_back(k + "=" + v);
    std::string status = p->terminating ? "Terminating" : p->phase.empty() ? "<unknown>" : p->phase;
    return {ns,
            name,
            p->ready ? "true" : "false",
            status,
            p->ip.empty() ? "<none>" : p->ip,
            labels.empty() ? "<none>" : join(labels)};
  }
  if (const auto* i = std::get_if<discovery::ServiceImport>(&obj.value)) {
    std::vector<std::string> ports;
    for (const auto& p : i->ports)
      ports.push_back(std::to_string(p.port) + "/" + discovery::protocol_name(p.protocol));
    return {ns, name, i->type == discovery::ImportType::Headless ? "Headless" : "ClusterSetIP",
            i->ips.empty() ? "None" : join(i->ips), ports.empty() ? "<none>" : join(ports)};
  }
  if (obj.key.resource == Resource::Namespace) return {name};
  return {ns, name, "<left out of DNS>"};
}

std::vector<std::string> header_of(Resource r) {
  switch (r) {
    case Resource::Service:
      return {"NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "SELECTOR"};
    case Resource::EndpointSlice:
      return {"NAMESPACE", "NAME", "SERVICE", "ENDPOINTS", "PORTS"};
    case Resource::Pod:
      return {"NAMESPACE", "NAME", "READY", "STATUS", "IP", "LABELS"};
    case Resource::Namespace:
      return {"NAME"};
    case Resource::ServiceImport:
      return {"NAMESPACE", "NAME", "TYPE", "IP", "PORT(S)"};
  }
  return {};
}

}  // namespace

std::optional<Resource> parse_resource(const std::string& word) {
  static const std::map<std::string, Resource> kWords = {{"service", Resource::Service},
                                                         {"services", Resource::Service},
                                                         {"svc", Resource::Service},
                                                         {"endpointslice", Resource::EndpointSlice},
                                                         {"endpointslices", Resource::EndpointSlice},
                                                         {"pod", Resource::Pod},
                                                         {"pods", Resource::Pod},
                                                         {"po", Resource::Pod},
                                                         {"namespace", Resource::Namespace},
                                                         {"namespaces", Resource::Namespace},
                                                         {"ns", Resource::Namespace},
                                                         {"serviceimport", Resource::ServiceImport},
                                                         {"serviceimports", Resource::ServiceImport},
                                                         {"svcim", Resource::ServiceImport},
                                                         {"svcimport", Resource::ServiceImport}};
  auto it = kWords.find(word);
  if (it == kWords.end()) return std::nullopt;
  return it->second;
}

int apply(Context& ctx, const std::vector<std::string>& paths) {
  bool ok = false;
  ManifestSet set = load_all(ctx, paths, ok);
  if (!ok) return 1;
  for (const std::string& w : set.warnings)
    std::fprintf(ctx.err, "warning: %s\n", w.c_str());
  for (const std::string& s : set.skipped)
    std::fprintf(ctx.err, "skipped %s: not a kind the registry holds\n", s.c_str());
  // Namespaces first, so that no object ever sits in a namespace the registry does not have.
  std::stable_sort(set.objects.begin(), set.objects.end(), [](const StoredObject& a, const StoredObject& b) {
    return (a.resource == Resource::Namespace) > (b.resource == Resource::Namespace);
  });
  for (const std::string& ns : set.namespaces) {
    bool declared = std::any_of(set.objects.begin(), set.objects.end(), [&](const StoredObject& o) {
      return o.resource == Resource::Namespace && o.name == ns;
    });
    if (declared) continue;
    nlohmann::json obj = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}};
    if (ctx.client.put_if_absent(ctx.layout.key(Resource::Namespace, "", ns), obj.dump())) {
      std::fprintf(ctx.out, "namespace %s created\n", ns.c_str());
    }
  }
  for (std::size_t first = 0; first < set.objects.size(); first += kTxnOps) {
    std::size_t last = std::min(set.objects.size(), first + kTxnOps);
    std::vector<std::pair<std::string, std::string>> kvs;
    for (std::size_t i = first; i < last; ++i) {
      const StoredObject& o = set.objects[i];
      kvs.emplace_back(ctx.layout.key(o.resource, o.ns, o.name), o.json);
    }
    std::vector<std::optional<std::string>> prev;
    ctx.client.put_all(kvs, &prev);
    for (std::size_t i = first; i < last; ++i) {
      const StoredObject& o = set.objects[i];
      const std::optional<std::string>& before = prev[i - first];
      const char* what = !before ? "created" : *before == o.json ? "unchanged" : "configured";
      std::fprintf(ctx.out, "%s %s\n", label(o.resource, o.ns, o.name).c_str(), what);
    }
  }
  return 0;
}

int delete_manifests(Context& ctx, const std::vector<std::string>& paths) {
  bool ok = false;
  ManifestSet set = load_all(ctx, paths, ok);
  if (!ok) return 1;
  int status = 0;
  for (const StoredObject& o : set.objects)
    status = std::max(status, delete_object(ctx, o.resource, o.ns, o.name));
  return status;
}

int delete_object(Context& ctx, Resource r, const std::string& ns, const std::string& name) {
  if (ctx.client.delete_range(ctx.layout.key(r, ns, name), "") == 0) {
    std::fprintf(ctx.err, "%s not found\n", label(r, ns, name).c_str());
    return 1;
  }
  std::fprintf(ctx.out, "%s deleted\n", label(r, ns, name).c_str());
  return 0;
}

int get(Context& ctx, const std::vector<Resource>& resources, const std::string& ns) {
  int64_t revision = 0;  // every table from one revision
  for (std::size_t i = 0; i < resources.size(); ++i) {
    const Resource r = resources[i];
    std::string prefix = ctx.layout.resource_prefix(r);
    if (!ns.empty() && r != Resource::Namespace) prefix += ns + "/";
    std::vector<std::vector<std::string>> rows = {header_of(r)};
    for (const etcd::KeyValue& kv : ctx.client.range_all(prefix, etcd::prefix_end(prefix), 500, &revision)) {
      std::optional<etcd::ObjectKey> key = ctx.layout.parse_key(kv.key);
      if (!key) continue;
      etcd::DecodeResult d = etcd::decode_object(*key, kv.value);
      if (!d.object) {
        std::fprintf(ctx.err, "warning: %s: %s (ignored by clusterdns)\n", kv.key.c_str(), d.error.c_str());
        continue;
      }
      if (r == Resource::Namespace && !ns.empty() && key->name != ns) continue;
      rows.push_back(row_of(*d.object));
    }
    if (i > 0) std::fprintf(ctx.out, "\n");
    if (rows.size() == 1) {
      std::fprintf(ctx.out, "No %ss found%s.\n", lower_kind(r).c_str(),
                   ns.empty() ? "" : (" in " + ns).c_str());
      continue;
    }
    print_table(ctx.out, rows);
  }
  return 0;
}

}  // namespace clusterdns::ctl
