// Small helpers shared by every registry source and reader.
#include "discovery/model.hpp"

#include "base/ip_address.hpp"

namespace clusterdns::discovery {

const char* protocol_name(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "UDP";
    case Protocol::Sctp:
      return "SCTP";
    case Protocol::Tcp:
      break;
  }
  return "TCP";
}

const char* protocol_label(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "udp";
    case Protocol::Sctp:
      return "sctp";
    case Protocol::Tcp:
      break;
  }
  return "tcp";
}

std::optional<Protocol> parse_protocol(const std::string& api_name) {
  if (api_name.empty() || api_name == "TCP") return Protocol::Tcp;
  if (api_name == "UDP") return Protocol::Udp;
  if (api_name == "SCTP") return Protocol::Sctp;
  return std::nullopt;
}

std::optional<std::string> canonical_ip(const std::string& text) {
  const std::optional<base::IpAddress> address = base::IpAddress::parse(text);
  if (!address) return std::nullopt;
  // inet_pton takes IPv4 only as four decimal numbers without leading zeros: what inet_ntop writes back, so
  // the round trip (an sprintf per address read) is skipped.
  if (!address->is_v6()) return text;
  return address->text();
}

bool is_ipv6(const std::string& canonical) {
  return canonical.find(':') != std::string::npos;
}

}  // namespace clusterdns::discovery
