// Parsing and printing of "host:port" listen addresses.
#include <charconv>

#include "base/ip_address.hpp"
#include "dns/server/server.hpp"

namespace clusterdns::dns {
namespace {

// Normalises an IP literal of the given family ("0:0::0" -> "::"); nullopt if it is not one.
std::optional<std::string> normalise_ip(bool v6, const std::string& host) {
  const std::optional<base::IpAddress> ip = base::IpAddress::parse(host);
  if (!ip || ip->is_v6() != v6) return std::nullopt;
  return ip->text();
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string& error) {
  const std::string quoted = "listen address \"" + text + "\": ";
  std::string host;
  std::string port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) {
      error = quoted + "missing ']' after the IPv6 address";
      return std::nullopt;
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      error = quoted + "expected ':port' after ']', e.g. [::1]:53";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    bracketed = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      error = quoted + "expected host:port, e.g. 127.0.0.1:53 or [::1]:53";
      return std::nullopt;
    }
    if (text.find(':') != colon) {
      error = quoted + "IPv6 addresses need brackets, e.g. [::1]:53";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (host.empty()) {
    error = quoted + "missing host; use 0.0.0.0 or [::] for every address";
    return std::nullopt;
  }
  unsigned port = 0;
  const char* first = port_text.data();
  const char* last = first + port_text.size();
  const auto [end, ec] = std::from_chars(first, last, port);
  if (port_text.empty() || ec != std::errc() || end != last || port > 65535) {
    error = quoted + "port must be a number from 0 to 65535";
    return std::nullopt;
  }
  std::optional<std::string> ip = normalise_ip(bracketed, host);
  if (!ip) {
    if (bracketed) {
      error = quoted + "\"" + host + "\" is not an IPv6 address";
    } else {
      error = quoted + "\"" + host + "\" is not an IPv4 address (host names are not accepted)";
    }
    return std::nullopt;
  }
  return ListenAddress{*ip, static_cast<uint16_t>(port)};
}

std::string to_string(const ListenAddress& address) {
  const bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

}  // namespace clusterdns::dns
