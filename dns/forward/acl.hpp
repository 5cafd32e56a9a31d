// Which clients may have names forwarded for them (--allow-recursion): address blocks matched against the
// query's source address. Cluster names are answered for everyone; only recursion is restricted.
#pragma once

#include <sys/socket.h>

#include <vector>

#include "base/address_block.hpp"

namespace clusterdns::dns::forward {

// The blocks of a private network and of this host, BIND's "localhost; localnets;" idea without knowing
// the interfaces: loopback, RFC 1918, RFC 6598 (carrier-grade NAT, used by some pod networks), link-local
// (node-local DNS caches), IPv6 unique-local (RFC 4193) and link-local. Pod and node addresses of almost
// every cluster fall inside; a server reachable from the Internet is not an open resolver.
std::vector<base::AddressBlock> default_recursion_clients();

class ClientAcl {
 public:
  ClientAcl() = default;  // allows everyone
  explicit ClientAcl(std::vector<base::AddressBlock> blocks) : blocks_(std::move(blocks)), open_(false) {}
  // A null peer is an in-process caller (a probe, a test, a nested lookup): allowed. Hot path: no allocation.
  bool allows(const sockaddr* peer) const {
    if (open_ || peer == nullptr) return true;
    for (const base::AddressBlock& b : blocks_) {
      if (b.contains(peer)) return true;
    }
    return false;
  }

 private:
  std::vector<base::AddressBlock> blocks_;
  bool open_ = true;
};

}  // namespace clusterdns::dns::forward
