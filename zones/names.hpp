// Kubernetes DNS name forms: reverse names, dashed-IP labels (Kubernetes DNS specification 1.1.0 §2.4).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "discovery/model.hpp"

namespace clusterdns::zones {

// "10.0.0.1" → wire "1.0.0.10.in-addr.arpa."; IPv6 → the full 32-nibble ip6.arpa name. "" if not an IP.
std::string reverse_name(const std::string& ip);
// The same written into `out` (replacing what it held) without a temporary; false (out empty) if not an IP.
bool reverse_name_into(std::string_view ip, std::string& out);
// Wire reverse name → canonical IP text; nullopt unless it is exactly 4 octets / 32 nibbles (any case).
std::optional<std::string> parse_reverse_name(std::string_view wire);
// CoreDNS's deterministic endpoint label: "10-244-1-5", IPv6 ':' → '-', leading/trailing '-' padded by 0.
std::string dashed_ip(const std::string& ip);
// Pod-record label → canonical IP: exactly 3 dashes and no "--" means IPv4, anything else IPv6.
std::optional<std::string> parse_dashed_ip(std::string_view label);
// The same without allocating (query path): the address bytes (4 or 16) and its family.
bool parse_dashed_ip_raw(std::string_view label, uint8_t (&out)[16], bool& v6);
// One wire-form label: its length byte, then the text lower-cased.
std::string wire_label(std::string_view text);
// The "_<port>._<proto>" labels that start an SRV owner name (§2.3.2, §2.4.2), wire form.
std::string srv_labels(const std::string& port_name, discovery::Protocol proto);
// The label a headless endpoint is named by (§2.4.1): its hostname when that is a DNS label, else the
// dashed IP.
std::string endpoint_label(const discovery::Endpoint& ep, const std::string& ip);
// True for an RFC 1123 label (lower-case letters, digits, '-', not at the ends, 1..63).
bool is_dns_label(std::string_view label);

}  // namespace clusterdns::zones
