// Small helpers shared by every registry source and reader.
#include "discovery/model.hpp"

#include <arpa/inet.h>

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
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  if (text.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, text.c_str(), buf) != 1) return std::nullopt;
    inet_ntop(AF_INET, buf, out, sizeof out);
  } else {
    if (inet_pton(AF_INET6, text.c_str(), buf) != 1) return std::nullopt;
    inet_ntop(AF_INET6, buf, out, sizeof out);
  }
  return std::string(out);
}

bool is_ipv6(const std::string& canonical) {
  return canonical.find(':') != std::string::npos;
}

}  // namespace clusterdns::discovery
