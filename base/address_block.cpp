// AddressBlock: parsing and prefix matching.
#include "base/address_block.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace clusterdns::base {

std::optional<AddressBlock> AddressBlock::parse(const std::string& text) {
  const auto slash = text.find('/');
  const std::optional<IpAddress> address = IpAddress::parse(std::string_view(text).substr(0, slash));
  if (!address) return std::nullopt;
  AddressBlock b;
  b.address = *address;
  const unsigned max = b.address.is_v6() ? 128 : 32;
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
  std::optional<IpAddress> peer = IpAddress::from_sockaddr(addr);
  if (!peer) return false;
  if (!address.is_v6()) peer = peer->unmapped();
  if (peer->is_v6() != address.is_v6()) return false;
  const uint8_t* a = peer->bytes().data();
  const uint8_t* bytes = address.bytes().data();
  const unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, bytes, full) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (bytes[full] & mask);
}

std::string AddressBlock::text() const {
  return address.text() + "/" + std::to_string(prefix);
}

}  // namespace clusterdns::base
