// Which clients may have names forwarded for them (--allow-recursion): address blocks matched against the
// query's source address. Cluster names are answered for everyone; only recursion is restricted.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ip_address.hpp"

namespace clusterdns::dns::forward {

// An address block: "10.0.0.0/8", "fd00::/8", "127.0.0.1" (a single address).
struct AddressBlock {
  base::IpAddress address;
  unsigned prefix = 0;
  static std::optional<AddressBlock> parse(const std::string& text);
  // IPv4 blocks also match IPv4-mapped IPv6 peers (a dual-stack socket's view of an IPv4 client).
  bool contains(const sockaddr* addr) const;
  std::string text() const;
};

// The blocks of a private network and of this host, BIND's "localhost; localnets;" idea without knowing
// the interfaces: loopback, RFC 1918, RFC 6598 (carrier-grade NAT, used by some pod networks), link-local
// (node-local DNS caches), IPv6 unique-local (RFC 4193) and link-local. Pod and node addresses of almost
// every cluster fall inside; a server reachable from the Internet is not an open resolver.
std::vector<AddressBlock> default_recursion_clients();

class ClientAcl {
 public:
  ClientAcl() = default;  // allows everyone
  explicit ClientAcl(std::vector<AddressBlock> blocks) : blocks_(std::move(blocks)), open_(false) {}
  // A null peer is an in-process caller (a probe, a test, a nested lookup): allowed. Hot path: no allocation.
  bool allows(const sockaddr* peer) const {
    if (open_ || peer == nullptr) return true;
    for (const AddressBlock& b : blocks_) {
      if (b.contains(peer)) return true;
    }
    return false;
  }

 private:
  std::vector<AddressBlock> blocks_;
  bool open_ = true;
};

}  // namespace clusterdns::dns::forward
