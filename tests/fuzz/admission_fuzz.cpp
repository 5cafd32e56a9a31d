// libFuzzer target: any bytes as the body of POST /mutate (AdmissionReview → reply). The reply must never
// throw, must be valid JSON, and a patch must apply to the review's Pod (RFC 6902).
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "ops/http/admission.hpp"

using namespace clusterdns;
using nlohmann::json;

namespace {

discovery::RegistryState make_state() {
  discovery::RegistryState s;
  s.namespaces = {"default", "shop"};
  auto add = [&](const char* ns, const char* name, const char* ip, const char* port_name, int32_t port) {
    discovery::Service svc;
    svc.ns = ns;
    svc.name = name;
    svc.cluster_ips = {ip};
    svc.ports.push_back({port_name, port, discovery::Protocol::Tcp, ""});
    s.services.push_back(svc);
  };
  add("default", "kubernetes", "10.0.0.1", "https", 443);
  add("default", "my-nginx", "10.0.162.149", "http", 80);
  add("shop", "cart", "10.0.9.9", "", 8080);
  return s;
}

std::string decode64(const std::string& in) {
  std::string out(in.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) std::abort();
  out.resize(static_cast<size_t>(n));
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i)
    ++pad;
  out.resize(out.size() - pad);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const discovery::RegistryState state = make_state();
  ops::AdmissionLimits limits;
  limits.max_patch_bytes = 4096;  // small enough for the fuzzer to reach the bound
  const std::string body(reinterpret_cast<const char*>(data), size);
  const ops::HttpReply r = ops::admission_reply(body, &state, limits);
  const json out = json::parse(r.body);  // throws (a crash here) if the reply is not valid JSON
  if (r.status != 200) return 0;
  const json& response = out.at("response");
  if (!response.at("allowed").get<bool>()) std::abort();
  if (response.contains("patch")) {
    const json patch = json::parse(decode64(response["patch"].get<std::string>()));
    const json review = json::parse(body);
    volatile size_t sink = review["request"]["object"].patch(patch).size();  // throws if it does not apply
    (void)sink;
  }
  return 0;
}
