// Hot-path response helpers: header, echoed question, OPT and error answers. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/query.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

// Writes the 12-byte header: QR, the query's opcode and RD (and CD), plus `flags` and `rcode`.
void put_header(uint8_t* out, const ParsedQuery& q, uint16_t flags, uint8_t rcode, uint16_t qdcount,
                uint16_t ancount, uint16_t nscount, uint16_t arcount);
// Writes an OPT RR (RFC 6891 §6.1.2) advertising kMaxUdpSize; `ext_rcode` is the upper 8 bits.
void put_opt(uint8_t* out, uint8_t ext_rcode, bool do_bit);
// The largest response we may send for this query over UDP (RFC 6891 §6.2.5, capped at 1232).
inline size_t udp_limit(const ParsedQuery& q) {
  if (!q.has_edns) return kMinUdpSize;
  return q.udp_size < kMaxUdpSize ? q.udp_size : kMaxUdpSize;
}
// A complete answer with no records: header, the question (when it was readable), OPT when the
// query had one. `rcode` may be kRcodeBadVers (RFC 6891 §6.1.3). Returns its length (0 if out is short).
size_t write_empty_response(std::span<const uint8_t> query, const ParsedQuery& q, uint16_t rcode,
                            uint16_t flags, std::span<uint8_t> out);
// Parses `query` into q. True when it is a standard query to answer; false when it is not, with `written`
// set to the error answer's length (FORMERR, NOTIMP, BADVERS) or to 0 when it must be dropped.
bool parse_answerable(std::span<const uint8_t> query, ParsedQuery& q, std::span<uint8_t> out,
                      size_t& written);

}  // namespace clusterdns::dns::wire
