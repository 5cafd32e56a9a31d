// DNS constants (RFC 1035 §3.2, RFC 6891, RFC 3596, RFC 2782) shared by parser, writer and zones.
#pragma once

#include <cstdint>

namespace clusterdns::dns::wire {

namespace rrtype {
inline constexpr uint16_t A = 1;
inline constexpr uint16_t NS = 2;
inline constexpr uint16_t CNAME = 5;
inline constexpr uint16_t SOA = 6;
inline constexpr uint16_t PTR = 12;
inline constexpr uint16_t MX = 15;
inline constexpr uint16_t TXT = 16;
inline constexpr uint16_t AAAA = 28;
inline constexpr uint16_t SRV = 33;
inline constexpr uint16_t OPT = 41;
inline constexpr uint16_t IXFR = 251;
inline constexpr uint16_t AXFR = 252;
inline constexpr uint16_t ANY = 255;
}  // namespace rrtype

inline constexpr uint16_t kClassIn = 1;

enum class Rcode : uint8_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5,
};
// RFC 6891 §6.1.3: extended RCODE 16, carried as 1 in the OPT TTL's upper byte with header RCODE 0.
inline constexpr uint16_t kRcodeBadVers = 16;

inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;
inline constexpr uint16_t kFlagRa = 0x0080;
inline constexpr uint16_t kFlagCd = 0x0010;

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxLabelLength = 63;
inline constexpr uint16_t kMinUdpSize = 512;
// DNS Flag Day 2020: the largest UDP answer we send, whatever the client offers.
inline constexpr uint16_t kMaxUdpSize = 1232;
inline constexpr size_t kOptRecordSize = 11;

inline uint16_t load_u16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
inline void store_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace clusterdns::dns::wire
