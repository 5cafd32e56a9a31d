// DNS constants (RFC 1035 §3.2 and §4.1.1, RFC 6891, RFC 3596, RFC 2782, the IANA DNS parameters registry)
// shared by parser, writer, zones, forwarding and metrics: no type, class, flag or opcode is a bare number
// elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>

namespace clusterdns::dns::wire {

namespace rrtype {
inline constexpr uint16_t A = 1;
inline constexpr uint16_t NS = 2;
inline constexpr uint16_t MD = 3;  // obsolete (RFC 973), still a name in RDATA
inline constexpr uint16_t MF = 4;  // obsolete (RFC 973)
inline constexpr uint16_t CNAME = 5;
inline constexpr uint16_t SOA = 6;
inline constexpr uint16_t MB = 7;  // experimental (RFC 1035 §3.3)
inline constexpr uint16_t MG = 8;
inline constexpr uint16_t MR = 9;
inline constexpr uint16_t PTR = 12;
inline constexpr uint16_t MINFO = 14;
inline constexpr uint16_t MX = 15;
inline constexpr uint16_t TXT = 16;
inline constexpr uint16_t RP = 17;     // RFC 1183
inline constexpr uint16_t AFSDB = 18;  // RFC 1183
inline constexpr uint16_t RT = 21;     // RFC 1183
inline constexpr uint16_t AAAA = 28;
inline constexpr uint16_t SRV = 33;
inline constexpr uint16_t DNAME = 39;  // RFC 6672
inline constexpr uint16_t OPT = 41;
inline constexpr uint16_t DS = 43;  // RFC 4034
inline constexpr uint16_t RRSIG = 46;
inline constexpr uint16_t NSEC = 47;
inline constexpr uint16_t DNSKEY = 48;
inline constexpr uint16_t NSEC3 = 50;  // RFC 5155
inline constexpr uint16_t HTTPS = 65;  // RFC 9460
inline constexpr uint16_t IXFR = 251;
inline constexpr uint16_t AXFR = 252;
inline constexpr uint16_t ANY = 255;
}  // namespace rrtype

inline constexpr uint16_t kClassIn = 1;
inline constexpr uint16_t kClassCh = 3;
inline constexpr uint16_t kClassHs = 4;
inline constexpr uint16_t kClassAny = 255;

// OPCODE (RFC 1035 §4.1.1, RFC 1996, RFC 2136): bits 11-14 of the flags word.
namespace opcode {
inline constexpr uint8_t Query = 0;
inline constexpr uint8_t IQuery = 1;
inline constexpr uint8_t Status = 2;
inline constexpr uint8_t Notify = 4;
inline constexpr uint8_t Update = 5;
}  // namespace opcode
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr unsigned kOpcodeShift = 11;
inline constexpr uint16_t kRcodeMask = 0x000F;

enum class Rcode : uint8_t {
  NoError = 0,
  FormErr = 1,
  ServFail = 2,
  NxDomain = 3,
  NotImp = 4,
  Refused = 5,
  YxDomain = 6,  // RFC 2136 §2.2
  YxRrset = 7,
  NxRrset = 8,
  NotAuth = 9,
  NotZone = 10,
};
// RFC 6891 §6.1.3: extended RCODE 16, carried as 1 in the OPT TTL's upper byte with header RCODE 0.
inline constexpr uint16_t kRcodeBadVers = 16;

inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;
inline constexpr uint16_t kFlagRa = 0x0080;
inline constexpr uint16_t kFlagAd = 0x0020;  // RFC 4035 §3.2.3
inline constexpr uint16_t kFlagCd = 0x0010;

// OPT record (RFC 6891 §6.1.3): the DO bit is the top bit of the 16 flag bits at the end of the TTL.
inline constexpr uint16_t kEdnsDo = 0x8000;
// A compression pointer (RFC 1035 §4.1.4): the two top bits set, then a 14-bit offset.
inline constexpr uint16_t kPointer = 0xC000;
inline constexpr uint8_t kPointerByte = 0xC0;
inline constexpr size_t kMaxPointerOffset = 0x3FFF;
// Bytes of an RR between owner and RDATA: TYPE, CLASS, TTL, RDLENGTH (RFC 1035 §4.1.3).
inline constexpr size_t kRrFixedSize = 10;

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
