// Address blocks for --allow-recursion.
#include "dns/forward/acl.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace clusterdns::dns::forward {

std::optional<AddressBlock> AddressBlock::parse(const std::string& text) {
  AddressBlock b;
  const auto slash = text.find('/');
  const std::string addr = text.substr(0, slash);
  b.v6 = addr.find(':') != std::string::npos;
  if (inet_pton(b.v6 ? AF_INET6 : AF_INET, addr.c_str(), b.bytes) != 1) return std::nullopt;
  const unsigned max = b.v6 ? 128 : 32;
  b.prefix = max;
  if (slash != std::string::npos) {
    const std::string bits = text.substr(slash + 1);
    if (bits.empty() || bits.size() > 3 || bits.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    b.prefix = static_cast<unsigned>(std::stoul(bits));
    if (b.prefix > max) return std::nullopt;
  }
  return b;
}

bool AddressBlock::contains(const sockaddr* addr) const {
  if (!addr) return false;
  const uint8_t* a = nullptr;
  if (addr->sa_family == AF_INET && !v6) {
    a = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(addr)->sin_addr);
  } else if (addr->sa_family == AF_INET6) {
    const auto* a6 =
        reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (v6) {
      a = a6;
    } else if (std::memcmp(a6, kV4Mapped, 12) == 0) {
      a = a6 + 12;
    }
  }
  if (!a) return false;
  const unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, bytes, full) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (bytes[full] & mask);
}

std::string AddressBlock::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix);
}

std::vector<AddressBlock> default_recursion_clients() {
  std::vector<AddressBlock> out;
  for (const char* block : {"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                            "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10"}) {
    out.push_back(*AddressBlock::parse(block));
  }
  return out;
}

}  // namespace clusterdns::dns::forward
