// Re-framing another message's records behind a different question: the CNAME answers of server-side
// search-path walking (autopath). Names are decompressed, since their pointers referred to the other
// message. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/wire/query.hpp"

namespace clusterdns::dns::wire {

// Answers `query` (parsed as `q`) with `CNAME <qname> -> <target>` followed by every record of
// `target_answer`, a complete response whose question is `target` (lower-cased wire form). The header
// takes the RCODE and the AA/RA/AD bits of `target_answer` (RFC 6604 §3: the RCODE describes the last
// name of the chain), the ID, opcode, RD and CD of the query. The target's OPT record is replaced by our
// own when the query had one. Whole records beyond `limit` are left out, with TC when an answer or
// authority record is lost (RFC 2181 §9). Returns the length; 0 when `target_answer` is malformed or
// `out` cannot hold even the header, question and CNAME.
size_t write_cname_answer(std::span<const uint8_t> query, const ParsedQuery& q, std::string_view target,
                          uint32_t cname_ttl, std::span<const uint8_t> target_answer, size_t limit,
                          std::span<uint8_t> out);

}  // namespace clusterdns::dns::wire
