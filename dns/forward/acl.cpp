// The default clients of --allow-recursion.
#include "dns/forward/acl.hpp"

namespace clusterdns::dns::forward {

std::vector<base::AddressBlock> default_recursion_clients() {
  std::vector<base::AddressBlock> out;
  for (const char* block : {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                            "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"}) {
    out.push_back(*base::AddressBlock::parse(block));
  }
  return out;
}

}  // namespace clusterdns::dns::forward
