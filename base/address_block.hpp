// An address block ("10.0.0.0/8", "fd00::/8", "127.0.0.1") matched against the socket addresses the kernel
// hands over: --allow-recursion and --allow-transfer.
#pragma once

#include <sys/socket.h>

#include <optional>
#include <string>

#include "base/ip_address.hpp"

namespace clusterdns::base {

struct AddressBlock {
  IpAddress address;
  unsigned prefix = 0;
  // An address alone is a block of one (/32, /128). nullopt for a bad address or prefix length.
  static std::optional<AddressBlock> parse(const std::string& text);
  // IPv4 blocks also match IPv4-mapped IPv6 peers (a dual-stack socket's view of an IPv4 client). Hot path:
  // no allocation.
  bool contains(const sockaddr* addr) const;
  std::string text() const;
};

}  // namespace clusterdns::base
