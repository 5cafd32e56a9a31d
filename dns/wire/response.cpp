// Response framing shared by every answer path.
#include "dns/wire/response.hpp"

namespace clusterdns::dns::wire {

void put_header(Header h, const ParsedQuery& q, uint16_t flags, uint8_t rcode, uint16_t qdcount,
                uint16_t ancount, uint16_t nscount, uint16_t arcount) {
  h.set_id(q.id);
  const auto echoed = static_cast<uint16_t>(q.flags & (kOpcodeMask | kFlagRd | kFlagCd));
  h.set_flags(static_cast<uint16_t>(kFlagQr | echoed | flags | (rcode & kRcodeMask)));
  h.set_counts(qdcount, ancount, nscount, arcount);
}

void put_opt(Cursor& w, uint8_t ext_rcode, bool do_bit, uint16_t udp_size) {
  w.put_u8(0);  // root owner
  w.put_u16(rrtype::OPT);
  w.put_u16(udp_size);
  w.put_u8(ext_rcode);
  w.put_u8(0);  // version 0
  w.put_u16(do_bit ? kEdnsDo : 0);
  w.put_u16(0);  // no options
}

void put_question(Cursor& w, std::string_view qname, uint16_t qtype, uint16_t qclass) {
  w.put(qname);
  w.put_u16(qtype);
  w.put_u16(qclass);
}

size_t write_query(std::span<uint8_t> out, uint16_t id, uint16_t flags, std::string_view qname,
                   uint16_t qtype, uint16_t qclass, const Edns* edns) {
  Cursor w(out);
  w.put_u16(id);
  w.put_u16(flags);
  w.put_u16(1);
  w.put_u16(0);
  w.put_u16(0);
  w.put_u16(edns ? 1 : 0);
  put_question(w, qname, qtype, qclass);
  if (edns) put_opt(w, 0, edns->do_bit, edns->udp_size);
  return w.ok() ? w.offset() : 0;
}

size_t write_empty_response(std::span<const uint8_t> query, const ParsedQuery& q, uint16_t rcode,
                            uint16_t flags, std::span<uint8_t> out) {
  const size_t question = q.question_ok ? q.question_end - kHeaderSize : 0;
  if (out.size() < kHeaderSize || query.size() < kHeaderSize + question) return 0;
  Cursor w(out, kHeaderSize);
  w.put(query.subspan(kHeaderSize, question));
  if (q.has_edns) put_opt(w, static_cast<uint8_t>(rcode >> 4), q.do_bit);
  if (!w.ok()) return 0;
  put_header(Header(out.data()), q, flags, static_cast<uint8_t>(rcode & kRcodeMask), q.question_ok ? 1 : 0, 0,
             0, q.has_edns ? 1 : 0);
  return w.offset();
}

bool parse_answerable(std::span<const uint8_t> query, ParsedQuery& q, std::span<uint8_t> out,
                      size_t& written) {
  parse_query(query, q);
  return answerable(query, q, out, written);
}

bool answerable(std::span<const uint8_t> query, const ParsedQuery& q, std::span<uint8_t> out,
                size_t& written) {
  written = 0;
  switch (q.status) {
    case ParseStatus::Drop:
      return false;
    case ParseStatus::FormErr:
      written = write_empty_response(query, q, static_cast<uint16_t>(Rcode::FormErr), 0, out);
      return false;
    case ParseStatus::NotImp:
      written = write_empty_response(query, q, static_cast<uint16_t>(Rcode::NotImp), 0, out);
      return false;
    case ParseStatus::Ok:
      break;
  }
  if (q.has_edns && q.edns_version > 0) {
    written = write_empty_response(query, q, kRcodeBadVers, 0, out);
    return false;
  }
  return true;
}

}  // namespace clusterdns::dns::wire
