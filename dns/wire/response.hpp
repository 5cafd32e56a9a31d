// Hot-path message framing: answer headers, questions, OPT, whole queries and error answers. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/wire/cursor.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/query.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

// Sets the header of an answer to `q`: its ID, QR, the query's opcode, RD and CD, plus `flags`, `rcode`
// (its low 4 bits) and the section counts.
void put_header(Header h, const ParsedQuery& q, uint16_t flags, uint8_t rcode, uint16_t qdcount,
                uint16_t ancount, uint16_t nscount, uint16_t arcount);
// Appends an OPT RR (RFC 6891 §6.1.2) with no options, advertising `udp_size`; `ext_rcode` is the upper 8
// bits of the extended RCODE.
void put_opt(Cursor& w, uint8_t ext_rcode, bool do_bit, uint16_t udp_size = kMaxUdpSize);
// Appends a question entry (RFC 1035 §4.1.2); `qname` in wire form.
void put_question(Cursor& w, std::string_view qname, uint16_t qtype, uint16_t qclass);

// EDNS state of a query we send: an OPT record with this buffer size and DO bit.
struct Edns {
  uint16_t udp_size = kMaxUdpSize;
  bool do_bit = false;
};
// Writes a one-question query: `id`, `flags` (opcode QUERY), the question, an OPT when `edns` is given.
// Returns its length; 0 when `out` is too small.
size_t write_query(std::span<uint8_t> out, uint16_t id, uint16_t flags, std::string_view qname,
                   uint16_t qtype, uint16_t qclass, const Edns* edns);

// The largest response we may send for this query over UDP (RFC 6891 §6.2.5, capped at 1232).
inline size_t udp_limit(const ParsedQuery& q) {
  if (!q.has_edns) return kMinUdpSize;
  return q.udp_size < kMaxUdpSize ? q.udp_size : kMaxUdpSize;
}
// A complete answer with no records: header, the question (when it was readable), OPT when the
// query had one. `rcode` may be kRcodeBadVers (RFC 6891 §6.1.3). Returns its length (0 if out is short).
size_t write_empty_response(std::span<const uint8_t> query, const ParsedQuery& q, uint16_t rcode,
                            uint16_t flags, std::span<uint8_t> out);
// True when `q`, the parse of `query`, is a standard query to answer; false when it is not, with `written`
// set to the error answer's length (FORMERR, NOTIMP, BADVERS) or to 0 when it must be dropped.
bool answerable(std::span<const uint8_t> query, const ParsedQuery& q, std::span<uint8_t> out,
                size_t& written);
// parse_query(), then answerable().
bool parse_answerable(std::span<const uint8_t> query, ParsedQuery& q, std::span<uint8_t> out,
                      size_t& written);

}  // namespace clusterdns::dns::wire
