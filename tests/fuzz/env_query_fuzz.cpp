// libFuzzer target: any bytes as the query string of GET /v1/env. Decoding and the reply never throw, and
// the reply is valid JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ops/http/admission.hpp"
#include "ops/http/http_query.hpp"

using namespace clusterdns;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const discovery::RegistryState state = [] {
    discovery::RegistryState s;
    s.namespaces = {"default"};
    discovery::Service svc;
    svc.ns = "default";
    svc.name = "kubernetes";
    svc.cluster_ips = {"10.0.0.1"};
    svc.ports.push_back({"https", 443, discovery::Protocol::Tcp, ""});
    s.services.push_back(svc);
    return s;
  }();
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  const ops::HttpReply r = ops::env_reply(ops::query_param(query, "namespace"),
                                          ops::query_param(query, "enableServiceLinks"), &state);
  if (r.status != 200 && r.status != 400) std::abort();
  volatile size_t sink = nlohmann::json::parse(r.body).size();  // throws if not valid JSON
  (void)sink;
  return 0;
}
