// /v1/env and the admission webhook, on top of envinject's pure functions.
#include "ops/http/admission.hpp"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "envinject/json_input.hpp"
#include "envinject/pod_patch.hpp"
#include "envinject/service_env.hpp"

namespace clusterdns::ops {

using nlohmann::json;

namespace {

// Every reply is dumped with invalid UTF-8 replaced: an error message may quote the request's own bytes.
std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string error_body(const std::string& message) {
  return dump(json{{"error", message}}) + "\n";
}

void note_skipped(const std::vector<envinject::SkipNote>& skipped, std::vector<std::string>& log) {
  for (const auto& s : skipped)
    log.push_back("envinject: skipped " + s.ns + "/" + s.service + ": " + s.reason);
}

// o[key] as a string: "" when absent or null, nullopt when it has another type.
std::optional<std::string> string_at(const json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::string();
  if (!it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// RFC 1123 label, as Kubernetes namespace names are (apimachinery IsDNS1123Label).
bool is_namespace_name(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return s.front() != '-' && s.back() != '-';
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
    r.body = error_body("the namespace parameter is required: /v1/env?namespace=NS");
    return r;
  }
  if (!is_namespace_name(ns)) {
    r.status = 400;
    r.body = error_body("namespace '" + ns.substr(0, 80) + "' is not a namespace name (an RFC 1123 label)");
    return r;
  }
  if (!links.empty() && links != "true" && links != "false") {
    r.status = 400;
    r.body = error_body("enableServiceLinks must be true or false, not '" + links.substr(0, 80) + "'");
    return r;
  }
  if (!state) {
    r.status = 503;
    r.body = error_body("the registry has not synced yet");
    return r;
  }
  std::vector<envinject::SkipNote> skipped;
  const auto vars = envinject::service_env(ns, links != "false", state->services, &skipped);
  note_skipped(skipped, r.log);
  json out = json::array();
  for (const auto& v : vars)
    out.push_back({{"name", v.name}, {"value", v.value}});
  r.body = dump(out, 2) + "\n";
  return r;
}

HttpReply admission_reply(const std::string& body, const discovery::RegistryState* state,
                          const AdmissionLimits& limits) {
  HttpReply r;
  envinject::JsonInput input = envinject::parse_json_input(body, {limits.max_body_bytes, limits.max_depth});
  if (!input.error.empty()) {
    r.status = 400;
    r.body = error_body("the AdmissionReview was refused: " + input.error);
    r.log.push_back("envinject webhook: request refused (400): " + input.error);
    return r;
  }
  const json& review = input.value;
  json response{{"uid", ""}, {"allowed", true}};
  std::string warning;
  const json* request = nullptr;
  if (!review.is_object()) {
    warning = "the request body is not a JSON object";
  } else if (string_at(review, "kind") != "AdmissionReview" ||
             string_at(review, "apiVersion") != "admission.k8s.io/v1") {
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
    static const json kNoKind = json::object();
    const auto kind_it = request->find("kind");
    const json& kind = kind_it != request->end() && kind_it->is_object() ? *kind_it : kNoKind;
    const auto operation = string_at(*request, "operation");
    const bool is_pod = string_at(kind, "kind") == "Pod" && string_at(kind, "group") == "" &&
                        string_at(kind, "version") == "v1";
    const auto ns = string_at(*request, "namespace");
    if (!is_pod || operation != "CREATE") {
      // Not ours to change (the webhook configuration should not send these): allowed, no warning.
    } else if (!state) {
      warning = "the registry has not synced yet: no service variables were added";
    } else if (auto obj = request->find("object"); obj == request->end() || !obj->is_object()) {
      warning = "the AdmissionReview request has no Pod object";
    } else if (!ns) {
      warning = "the AdmissionReview request's namespace is not a string";
    } else {
      envinject::PatchOptions options;
      options.build_pod = false;
      options.max_patch_bytes = limits.max_patch_bytes;
      auto patch = envinject::build_pod_patch(*obj, state->services, *ns, options);
      note_skipped(patch.skipped, r.log);
      if (!patch.error.empty()) {
        warning = "the Pod was not understood: " + patch.error;
      } else if (patch.oversize > 0) {
        warning = "the service variables were not added: the patch would be larger than the limit of " +
                  std::to_string(limits.max_patch_bytes) + " bytes";
      } else if (!patch.patch.empty()) {
        response["patchType"] = "JSONPatch";
        response["patch"] = base64_encode(dump(patch.patch));
        r.added = patch.added;
      }
    }
  }
  if (!warning.empty()) {
    response["warnings"] = json::array({"clusterdns envinject: " + warning});
    r.log.push_back("envinject webhook: " + warning + " (allowed without changes)");
  }
  r.body =
      dump(json{{"apiVersion", "admission.k8s.io/v1"}, {"kind", "AdmissionReview"}, {"response", response}});
  return r;
}

}  // namespace clusterdns::ops
