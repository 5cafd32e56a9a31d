// Walking the records of a whole message (RFC 1035 §4.1): forwarded answers, cached packets. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

enum class Section : uint8_t { Answer, Authority, Additional };

struct RecordView {
  Section section = Section::Answer;
  size_t owner = 0;  // offset of the owner name (possibly compressed)
  size_t fixed = 0;  // offset of TYPE; TTL is at fixed + 4
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  size_t rdata = 0;  // offset of RDATA
  uint16_t rdlen = 0;
};

struct HeaderView {
  uint16_t id = 0, flags = 0, qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  uint8_t rcode() const { return static_cast<uint8_t>(flags & 0x0F); }
};

inline HeaderView read_header(const uint8_t* p) {
  return {load_u16(p), load_u16(p + 2), load_u16(p + 4), load_u16(p + 6), load_u16(p + 8), load_u16(p + 10)};
}

// Offset just after the question section, or 0 when the message is too short or malformed.
inline size_t question_end(std::span<const uint8_t> msg) {
  if (msg.size() < kHeaderSize) return 0;
  const HeaderView h = read_header(msg.data());
  size_t pos = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount; ++i) {
    const auto next = skip_name(msg.data(), msg.size(), pos);
    if (!next || *next + 4 > msg.size()) return 0;
    pos = *next + 4;
  }
  return pos;
}

// Calls fn(const RecordView&) for every record after the question, in order; fn returns false to stop.
// Returns false when the message is malformed (a record runs past the end); true otherwise.
template <typename Fn>
bool for_each_record(std::span<const uint8_t> msg, Fn&& fn) {
  size_t pos = question_end(msg);
  if (pos == 0) return false;
  const HeaderView h = read_header(msg.data());
  const size_t counts[3] = {h.ancount, h.nscount, h.arcount};
  for (unsigned s = 0; s < 3; ++s) {
    for (size_t i = 0; i < counts[s]; ++i) {
      const auto after = skip_name(msg.data(), msg.size(), pos);
      if (!after || *after + 10 > msg.size()) return false;
      RecordView r;
      r.section = static_cast<Section>(s);
      r.owner = pos;
      r.fixed = *after;
      r.type = load_u16(msg.data() + r.fixed);
      r.rclass = load_u16(msg.data() + r.fixed + 2);
      r.ttl = load_u32(msg.data() + r.fixed + 4);
      r.rdlen = load_u16(msg.data() + r.fixed + 8);
      r.rdata = r.fixed + 10;
      if (r.rdata + r.rdlen > msg.size()) return false;
      if (!fn(static_cast<const RecordView&>(r))) return true;
      pos = r.rdata + r.rdlen;
    }
  }
  return true;
}

}  // namespace clusterdns::dns::wire
