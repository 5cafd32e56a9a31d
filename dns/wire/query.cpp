// Query parsing per RFC 1035 §4.1 and RFC 6891 §6; hostile input yields FormErr or Drop, never UB.
#include "dns/wire/query.hpp"

#include "dns/wire/name.hpp"

namespace clusterdns::dns::wire {
namespace {

// Reads one resource record at pos; records the OPT if it is one. Returns false on malformed input.
bool read_record(const uint8_t* p, size_t size, size_t& pos, ParsedQuery& q, bool additional) {
  const size_t name_start = pos;
  auto after_name = skip_name(p, size, pos);
  if (!after_name || *after_name + 10 > size) return false;
  const uint8_t* fixed = p + *after_name;
  const uint16_t type = load_u16(fixed);
  const uint16_t rdlen = load_u16(fixed + 8);
  const size_t rdata = *after_name + 10;
  if (rdata + rdlen > size) return false;
  if (type == rrtype::OPT) {
    // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
    if (!additional || q.has_edns || p[name_start] != 0 || *after_name != name_start + 1) return false;
    q.has_edns = true;
    const uint16_t size_field = load_u16(fixed + 2);
    q.udp_size = size_field < kMinUdpSize ? kMinUdpSize : size_field;
    q.edns_version = fixed[5];
    q.do_bit = (fixed[6] & 0x80) != 0;
    // Options must tile the RDATA exactly (§6.1.2).
    size_t o = rdata;
    while (o < rdata + rdlen) {
      if (o + 4 > rdata + rdlen) return false;
      const uint16_t optlen = load_u16(p + o + 2);
      o += 4u + optlen;
    }
    if (o != rdata + rdlen) return false;
  }
  pos = rdata + rdlen;
  return true;
}

}  // namespace

ParseStatus parse_query(std::span<const uint8_t> packet, ParsedQuery& q) {
  const uint8_t* p = packet.data();
  const size_t size = packet.size();
  if (size < kHeaderSize) return ParseStatus::Drop;
  q.id = load_u16(p);
  q.flags = load_u16(p + 2);
  if (q.flags & kFlagQr) return ParseStatus::Drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0x0F);
  const uint16_t qdcount = load_u16(p + 4);
  const uint16_t ancount = load_u16(p + 6);
  const uint16_t nscount = load_u16(p + 8);
  const uint16_t arcount = load_u16(p + 10);

  if (qdcount == 1) {
    size_t next = 0;
    // A compression pointer in the first name can only point forward or at the header: malformed.
    if (read_name(p, size, kHeaderSize, q.qname, &q.qname_len, &next) == NameStatus::Ok &&
        next == kHeaderSize + q.qname_len && next + 4 <= size) {
      q.qtype = load_u16(p + next);
      q.qclass = load_u16(p + next + 2);
      q.question_end = next + 4;
      q.question_ok = true;
    }
  }
  if (qdcount != 1 || !q.question_ok) return q.opcode != 0 ? ParseStatus::NotImp : ParseStatus::FormErr;

  // Read the records even for other opcodes: a reply to a query with OPT carries OPT (RFC 6891 §7).
  size_t pos = q.question_end;
  const size_t records = size_t{ancount} + nscount + arcount;
  for (size_t i = 0; i < records; ++i) {
    if (!read_record(p, size, pos, q, i >= size_t{ancount} + nscount)) {
      return q.opcode != 0 ? ParseStatus::NotImp : ParseStatus::FormErr;
    }
  }
  if (q.opcode != 0) return ParseStatus::NotImp;
  // Meta types that are not questions (RFC 6895 §3.1): OPT as a QTYPE is malformed.
  if (q.qtype == rrtype::OPT) return ParseStatus::FormErr;
  return ParseStatus::Ok;
}

}  // namespace clusterdns::dns::wire
