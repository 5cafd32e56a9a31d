// libFuzzer target: any bytes as a resolv.conf (--resolv-conf, resolv.conf(5)).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/forward/upstream.hpp"

using namespace clusterdns::dns::forward;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ResolvConf conf = parse_resolv_conf(std::string_view(reinterpret_cast<const char*>(data), size));
  volatile size_t sink = conf.nameservers.size() + conf.search.size() + conf.loopback.size();
  for (const auto& ns : conf.nameservers)
    sink = sink + ns.text.size() + ns.addr_len;
  (void)sink;
  return 0;
}
