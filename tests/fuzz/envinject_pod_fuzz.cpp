// libFuzzer target: any bytes as `envinject --pod` JSON. Parsing is bounded; the built Pod must equal the
// input with the patch applied (RFC 6902), and the patch-only mode must give the same patch.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "envinject/json_input.hpp"
#include "envinject/pod_patch.hpp"

using namespace clusterdns;
using nlohmann::json;

namespace {

std::vector<discovery::Service> make_services() {
  std::vector<discovery::Service> out;
  auto add = [&](const char* ns, const char* name, const char* ip, const char* port_name, int32_t port) {
    discovery::Service svc;
    svc.ns = ns;
    svc.name = name;
    svc.cluster_ips = {ip};
    svc.ports.push_back({port_name, port, discovery::Protocol::Tcp, ""});
    out.push_back(svc);
  };
  add("default", "kubernetes", "10.0.0.1", "https", 443);
  add("default", "my-nginx", "10.0.162.149", "http", 80);
  add("shop", "cart", "10.0.9.9", "", 8080);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const discovery::ObjectTable<discovery::Service> services(make_services());
  const envinject::JsonInput in =
      envinject::parse_json_input(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!in.error.empty()) return 0;
  const envinject::PodPatch full = envinject::build_pod_patch(in.value, services, "shop");
  if (!full.error.empty()) return 0;
  if (in.value.patch(full.patch) != full.pod) std::abort();
  envinject::PatchOptions only;
  only.build_pod = false;
  only.max_patch_bytes = 2048;
  const envinject::PodPatch bounded = envinject::build_pod_patch(in.value, services, "shop", only);
  if (bounded.oversize == 0 && bounded.patch != full.patch) std::abort();
  volatile size_t sink = full.pod.dump(-1, ' ', false, json::error_handler_t::strict).size();
  (void)sink;
  return 0;
}
