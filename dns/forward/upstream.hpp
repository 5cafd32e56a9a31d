// Upstream server addresses and the resolv.conf they usually come from (resolv.conf(5)).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clusterdns::dns::forward {

struct Upstream {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string text;  // "10.0.0.1:53", "[fd00::1]:53": the form c-ares' server CSV and our logs use

  bool operator==(const Upstream& o) const { return text == o.text; }
};

// "10.0.0.1", "10.0.0.1:5353", "fd00::1", "[fd00::1]:5353". IP literals only: a resolver must not need
// DNS to find its servers. On failure returns nullopt and sets `error` to one line.
std::optional<Upstream> parse_upstream(std::string_view text, std::string& error);

// 127.0.0.0/8, ::1 and IPv4-mapped loopback: in a pod these are the pod itself.
bool is_loopback(const Upstream& u);

struct ResolvConf {
  std::vector<Upstream> nameservers;
  std::vector<std::string> loopback;  // nameservers left out because they are loopback addresses
  std::vector<std::string> search;    // lower-cased, no trailing dot
  std::optional<unsigned> timeout_s;  // options timeout:N (c-ares 1.18 ignores it: we apply it)
  std::optional<unsigned> attempts;   // options attempts:N
};

// Parses resolv.conf text: nameserver (port 53), search/domain (last one wins), options timeout/attempts.
// Loopback nameservers go to `loopback`, not `nameservers`. Unknown lines are ignored, as glibc does.
ResolvConf parse_resolv_conf(std::string_view text);
// Reads and parses PATH; nullopt with `error` when it cannot be read.
std::optional<ResolvConf> read_resolv_conf(const std::string& path, std::string& error);

}  // namespace clusterdns::dns::forward
