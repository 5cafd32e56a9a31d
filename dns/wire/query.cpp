// Query parsing per RFC 1035 §4.1 and RFC 6891 §6; hostile input yields FormErr or Drop, never UB.
#include "dns/wire/query.hpp"

#include "dns/wire/cursor.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/message.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns::dns::wire {
namespace {

// Records the OPT record `r` of `msg` in q. False when it is misplaced or malformed.
bool read_opt(std::span<const uint8_t> msg, const RecordView& r, ParsedQuery& q) {
  // RFC 6891 §6.1.1: one OPT, in the additional section, owned by the root.
  if (r.section != Section::Additional || q.has_edns || msg[r.owner] != 0 || r.fixed != r.owner + 1)
    return false;
  q.has_edns = true;
  q.udp_size = r.rclass < kMinUdpSize ? kMinUdpSize : r.rclass;  // §6.1.2: CLASS is the buffer size
  q.edns_version = static_cast<uint8_t>(r.ttl >> 16);            // §6.1.3: EXTENDED-RCODE, VERSION, flags
  q.do_bit = (r.ttl & kEdnsDo) != 0;
  // Options must tile the RDATA exactly (§6.1.2).
  ConstCursor c(msg.first(r.end()), r.rdata);
  while (c.ok() && c.available() > 0) {
    c.skip(2);  // OPTION-CODE
    c.skip(c.u16());
  }
  return c.ok();
}

}  // namespace

namespace {

ParseStatus parse(std::span<const uint8_t> packet, ParsedQuery& q) {
  const HeaderView h(packet);
  if (!h.valid()) return ParseStatus::Drop;
  q.id = h.id();
  q.flags = h.flags();
  q.opcode = h.opcode();

  if (h.qdcount() == 1) {
    size_t next = 0;
    // A compression pointer in the first name can only point forward or at the header: malformed.
    if (read_name(packet.data(), packet.size(), kHeaderSize, q.qname, &q.qname_len, &next) ==
            NameStatus::Ok &&
        next == kHeaderSize + q.qname_len && next + 4 <= packet.size()) {
      q.qtype = load_u16(packet.data() + next);
      q.qclass = load_u16(packet.data() + next + 2);
      q.question_end = next + 4;
      q.question_ok = true;
    }
  }
  // A response sent to us is dropped; its question was still read (the metrics count its type).
  if (h.has(kFlagQr)) return ParseStatus::Drop;
  const ParseStatus bad = q.opcode != opcode::Query ? ParseStatus::NotImp : ParseStatus::FormErr;
  if (h.qdcount() != 1 || !q.question_ok) return bad;

  // Read the records even for other opcodes: a reply to a query with OPT carries OPT (RFC 6891 §7).
  if (h.ancount() != 0 || h.nscount() != 0 || h.arcount() != 0) {
    bool ok = true;
    const bool walked = for_each_record_from(packet, q.question_end, [&](const RecordView& r) {
      if (r.type == rrtype::OPT && !read_opt(packet, r, q)) ok = false;
      return ok;
    });
    if (!walked || !ok) return bad;
  }
  if (q.opcode != opcode::Query) return ParseStatus::NotImp;
  // Meta types that are not questions (RFC 6895 §3.1): OPT as a QTYPE is malformed.
  if (q.qtype == rrtype::OPT) return ParseStatus::FormErr;
  return ParseStatus::Ok;
}

}  // namespace

ParseStatus parse_query(std::span<const uint8_t> packet, ParsedQuery& q) {
  q.status = parse(packet, q);
  return q.status;
}

}  // namespace clusterdns::dns::wire
