// CNAME re-framing with name decompression (RFC 1035 §4.1.4; RFC 3597 §4 lists the compressible types).
#include "dns/wire/rewrite.hpp"

#include <cstring>

#include "dns/wire/cursor.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/message.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/response.hpp"

namespace clusterdns::dns::wire {
namespace {

// Copies the (possibly compressed) name at `pos` of `msg` uncompressed; false when it is malformed.
bool copy_name(std::span<const uint8_t> msg, size_t pos, Cursor& out, size_t* next) {
  uint8_t name[kMaxNameLength];
  size_t len = 0;
  if (read_name(msg.data(), msg.size(), pos, name, &len, next) != NameStatus::Ok) return false;
  out.put(name, len);
  return true;
}

// Where the names sit inside RDATA: `fixed_before` bytes, then `names` names, then the rest verbatim.
struct NameLayout {
  size_t fixed_before = 0;
  unsigned names = 0;
};

NameLayout layout_of(uint16_t type) {
  switch (type) {
    case rrtype::NS:
    case rrtype::MD:
    case rrtype::MF:
    case rrtype::CNAME:
    case rrtype::MB:
    case rrtype::MG:
    case rrtype::MR:
    case rrtype::PTR:
    case rrtype::DNAME:
      return {0, 1};
    case rrtype::SOA:
    case rrtype::MINFO:
    case rrtype::RP:
      return {0, 2};
    case rrtype::MX:
    case rrtype::AFSDB:
    case rrtype::RT:
      return {2, 1};
    case rrtype::SRV:  // RFC 2782 forbids compression, but some servers compress anyway
      return {6, 1};
    default:
      return {0, 0};
  }
}

// One record with its names expanded. False when the record is malformed.
bool copy_record(std::span<const uint8_t> msg, const RecordView& r, Cursor& out, uint32_t ttl_cap = ~0u) {
  size_t next = 0;
  if (!copy_name(msg, r.owner, out, &next)) return false;
  out.put_u16(r.type);
  out.put_u16(r.rclass);
  out.put_u32(r.ttl < ttl_cap ? r.ttl : ttl_cap);
  const size_t rdlen_at = out.offset();
  out.put_u16(0);
  const NameLayout layout = layout_of(r.type);
  const size_t end = r.rdata + r.rdlen;
  size_t pos = r.rdata;
  if (layout.names > 0) {
    if (pos + layout.fixed_before > end) return false;
    out.put(msg.data() + pos, layout.fixed_before);
    pos += layout.fixed_before;
    for (unsigned i = 0; i < layout.names; ++i) {
      if (!copy_name(msg, pos, out, &next) || next > end) return false;
      pos = next;
    }
  }
  out.put(msg.data() + pos, end - pos);
  if (!out.ok()) return false;  // out of room (the caller tells it from malformed by out.ok())
  const size_t rdlen = out.offset() - rdlen_at - 2;
  if (rdlen > 0xFFFF) return false;
  out.patch_u16(rdlen_at, static_cast<uint16_t>(rdlen));
  return true;
}

// Appends the records of `msg` that `want` accepts, keeping count per section; stops taking records at
// the first that does not fit (`lost_needed` when an answer or authority record is lost). False when
// `msg` is malformed (what was taken before stays taken).
template <typename Want>
bool append_records(std::span<const uint8_t> msg, Cursor& w, uint16_t (&counts)[3], bool& lost_needed,
                    uint32_t ttl_cap, Want&& want) {
  bool full = false;
  return for_each_record(msg, [&](const RecordView& r) {
    if (r.type == rrtype::OPT || !want(r)) return true;
    Cursor attempt = w;
    if (!full && copy_record(msg, r, attempt, ttl_cap)) {
      w = attempt;
      ++counts[static_cast<size_t>(r.section)];
      return true;
    }
    if (attempt.ok()) return false;  // malformed record: stop here, keep what was copied
    full = true;                     // out of room: everything after is left out
    if (r.section != Section::Additional) lost_needed = true;
    return true;
  });
}

// Sets the header, appends our OPT when the query had one (room for it was kept out of `w`) and returns
// the message's length.
size_t finish(std::span<uint8_t> out, const ParsedQuery& q, const Cursor& w, uint16_t flags, uint8_t rcode,
              const uint16_t (&counts)[3]) {
  put_header(Header(out.data()), q, flags, rcode, 1, counts[0], counts[1],
             static_cast<uint16_t>(counts[2] + (q.has_edns ? 1 : 0)));
  Cursor tail(out, w.offset());
  if (q.has_edns) put_opt(tail, 0, q.do_bit);
  return tail.ok() ? tail.offset() : 0;
}

}  // namespace

size_t write_chained_answer(std::span<const uint8_t> query, const ParsedQuery& q,
                            std::span<const uint8_t> prefix, std::span<const uint8_t> target_answer,
                            uint32_t ttl_cap, size_t limit, std::span<uint8_t> out) {
  const HeaderView ph(prefix), th(target_answer);
  if (!th.valid() || prefix.size() < q.question_end || !q.question_ok || query.size() < q.question_end) {
    return 0;
  }
  if (limit > out.size()) limit = out.size();
  const size_t opt = q.has_edns ? kOptRecordSize : 0;
  if (limit < opt + q.question_end) return 0;
  // The prefix's answer section, verbatim: its pointers address the same question at the same offsets.
  size_t answers_end = q.question_end;
  uint16_t seen = 0;
  if (!for_each_record(prefix,
                       [&](const RecordView& r) {
                         if (r.section != Section::Answer) return false;
                         answers_end = r.end();
                         ++seen;
                         return true;
                       }) ||
      seen != ph.ancount()) {
    return 0;
  }
  Cursor w(out.first(limit - opt), kHeaderSize);
  w.put(query.subspan(kHeaderSize, q.question_end - kHeaderSize));
  w.put(prefix.subspan(q.question_end, answers_end - q.question_end));
  if (!w.ok()) return 0;

  uint16_t counts[3] = {ph.ancount(), 0, 0};
  bool lost_needed = false;
  const bool negative = th.rcode() == static_cast<uint8_t>(Rcode::NxDomain) || th.ancount() == 0;
  const bool well_formed =
      append_records(target_answer, w, counts, lost_needed, ttl_cap, [&](const RecordView& r) {
        return r.section == Section::Answer || (negative && r.section == Section::Authority);
      });
  const bool took = counts[0] != ph.ancount() || counts[1] != 0 || counts[2] != 0;
  if (!well_formed && !took) return 0;
  uint16_t flags = static_cast<uint16_t>((ph.flags() & kFlagAa) | kFlagRa);
  if (lost_needed) flags |= kFlagTc;
  return finish(out.first(limit), q, w, flags, th.rcode(), counts);
}

size_t write_cname_answer(std::span<const uint8_t> query, const ParsedQuery& q, std::string_view target,
                          uint32_t cname_ttl, std::span<const uint8_t> target_answer, size_t limit,
                          std::span<uint8_t> out) {
  const HeaderView th(target_answer);
  if (!th.valid() || !q.question_ok || query.size() < q.question_end) return 0;
  if (limit > out.size()) limit = out.size();
  const size_t opt = q.has_edns ? kOptRecordSize : 0;
  if (limit < opt) return 0;
  // Header and question, then the CNAME: owner is a pointer to the question's name (RFC 1035 §4.1.4).
  Cursor w(out.first(limit - opt), kHeaderSize);
  w.put(query.subspan(kHeaderSize, q.question_end - kHeaderSize));
  w.put_u16(static_cast<uint16_t>(kPointer | kHeaderSize));
  w.put_u16(rrtype::CNAME);
  w.put_u16(kClassIn);
  w.put_u32(cname_ttl);
  w.put_u16(static_cast<uint16_t>(target.size()));
  w.put(target);
  if (!w.ok()) return 0;

  uint16_t counts[3] = {1, 0, 0};
  bool lost_needed = false;  // an answer or authority record did not fit
  const bool well_formed =
      append_records(target_answer, w, counts, lost_needed, ~0u, [](const RecordView&) { return true; });
  if (!well_formed && counts[0] == 1 && counts[1] == 0) return 0;

  uint16_t flags = static_cast<uint16_t>(th.flags() & (kFlagAa | kFlagRa | kFlagAd));
  if (lost_needed) flags |= kFlagTc;
  return finish(out.first(limit), q, w, flags, th.rcode(), counts);
}

}  // namespace clusterdns::dns::wire
