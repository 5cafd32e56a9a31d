// The hot-path query parser: header, the one question and the OPT record, nothing else (RFC 1035 §4.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

enum class ParseStatus {
  Ok,
  Drop,     // not answerable: shorter than a header, or QR=1 (a response sent to us)
  FormErr,  // malformed: answer FORMERR
  NotImp,   // opcode other than QUERY: answer NOTIMP
};

struct ParsedQuery {
  ParseStatus status = ParseStatus::Drop;  // what parse_query() returned
  uint16_t id = 0;
  uint16_t flags = 0;  // raw header flags of the query
  uint8_t opcode = 0;
  bool question_ok = false;       // qname/qtype/qclass were read (usable in an error answer)
  uint8_t qname[kMaxNameLength];  // lower-cased wire form
  size_t qname_len = 0;
  size_t question_end = kHeaderSize;  // offset just after QCLASS in the query
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool has_edns = false;
  uint16_t udp_size = kMinUdpSize;  // the client's EDNS buffer size, at least 512
  uint8_t edns_version = 0;
  bool do_bit = false;
};

// Never throws, never allocates; every read is bounds-checked. Also stores the result in q.status.
ParseStatus parse_query(std::span<const uint8_t> packet, ParsedQuery& q);

}  // namespace clusterdns::dns::wire
