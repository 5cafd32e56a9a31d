// Node-local mode's address: a dummy interface holding a link-local IP (169.254.20.10), made over rtnetlink
// (no `ip` binary in the image), as NodeLocal DNSCache does.
#pragma once

#include <string>

namespace clusterdns::ops {

inline constexpr const char* kNodeLocalInterface = "nodelocaldns";

struct NodeLocalAddress {
  std::string interface;
  bool created_interface = false;  // we made it, so we remove it at exit
  std::string kind;                // "dummy", or "bridge" on a kernel without the dummy driver
  bool added_address = false;
};

// Makes `ip` (canonical text, IPv4 or IPv6) an address of the dummy interface `ifname` (an empty bridge
// when the kernel has no dummy driver), creating the interface and bringing it up as needed. Needs
// CAP_NET_ADMIN, unless the address is already there (put by an init container or a previous run): then
// nothing changes. Throws std::runtime_error with one line, e.g. "node-local: cannot create dummy interface
// nodelocaldns: Operation not permitted (needs CAP_NET_ADMIN)".
NodeLocalAddress ensure_node_local_address(const std::string& ip,
                                           const std::string& ifname = kNodeLocalInterface);

// Deletes the interface (and with it the address). Best effort; returns false with `error` set on failure.
bool remove_interface(const std::string& ifname, std::string& error);

// True when `ip` is an address of any interface of this network namespace.
bool address_present(const std::string& ip);

}  // namespace clusterdns::ops
