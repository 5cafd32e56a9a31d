// /v1/env and the admission webhook, on top of envinject's pure functions.
#include "ops/admission.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "envinject/pod_patch.hpp"
#include "envinject/service_env.hpp"

namespace clusterdns::ops {

using nlohmann::json;

namespace {

json error_json(const std::string& message) {
  return json{{"error", message}};
}

void note_skipped(const std::vector<envinject::SkipNote>& skipped, std::vector<std::string>& log) {
  for (const auto& s : skipped)
    log.push_back("envinject: skipped " + s.ns + "/" + s.service + ": " + s.reason);
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

HttpReply env_reply(const std::string& ns, const std::string& links, const discovery::RegistryState* state) {
  HttpReply r;
  if (ns.empty()) {
    r.status = 400;
    r.body = error_json("the namespace parameter is required: /v1/env?namespace=NS").dump() + "\n";
    return r;
  }
  if (!links.empty() && links != "true" && links != "false") {
    r.status = 400;
    r.body = error_json("enableServiceLinks must be true or false, not '" + links + "'").dump() + "\n";
    return r;
  }
  if (!state) {
    r.status = 503;
    r.body = error_json("the registry has not synced yet").dump() + "\n";
    return r;
  }
  std::vector<envinject::SkipNote> skipped;
  const auto vars = envinject::service_env(ns, links != "false", state->services, &skipped);
  note_skipped(skipped, r.log);
  json out = json::array();
  for (const auto& v : vars)
    out.push_back({{"name", v.name}, {"value", v.value}});
  r.body = out.dump(2) + "\n";
  return r;
}

HttpReply admission_reply(const std::string& body, const discovery::RegistryState* state) {
  HttpReply r;
  json response{{"uid", ""}, {"allowed", true}};
  std::string warning;
  json review = json::parse(body, nullptr, /*allow_exceptions=*/false);
  const json* request = nullptr;
  if (review.is_discarded() || !review.is_object()) {
    warning = "the request body is not a JSON object";
  } else if (review.value("kind", "") != "AdmissionReview" ||
             review.value("apiVersion", "") != "admission.k8s.io/v1") {
    warning = "expected an admission.k8s.io/v1 AdmissionReview";
  } else if (auto it = review.find("request"); it == review.end() || !it->is_object()) {
    warning = "the AdmissionReview has no request";
  } else {
    request = &*it;
    if (auto uid = request->find("uid"); uid != request->end() && uid->is_string())
      response["uid"] = *uid;
    else
      warning = "the AdmissionReview request has no uid";
  }
  if (request && warning.empty()) {
    const json kind = request->value("kind", json::object());
    const std::string operation = request->value("operation", "");
    const bool is_pod = kind.is_object() && kind.value("kind", "") == "Pod" &&
                        kind.value("group", "") == "" && kind.value("version", "") == "v1";
    if (!is_pod || operation != "CREATE") {
      // Not ours to change (the webhook configuration should not send these): allowed, no warning.
    } else if (!state) {
      warning = "the registry has not synced yet: no service variables were added";
    } else if (auto obj = request->find("object"); obj == request->end() || !obj->is_object()) {
      warning = "the AdmissionReview request has no Pod object";
    } else {
      std::string ns = request->value("namespace", "");
      auto patch = envinject::build_pod_patch(*obj, state->services, ns);
      note_skipped(patch.skipped, r.log);
      if (!patch.error.empty()) {
        warning = "the Pod was not understood: " + patch.error;
      } else if (!patch.patch.empty()) {
        response["patchType"] = "JSONPatch";
        response["patch"] = base64_encode(patch.patch.dump());
        r.added = patch.added;
      }
    }
  }
  if (!warning.empty()) {
    response["warnings"] = json::array({"clusterdns envinject: " + warning});
    r.log.push_back("envinject webhook: " + warning + " (allowed without changes)");
  }
  r.body =
      json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", response}}.dump();
  return r;
}

}  // namespace clusterdns::ops
