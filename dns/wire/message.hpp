// Walking the records of a whole message (RFC 1035 §4.1): queries, forwarded answers, cached packets. The
// one record walker of the project. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

struct RecordView {
  Section section = Section::Answer;
  size_t owner = 0;  // offset of the owner name (possibly compressed)
  size_t fixed = 0;  // offset of TYPE; CLASS at fixed + 2, TTL at fixed + 4
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;  // offset of RDATA
  uint16_t rdlen = 0;
  size_t end() const { return rdata + rdlen; }
};

// Offset just after the question section, or 0 when the message is too short or malformed.
inline size_t question_end(std::span<const uint8_t> msg) {
  const HeaderView h(msg);
  if (!h.valid()) return 0;
  size_t pos = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount(); ++i) {
    const auto next = skip_name(msg.data(), msg.size(), pos);
    if (!next || *next + 4 > msg.size()) return 0;
    pos = *next + 4;
  }
  return pos;
}

// Calls fn(const RecordView&) for every record from offset `pos` (just after the question), in order, as
// many per section as the header counts; fn returns false to stop. Returns false when the message is
// malformed (a record runs past the end); true otherwise.
template <typename Fn>
bool for_each_record_from(std::span<const uint8_t> msg, size_t pos, Fn&& fn) {
  const HeaderView h(msg);
  if (!h.valid() || pos < kHeaderSize) return false;
  for (unsigned s = 0; s < 3; ++s) {
    const auto section = static_cast<Section>(s);
    for (size_t i = 0, n = h.count(section); i < n; ++i) {
      const auto after = skip_name(msg.data(), msg.size(), pos);
      if (!after || *after + kRrFixedSize > msg.size()) return false;
      RecordView r;
      r.section = section;
      r.owner = pos;
      r.fixed = *after;
      r.type = load_u16(msg.data() + r.fixed);
      r.rclass = load_u16(msg.data() + r.fixed + 2);
      r.ttl = load_u32(msg.data() + r.fixed + 4);
      r.rdlen = load_u16(msg.data() + r.fixed + 8);
      r.rdata = r.fixed + kRrFixedSize;
      if (r.end() > msg.size()) return false;
      if (!fn(static_cast<const RecordView&>(r))) return true;
      pos = r.end();
    }
  }
  return true;
}

// The same for a whole message: the question is skipped first.
template <typename Fn>
bool for_each_record(std::span<const uint8_t> msg, Fn&& fn) {
  const size_t pos = question_end(msg);
  if (pos == 0) return false;
  return for_each_record_from(msg, pos, std::forward<Fn>(fn));
}

}  // namespace clusterdns::dns::wire
