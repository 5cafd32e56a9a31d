// Adds the service variables to a Pod manifest, as a new Pod and as an RFC 6902 JSON Patch (admission
// webhook).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "discovery/model.hpp"
#include "envinject/service_env.hpp"

namespace clusterdns::envinject {

struct PatchOptions {
  bool build_pod = true;       // false: leave PodPatch::pod empty (the webhook needs only the patch)
  size_t max_patch_bytes = 0;  // 0: no bound; else a larger patch is not built (PodPatch::oversize)
};

struct PodPatch {
  nlohmann::json pod = nlohmann::json::object();   // the Pod with the variables added; the input on error
  nlohmann::json patch = nlohmann::json::array();  // RFC 6902 operations turning the input into `pod`
  std::string
      error;  // non-empty: the Pod was not understood and nothing was added (never throw at a webhook)
  std::vector<SkipNote> skipped;  // services or variables left out, for the caller to log
  size_t added = 0;               // variables added over all containers
  // Non-zero: the patch would have been about this many bytes of JSON, over PatchOptions::max_patch_bytes,
  // so neither the patch nor the pod was built (no error: the caller decides, e.g. allow with a warning).
  size_t oversize = 0;
};

// Reads metadata.namespace (else fallback_namespace, e.g. the AdmissionReview's request.namespace, else
// "default") and spec.enableServiceLinks (absent or null = true), computes service_env, and gives every entry
// of spec.containers and spec.initContainers the variables its own `env` does not name (the container wins).
// The variables go before the container's own entries, in name order, so that the kubelet expands the
// container's $(VAR) references against exactly these values. A container with no `env` gets one "add" of the
// whole list; otherwise one "add" per variable at increasing indices. Everything else is left untouched.
// The patch size is estimated first, without building anything, so that a Pod of 10,000 containers costs its
// bound, not gigabytes. Pure: no I/O, any thread. `pod` must be bounded in depth (json_input.hpp).
PodPatch build_pod_patch(const nlohmann::json& pod,
                         const discovery::ObjectTable<discovery::Service>& services,
                         const std::string& fallback_namespace = "", const PatchOptions& options = {});

// The container-level step alone: the variables of `vars` that `env` (a container's env array) does not name.
std::vector<EnvVar> missing_variables(const nlohmann::json& env, const std::vector<EnvVar>& vars);

}  // namespace clusterdns::envinject
