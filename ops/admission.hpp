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
// `envinject --format json` prints it; 400 without a namespace or with a bad enableServiceLinks; 503 (with a
// JSON error) while `state` is null (the registry has not synced).
HttpReply env_reply(const std::string& ns, const std::string& enable_service_links,
                    const discovery::RegistryState* state);

// POST /mutate. Always 200 with an AdmissionReview response carrying the request's uid and allowed: true —
// pod creation is never blocked by us. A Pod CREATE gets patchType JSONPatch and the base64 patch (none when
// nothing is missing); anything else (another kind or operation, a malformed review or pod, an unsynced
// registry) gets no patch and, when it is our problem or the caller's, a warning, also returned in `log`.
HttpReply admission_reply(const std::string& body, const discovery::RegistryState* state);

// RFC 4648 base64 (with padding).
std::string base64_encode(const std::string& bytes);

}  // namespace clusterdns::ops
