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

// Completes `prefix`, an answer to `query` (parsed as `q`) whose answer section ends with a CNAME, with
// `target_answer`, a resolver's complete response for that CNAME's target: the prefix's answer records
// as they are, then the target's answer records, and its authority records when it is negative (NXDOMAIN,
// or no answer: RFC 2308 §2), each TTL capped at `ttl_cap`. The RCODE is the target's (RFC 6604 §3), AA
// the prefix's, RA set; our OPT when the query had one. Whole records beyond `limit` are left out, with TC
// when an answer or authority record is lost (RFC 2181 §9). Returns the length; 0 when a message is
// malformed or `out` cannot hold the prefix's answer records. `out` must not overlap the inputs.
size_t write_chained_answer(std::span<const uint8_t> query, const ParsedQuery& q,
                            std::span<const uint8_t> prefix, std::span<const uint8_t> target_answer,
                            uint32_t ttl_cap, size_t limit, std::span<uint8_t> out);

}  // namespace clusterdns::dns::wire
