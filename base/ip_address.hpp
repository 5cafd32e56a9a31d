// An IP address as a value: IPv4 or IPv6 bytes read from text once (inet_pton, POSIX), compared, printed in
// canonical form (inet_ntop) and matched against the socket addresses the kernel hands over.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace clusterdns::base {

class IpAddress {
 public:
  // "10.0.0.1", "fd00::1", "::ffff:10.0.0.1": an address alone (no brackets, port, prefix or zone index).
  static std::optional<IpAddress> parse(std::string_view text);
  // The address of an AF_INET or AF_INET6 socket address; nullopt for any other family or a null pointer.
  static std::optional<IpAddress> from_sockaddr(const sockaddr* addr);
  // 4 bytes (IPv4) or 16 (IPv6), network order; nullopt for any other length.
  static std::optional<IpAddress> from_bytes(std::span<const uint8_t> bytes) {
    if (bytes.size() != 4 && bytes.size() != 16) return std::nullopt;
    IpAddress a;
    a.v6_ = bytes.size() == 16;
    std::copy(bytes.begin(), bytes.end(), a.bytes_.begin());
    return a;
  }

  bool is_v6() const { return v6_; }
  // 4 bytes (IPv4) or 16 (IPv6), network order.
  std::span<const uint8_t> bytes() const { return {bytes_.data(), v6_ ? size_t{16} : size_t{4}}; }
  // The IPv4 address an IPv4-mapped IPv6 one carries (::ffff:a.b.c.d, RFC 4291 §2.5.5.2, how a dual-stack
  // socket shows an IPv4 client); any other address unchanged.
  IpAddress unmapped() const;
  // Canonical text: inet_ntop's ("fd00::1", lower case, zeros compressed).
  std::string text() const;
  // A socket address for this address and `port` (host order); returns its length.
  socklen_t to_sockaddr(uint16_t port, sockaddr_storage& out) const;

  bool operator==(const IpAddress&) const = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};  // IPv4: the first 4
};

inline std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  a.v6_ = text.find(':') != std::string_view::npos;
  if (inet_pton(a.v6_ ? AF_INET6 : AF_INET, buf, a.bytes_.data()) != 1) return std::nullopt;
  return a;
}

inline std::optional<IpAddress> IpAddress::from_sockaddr(const sockaddr* addr) {
  if (addr == nullptr) return std::nullopt;
  IpAddress a;
  if (addr->sa_family == AF_INET) {
    std::memcpy(a.bytes_.data(), &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
  } else if (addr->sa_family == AF_INET6) {
    a.v6_ = true;
    std::memcpy(a.bytes_.data(), &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, 16);
  } else {
    return std::nullopt;
  }
  return a;
}

inline IpAddress IpAddress::unmapped() const {
  static constexpr uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!v6_ || std::memcmp(bytes_.data(), kV4Mapped, sizeof kV4Mapped) != 0) return *this;
  IpAddress v4;
  std::copy_n(bytes_.begin() + 12, 4, v4.bytes_.begin());
  return v4;
}

inline std::string IpAddress::text() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof buf);
  return buf;
}

inline socklen_t IpAddress::to_sockaddr(uint16_t port, sockaddr_storage& out) const {
  out = {};
  if (v6_) {
    auto* s = reinterpret_cast<sockaddr_in6*>(&out);
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    std::memcpy(&s->sin6_addr, bytes_.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s = reinterpret_cast<sockaddr_in*>(&out);
  s->sin_family = AF_INET;
  s->sin_port = htons(port);
  std::memcpy(&s->sin_addr, bytes_.data(), 4);
  return sizeof(sockaddr_in);
}

}  // namespace clusterdns::base
