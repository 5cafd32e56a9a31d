// Response framing shared by every answer path.
#include "dns/wire/response.hpp"

#include <cstring>

namespace clusterdns::dns::wire {

void put_header(uint8_t* out, const ParsedQuery& q, uint16_t flags, uint8_t rcode, uint16_t qdcount,
                uint16_t ancount, uint16_t nscount, uint16_t arcount) {
  store_u16(out, q.id);
  const uint16_t echoed = static_cast<uint16_t>(q.flags & (0x7800 | kFlagRd | kFlagCd));
  store_u16(out + 2, static_cast<uint16_t>(kFlagQr | echoed | flags | (rcode & 0x0F)));
  store_u16(out + 4, qdcount);
  store_u16(out + 6, ancount);
  store_u16(out + 8, nscount);
  store_u16(out + 10, arcount);
}

void put_opt(uint8_t* out, uint8_t ext_rcode, bool do_bit) {
  out[0] = 0;  // root owner
  store_u16(out + 1, rrtype::OPT);
  store_u16(out + 3, kMaxUdpSize);
  out[5] = ext_rcode;
  out[6] = 0;  // version 0
  out[7] = do_bit ? 0x80 : 0;
  out[8] = 0;
  store_u16(out + 9, 0);  // no options
}

size_t write_empty_response(std::span<const uint8_t> query, const ParsedQuery& q, uint16_t rcode,
                            uint16_t flags, std::span<uint8_t> out) {
  const size_t question = q.question_ok ? q.question_end - kHeaderSize : 0;
  const size_t total = kHeaderSize + question + (q.has_edns ? kOptRecordSize : 0);
  if (out.size() < total || query.size() < kHeaderSize + question) return 0;
  put_header(out.data(), q, flags, static_cast<uint8_t>(rcode & 0x0F), q.question_ok ? 1 : 0, 0, 0,
             q.has_edns ? 1 : 0);
  std::memcpy(out.data() + kHeaderSize, query.data() + kHeaderSize, question);
  if (q.has_edns) put_opt(out.data() + kHeaderSize + question, static_cast<uint8_t>(rcode >> 4), q.do_bit);
  return total;
}

bool parse_answerable(std::span<const uint8_t> query, ParsedQuery& q, std::span<uint8_t> out,
                      size_t& written) {
  written = 0;
  switch (parse_query(query, q)) {
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
