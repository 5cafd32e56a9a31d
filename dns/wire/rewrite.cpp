// CNAME re-framing with name decompression (RFC 1035 §4.1.4; RFC 3597 §4 lists the compressible types).
#include "dns/wire/rewrite.hpp"

#include <cstring>

#include "dns/wire/message.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/response.hpp"

namespace clusterdns::dns::wire {
namespace {

// Appends to a fixed buffer; the first write that does not fit makes it fail for good (sticky error).
class Out {
 public:
  Out(uint8_t* data, size_t cap, size_t pos) : data_(data), cap_(cap), pos_(pos) {}
  void bytes(const uint8_t* p, size_t n) {
    if (!ok_ || pos_ + n > cap_) {
      ok_ = false;
      return;
    }
    std::memcpy(data_ + pos_, p, n);
    pos_ += n;
  }
  void u16(uint16_t v) {
    uint8_t b[2];
    store_u16(b, v);
    bytes(b, 2);
  }
  void u32(uint32_t v) {
    uint8_t b[4];
    store_u32(b, v);
    bytes(b, 4);
  }
  size_t pos() const { return pos_; }
  bool ok() const { return ok_; }
  uint8_t* at(size_t offset) { return data_ + offset; }

 private:
  uint8_t* data_;
  size_t cap_;
  size_t pos_;
  bool ok_ = true;
};

// Copies the (possibly compressed) name at `pos` of `msg` uncompressed; false when it is malformed.
bool copy_name(std::span<const uint8_t> msg, size_t pos, Out& out, size_t* next) {
  uint8_t name[kMaxNameLength];
  size_t len = 0;
  if (read_name(msg.data(), msg.size(), pos, name, &len, next) != NameStatus::Ok) return false;
  out.bytes(name, len);
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
    case 3:  // MD
    case 4:  // MF
    case rrtype::CNAME:
    case 7:  // MB
    case 8:  // MG
    case 9:  // MR
    case rrtype::PTR:
    case 39:  // DNAME
      return {0, 1};
    case rrtype::SOA:
    case 14:  // MINFO
    case 17:  // RP
      return {0, 2};
    case rrtype::MX:
    case 18:  // AFSDB
    case 21:  // RT
      return {2, 1};
    case rrtype::SRV:  // RFC 2782 forbids compression, but some servers compress anyway
      return {6, 1};
    default:
      return {0, 0};
  }
}

// One record with its names expanded. False when the record is malformed.
bool copy_record(std::span<const uint8_t> msg, const RecordView& r, Out& out, uint32_t ttl_cap = ~0u) {
  size_t next = 0;
  if (!copy_name(msg, r.owner, out, &next)) return false;
  out.bytes(msg.data() + r.fixed, 4);  // type, class
  out.u32(r.ttl < ttl_cap ? r.ttl : ttl_cap);
  const size_t rdlen_at = out.pos();
  out.u16(0);
  const NameLayout layout = layout_of(r.type);
  const size_t end = r.rdata + r.rdlen;
  size_t pos = r.rdata;
  if (layout.names > 0) {
    if (pos + layout.fixed_before > end) return false;
    out.bytes(msg.data() + pos, layout.fixed_before);
    pos += layout.fixed_before;
    for (unsigned i = 0; i < layout.names; ++i) {
      if (!copy_name(msg, pos, out, &next) || next > end) return false;
      pos = next;
    }
  }
  out.bytes(msg.data() + pos, end - pos);
  if (!out.ok()) return false;  // out of room (the caller tells it from malformed by out.ok())
  const size_t rdlen = out.pos() - rdlen_at - 2;
  if (rdlen > 0xFFFF) return false;
  store_u16(out.at(rdlen_at), static_cast<uint16_t>(rdlen));
  return true;
}

// Appends the records of `msg` that `want` accepts, keeping count per section; stops taking records at
// the first that does not fit. False when `msg` is malformed before anything was taken.
template <typename Want>
bool append_records(std::span<const uint8_t> msg, Out& w, uint16_t (&counts)[3], bool& lost_needed,
                    uint32_t ttl_cap, Want&& want) {
  bool full = false;
  bool took = false;
  const bool well_formed = for_each_record(msg, [&](const RecordView& r) {
    if (r.type == rrtype::OPT || !want(r)) return true;
    Out attempt = w;
    if (!full && copy_record(msg, r, attempt, ttl_cap)) {
      w = attempt;
      ++counts[static_cast<size_t>(r.section)];
      took = true;
      return true;
    }
    if (attempt.ok()) return false;  // malformed record: stop here, keep what was copied
    full = true;                     // out of room: everything after is left out
    if (r.section != Section::Additional) lost_needed = true;
    return true;
  });
  return well_formed || took;
}

}  // namespace

size_t write_chained_answer(std::span<const uint8_t> query, const ParsedQuery& q,
                            std::span<const uint8_t> prefix, std::span<const uint8_t> target_answer,
                            uint32_t ttl_cap, size_t limit, std::span<uint8_t> out) {
  if (target_answer.size() < kHeaderSize || prefix.size() < q.question_end || !q.question_ok ||
      query.size() < q.question_end) {
    return 0;
  }
  if (limit > out.size()) limit = out.size();
  const size_t opt = q.has_edns ? kOptRecordSize : 0;
  if (limit < opt + q.question_end) return 0;
  const HeaderView ph = read_header(prefix.data());
  const HeaderView th = read_header(target_answer.data());
  // The prefix's answer section, verbatim: its pointers address the same question at the same offsets.
  size_t answers_end = q.question_end;
  uint16_t seen = 0;
  if (!for_each_record(prefix,
                       [&](const RecordView& r) {
                         if (r.section != Section::Answer) return false;
                         answers_end = r.rdata + r.rdlen;
                         ++seen;
                         return true;
                       }) ||
      seen != ph.ancount) {
    return 0;
  }
  Out w(out.data(), limit - opt, kHeaderSize);
  w.bytes(query.data() + kHeaderSize, q.question_end - kHeaderSize);
  w.bytes(prefix.data() + q.question_end, answers_end - q.question_end);
  if (!w.ok()) return 0;

  uint16_t counts[3] = {ph.ancount, 0, 0};
  bool lost_needed = false;
  const bool negative = th.rcode() == static_cast<uint8_t>(Rcode::NxDomain) || th.ancount == 0;
  if (!append_records(target_answer, w, counts, lost_needed, ttl_cap, [&](const RecordView& r) {
        return r.section == Section::Answer || (negative && r.section == Section::Authority);
      })) {
    return 0;
  }
  uint16_t flags = static_cast<uint16_t>((ph.flags & kFlagAa) | kFlagRa);
  if (lost_needed) flags |= kFlagTc;
  put_header(out.data(), q, flags, th.rcode(), 1, counts[0], counts[1],
             static_cast<uint16_t>(counts[2] + (opt ? 1 : 0)));
  size_t len = w.pos();
  if (opt) {
    put_opt(out.data() + len, 0, q.do_bit);
    len += opt;
  }
  return len;
}

size_t write_cname_answer(std::span<const uint8_t> query, const ParsedQuery& q, std::string_view target,
                          uint32_t cname_ttl, std::span<const uint8_t> target_answer, size_t limit,
                          std::span<uint8_t> out) {
  if (target_answer.size() < kHeaderSize || !q.question_ok || query.size() < q.question_end) return 0;
  if (limit > out.size()) limit = out.size();
  const size_t opt = q.has_edns ? kOptRecordSize : 0;
  if (limit < opt) return 0;
  const HeaderView th = read_header(target_answer.data());
  // Header and question, then the CNAME: owner is a pointer to the question's name (RFC 1035 §4.1.4).
  Out w(out.data(), limit - opt, kHeaderSize);
  w.bytes(query.data() + kHeaderSize, q.question_end - kHeaderSize);
  w.u16(static_cast<uint16_t>(0xC000 | kHeaderSize));
  w.u16(rrtype::CNAME);
  w.u16(kClassIn);
  w.u32(cname_ttl);
  w.u16(static_cast<uint16_t>(target.size()));
  w.bytes(reinterpret_cast<const uint8_t*>(target.data()), target.size());
  if (!w.ok()) return 0;

  uint16_t counts[3] = {1, 0, 0};
  bool lost_needed = false;  // an answer or authority record did not fit
  bool full = false;
  const bool well_formed = for_each_record(target_answer, [&](const RecordView& r) {
    if (r.type == rrtype::OPT) return true;
    Out attempt = w;
    if (!full && copy_record(target_answer, r, attempt)) {
      w = attempt;
      ++counts[static_cast<size_t>(r.section)];
      return true;
    }
    if (attempt.ok()) return false;  // malformed record: stop here, keep what was copied
    full = true;                     // out of room: everything after is left out
    if (r.section != Section::Additional) lost_needed = true;
    return true;
  });
  if (!well_formed && counts[0] == 1 && counts[1] == 0) return 0;

  uint16_t flags = static_cast<uint16_t>(th.flags & (kFlagAa | kFlagRa | 0x0020));
  if (lost_needed) flags |= kFlagTc;
  put_header(out.data(), q, flags, th.rcode(), 1, counts[0], counts[1],
             static_cast<uint16_t>(counts[2] + (opt ? 1 : 0)));
  size_t len = w.pos();
  if (opt) {
    put_opt(out.data() + len, 0, q.do_bit);
    len += opt;
  }
  return len;
}

}  // namespace clusterdns::dns::wire
