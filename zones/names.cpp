// Name forms for reverse and per-endpoint records.
#include "zones/names.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "base/ip_address.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns::zones {

std::string reverse_name(const std::string& ip) {
  std::string out;
  reverse_name_into(ip, out);
  return out;
}

bool reverse_name_into(std::string_view ip, std::string& out) {
  out.clear();
  const std::optional<base::IpAddress> address = base::IpAddress::parse(ip);
  if (!address) return false;
  const auto b = address->bytes();
  // Wire form straight away (RFC 1035 §3.1): each label its length, then its text.
  if (!address->is_v6()) {
    for (int i = 3; i >= 0; --i) {
      char digits[3];
      size_t n = 0;
      for (unsigned v = b[static_cast<size_t>(i)];; v /= 10) {
        digits[n++] = static_cast<char>('0' + v % 10);
        if (v < 10) break;
      }
      out.push_back(static_cast<char>(n));
      while (n > 0)
        out.push_back(digits[--n]);
    }
    out.append(
        "\x07"
        "in-addr"
        "\x04"
        "arpa",
        13);
  } else {
    static const char* hex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      out.push_back(1);
      out.push_back(hex[b[static_cast<size_t>(i)] & 0xF]);
      out.push_back(1);
      out.push_back(hex[b[static_cast<size_t>(i)] >> 4]);
    }
    out.append(
        "\x03"
        "ip6"
        "\x04"
        "arpa",
        9);
  }
  out.push_back(0);
  return true;
}

std::optional<std::string> parse_reverse_name(std::string_view wire) {
  const std::string lower = dns::wire::lowercase(wire);
  std::vector<std::string> labels;
  for (size_t i = 0; i < lower.size() && lower[i] != 0;) {
    const size_t len = static_cast<uint8_t>(lower[i]);
    labels.emplace_back(lower.substr(i + 1, len));
    i += len + 1;
  }
  if (labels.size() == 6 && labels[4] == "in-addr" && labels[5] == "arpa") {
    uint8_t b[4];
    for (int i = 0; i < 4; ++i) {
      const std::string& l = labels[static_cast<size_t>(3 - i)];
      if (l.empty() || l.size() > 3 || !std::all_of(l.begin(), l.end(), ::isdigit)) return std::nullopt;
      if (l.size() > 1 && l[0] == '0') return std::nullopt;  // "010" is not the canonical octet
      const int v = std::stoi(l);
      if (v > 255) return std::nullopt;
      b[i] = static_cast<uint8_t>(v);
    }
    return base::IpAddress::from_bytes(b)->text();
  }
  if (labels.size() == 34 && labels[32] == "ip6" && labels[33] == "arpa") {
    uint8_t b[16] = {};
    for (size_t i = 0; i < 32; ++i) {
      const std::string& l = labels[i];
      if (l.size() != 1 || !std::isxdigit(static_cast<unsigned char>(l[0]))) return std::nullopt;
      const int nibble = std::stoi(l, nullptr, 16);
      const size_t byte = 15 - i / 2;
      b[byte] = static_cast<uint8_t>(b[byte] | (i % 2 == 0 ? nibble : nibble << 4));
    }
    return base::IpAddress::from_bytes(b)->text();
  }
  return std::nullopt;
}

std::string dashed_ip(const std::string& ip) {
  std::string s = ip;
  std::replace(s.begin(), s.end(), '.', '-');
  std::replace(s.begin(), s.end(), ':', '-');
  if (!s.empty() && s.front() == '-') s.insert(s.begin(), '0');
  if (!s.empty() && s.back() == '-') s.push_back('0');
  return s;
}

bool parse_dashed_ip_raw(std::string_view label, uint8_t (&out)[16], bool& v6) {
  if (label.empty() || label.size() > 63) return false;
  char buf[64];
  size_t dashes = 0;
  bool double_dash = false;
  for (size_t i = 0; i < label.size(); ++i) {
    if (label[i] == '-') {
      ++dashes;
      double_dash = double_dash || (i > 0 && label[i - 1] == '-');
    }
  }
  v6 = !(dashes == 3 && !double_dash);
  for (size_t i = 0; i < label.size(); ++i)
    buf[i] = label[i] == '-' ? (v6 ? ':' : '.') : label[i];
  buf[label.size()] = '\0';
  return inet_pton(v6 ? AF_INET6 : AF_INET, buf, out) == 1;
}

std::optional<std::string> parse_dashed_ip(std::string_view label) {
  uint8_t b[16];
  bool v6 = false;
  if (!parse_dashed_ip_raw(label, b, v6)) return std::nullopt;
  return base::IpAddress::from_bytes(std::span<const uint8_t>(b, v6 ? 16 : 4))->text();
}

bool is_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::string wire_label(std::string_view text) {
  std::string w;
  w.push_back(static_cast<char>(text.size()));
  w += dns::wire::lowercase(text);
  return w;
}

std::string srv_labels(const std::string& port_name, discovery::Protocol proto) {
  return wire_label("_" + port_name) + wire_label(std::string("_") + discovery::protocol_label(proto));
}

std::string endpoint_label(const discovery::Endpoint& ep, const std::string& ip) {
  return (!ep.hostname.empty() && is_dns_label(dns::wire::lowercase(ep.hostname))) ? ep.hostname
                                                                                   : dashed_ip(ip);
}

}  // namespace clusterdns::zones
