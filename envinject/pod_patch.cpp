// Pod manifest + services -> patched Pod and RFC 6902 JSON Patch.
#include "envinject/pod_patch.hpp"

#include <unordered_set>

namespace clusterdns::envinject {
namespace {

using nlohmann::json;

// Checks the parts of a Pod we touch; returns "" when usable.
std::string check_pod(const json& pod) {
  if (!pod.is_object()) return "pod is not a JSON object";
  if (auto k = pod.find("kind"); k != pod.end() && *k != "Pod") return "object kind is not Pod";
  if (auto m = pod.find("metadata"); m != pod.end() && !m->is_null()) {
    if (!m->is_object()) return "metadata is not an object";
    if (auto ns = m->find("namespace"); ns != m->end() && !ns->is_null() && !ns->is_string())
      return "metadata.namespace is not a string";
  }
  auto spec = pod.find("spec");
  if (spec == pod.end() || !spec->is_object()) return "spec is missing or not an object";
  if (auto l = spec->find("enableServiceLinks"); l != spec->end() && !l->is_null() && !l->is_boolean())
    return "spec.enableServiceLinks is not a boolean";
  auto containers = spec->find("containers");
  if (containers == spec->end() || !containers->is_array())
    return "spec.containers is missing or not an array";
  for (const char* list : {"containers", "initContainers"}) {
    auto it = spec->find(list);
    if (it == spec->end() || it->is_null()) continue;
    if (!it->is_array()) return std::string("spec.") + list + " is not an array";
    for (size_t i = 0; i < it->size(); ++i) {
      const json& c = (*it)[i];
      const std::string where = std::string("spec.") + list + "[" + std::to_string(i) + "]";
      if (!c.is_object()) return where + " is not an object";
      auto env = c.find("env");
      if (env == c.end() || env->is_null()) continue;
      if (!env->is_array()) return where + ".env is not an array";
      for (const auto& e : *env) {
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
          return where + ".env has an entry without a string name";
      }
    }
  }
  return "";
}

// The names a container's env array defines.
std::unordered_set<std::string> own_names(const json& env) {
  std::unordered_set<std::string> own;
  if (env.is_array()) {
    for (const auto& e : env) {
      if (e.is_object()) {
        if (auto n = e.find("name"); n != e.end() && n->is_string()) own.insert(n->get<std::string>());
      }
    }
  }
  return own;
}

// About the bytes of the patch operations (JSON) adding `vars` to every container, stopping once past
// `bound`: per variable its name and value plus the operation's fixed text and path.
size_t estimate_patch_bytes(const json& spec, const std::vector<EnvVar>& vars, size_t bound) {
  constexpr size_t kPerOperation = 64;  // {"op":"add","path":"/spec/initContainers/N/env/N","value":{…}}
  size_t total = 0;
  for (const char* list : {"containers", "initContainers"}) {
    auto it = spec.find(list);
    if (it == spec.end() || !it->is_array()) continue;
    for (const auto& c : *it) {
      auto env = c.find("env");
      const auto own = env == c.end() ? std::unordered_set<std::string>{} : own_names(*env);
      for (const auto& v : vars) {
        if (own.count(v.name)) continue;
        total += kPerOperation + v.name.size() + v.value.size();
        if (total > bound) return total;
      }
    }
  }
  return total;
}

json to_json(const EnvVar& v) {
  return json{{"name", v.name}, {"value", v.value}};
}

}  // namespace

std::vector<EnvVar> missing_variables(const json& env, const std::vector<EnvVar>& vars) {
  const std::unordered_set<std::string> own = own_names(env);
  std::vector<EnvVar> out;
  out.reserve(vars.size());
  for (const auto& v : vars) {
    if (!own.count(v.name)) out.push_back(v);
  }
  return out;
}

PodPatch build_pod_patch(const json& pod, const discovery::ObjectTable<discovery::Service>& services,
                         const std::string& fallback_namespace, const PatchOptions& options) {
  PodPatch result;
  result.error = check_pod(pod);
  if (!result.error.empty()) {
    if (options.build_pod) result.pod = pod;
    return result;
  }

  std::string ns = fallback_namespace;
  if (auto m = pod.find("metadata"); m != pod.end() && m->is_object()) {
    if (auto n = m->find("namespace"); n != m->end() && n->is_string() && !n->get<std::string>().empty())
      ns = n->get<std::string>();
  }
  const json& spec = pod["spec"];
  bool links = true;
  if (auto l = spec.find("enableServiceLinks"); l != spec.end() && l->is_boolean()) links = l->get<bool>();
  const std::vector<EnvVar> vars = service_env(ns, links, services, &result.skipped);
  if (options.max_patch_bytes > 0) {
    const size_t estimate = estimate_patch_bytes(spec, vars, options.max_patch_bytes);
    if (estimate > options.max_patch_bytes) {
      result.oversize = estimate;
      return result;
    }
  }

  if (options.build_pod) result.pod = pod;
  static const json kNoEnv;
  for (const char* list : {"containers", "initContainers"}) {
    auto it = spec.find(list);
    if (it == spec.end() || !it->is_array()) continue;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& container = (*it)[i];
      const auto env_it = container.find("env");
      const json& env = env_it == container.end() ? kNoEnv : *env_it;
      const std::vector<EnvVar> add = missing_variables(env, vars);
      if (add.empty()) continue;
      const std::string path = std::string("/spec/") + list + "/" + std::to_string(i) + "/env";
      if (!env.is_array()) {
        json list_value = json::array();
        for (const auto& v : add)
          list_value.push_back(to_json(v));
        if (options.build_pod) result.pod["spec"][list][i]["env"] = list_value;
        result.patch.push_back({{"op", "add"}, {"path", path}, {"value", std::move(list_value)}});
      } else {
        for (size_t j = 0; j < add.size(); ++j) {
          result.patch.push_back(
              {{"op", "add"}, {"path", path + "/" + std::to_string(j)}, {"value", to_json(add[j])}});
        }
        if (options.build_pod) {
          json merged = json::array();
          for (const auto& v : add)
            merged.push_back(to_json(v));
          for (const auto& e : env)
            merged.push_back(e);
          result.pod["spec"][list][i]["env"] = std::move(merged);
        }
      }
      result.added += add.size();
    }
  }
  return result;
}

}  // namespace clusterdns::envinject
