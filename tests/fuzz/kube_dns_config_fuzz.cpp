// libFuzzer target: the kube-dns ConfigMap directory's two files (stubDomains, upstreamNameservers) as the
// directory reader passes them to parse_kube_dns_config. Input: one byte saying which files exist (bit 0,
// bit 1), then the first file's content, a NUL, the second's.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/forward/routes.hpp"

using namespace clusterdns::dns::forward;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t present = data[0];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t nul = rest.find('\0');
  std::optional<std::string> stubs, upstreams;
  if (present & 1) stubs = std::string(rest.substr(0, nul));
  if (present & 2)
    upstreams = std::string(nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1));
  std::string error;
  const auto config = parse_kube_dns_config(stubs, upstreams, error);
  volatile size_t sink = config ? (config->stubs ? config->stubs->size() : 0) : error.size();
  (void)sink;
  return 0;
}
