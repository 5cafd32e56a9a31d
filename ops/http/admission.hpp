// envinject over HTTP: GET /v1/env (the service variables of a namespace as JSON) and the mutating admission
// webhook POST /mutate (an admission.k8s.io/v1 AdmissionReview for a Pod CREATE → a JSONPatch adding them).
// Pure functions of the request and the registry state; the HTTP server wraps them.
#pragma once

#include <string>
#include <vector>

#include "discovery/model.hpp"

namespace clusterdns::ops {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::string> log;  // lines for the caller to log (skipped services, malformed reviews)
  size_t added = 0;              // variables added (webhook)
};

// GET /v1/env?namespace=NS[&enableServiceLinks=false]: 200 with [{"name":…,"value":…}] sorted by name, as
// `envinject --format json` prints it; 400 without a namespace, with one that is not a namespace name
// (an RFC 1123 label) or with a bad enableServiceLinks; 503 (with a JSON error) while `state` is null (the
// registry has not synced). Never throws on any parameter bytes.
HttpReply env_reply(const std::string& ns, const std::string& enable_service_links,
                    const discovery::RegistryState* state);

// What one AdmissionReview may cost: its body is checked before it is parsed, the patch before it is built.
struct AdmissionLimits {
  size_t max_body_bytes = 3u << 20;   // kube-apiserver's own request limit is 3 MiB
  size_t max_depth = 64;              // a Pod inside a review is about 15 levels deep
  size_t max_patch_bytes = 1u << 20;  // a patched Pod must still fit etcd's 1.5 MiB object limit
};

// POST /mutate. A body that is not one JSON document within the limits (too large, nested too deep, not
// UTF-8, a syntax error) gets 400 and {"error": why}: it cannot come from an API server. Otherwise always 200
// with an AdmissionReview response carrying the request's uid and allowed: true — pod creation is never
// blocked by us. A Pod CREATE gets patchType JSONPatch and the base64 patch (none when nothing is missing);
// anything else (another kind or operation, a malformed review or pod, wrongly typed fields, an unsynced
// registry, a patch over max_patch_bytes) gets no patch and, when it is our problem or the caller's, a
// warning, also returned in `log`. Never throws on any input.
HttpReply admission_reply(const std::string& body, const discovery::RegistryState* state,
                          const AdmissionLimits& limits = {});

// RFC 4648 base64 (with padding).
std::string base64_encode(const std::string& bytes);

}  // namespace clusterdns::ops
