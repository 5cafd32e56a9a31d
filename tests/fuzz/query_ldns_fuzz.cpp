// Differential libFuzzer target: the hot-path query parser (dns::wire::parse_query) against ldns's
// ldns_wire2pkt, an implementation we did not write, on the same bytes. The two do not do the same job:
// ldns decodes a whole message of any kind, typing every record's RDATA; parse_query reads only what
// answering a query needs (header, one question, the OPT record) and is stricter where RFCs say a query
// is malformed. "Agree" therefore means exactly this (tests/fuzz/README.md lists the same rules):
//
//  1. Both accept: the same ID, RD and CD bits, QNAME (case-insensitively; ours is lower-cased), QTYPE and
//     QCLASS; EDNS present in both or neither, and when present the same version, DO bit and payload size
//     (ours raised to 512, RFC 6891 §6.2.5).
//  2. We accept, ldns refuses: allowed only because ldns types the RDATA of answer, authority and additional
//     records (an A record of 5 bytes, a bad name inside an MX) and we skip those by RDLENGTH. So the
//     header and question alone, with no other records, must then be accepted by ldns and agree as in 1.
//  3. ldns accepts, we do not: allowed only for these reasons, each checked here against the bytes:
//     - Drop: QR is set (a response sent to us);
//     - NotImp: OPCODE is not QUERY;
//     - FormErr: QDCOUNT is not 1 (RFC 9619); the question's name is compressed (its first name can only
//       point at the header); QTYPE is OPT (RFC 6891 §6.1.1); an OPT outside the additional section, more
//       than one OPT, an OPT whose owner is not the root written as one zero byte, an OPT whose options do
//       not tile its RDATA exactly (all RFC 6891 §6.1.1-6.1.2); a TSIG in the additional section (ldns's
//       ldns_wire2pkt lowers ARCOUNT when it takes a TSIG out, inside the loop bounded by it, so it reads
//       one record fewer and accepts a message whose last announced record is missing; we read them all);
//       a record whose RDLENGTH is not the length of the RDATA ldns decodes for its type (ldns goes on from
//       the end of the decoded fields, RFC 1035 framing from RDLENGTH: the two then read different records).
//     Where ldns frames a record differently and both accept, rule 1 compares everything but EDNS.
//     Anything else is a disagreement and traps.
//  4. Both refuse: agreement.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/wire/header.hpp"
#include "dns/wire/query.hpp"

// After the C++ headers: ldns's headers define macros that libstdc++'s would trip over under clang.
#include <ldns/ldns.h>

namespace wire = clusterdns::dns::wire;

namespace {

using Pkt = std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)>;

uint16_t u16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

// What the bytes hold, read record by record with ldns's own decoders (the walk ldns_wire2pkt makes).
struct Walk {
  bool ok = false;
  unsigned opt_additional = 0;  // OPT records in the additional section
  bool opt_elsewhere = false;   // an OPT in the answer or authority section
  bool opt_owner_not_literal_root = false;
  bool opt_options_untiled = false;
  bool tsig = false;  // a TSIG in the additional section: ldns then reads one record fewer than ARCOUNT
  bool misframed =
      false;  // a record whose typed RDATA ldns read is not RDLENGTH long: ldns went on from there
};

Walk walk(const uint8_t* data, size_t size) {
  Walk w;
  size_t pos = wire::kHeaderSize;
  const wire::HeaderView h(std::span<const uint8_t>(data, size));
  const uint16_t counts[4] = {h.qdcount(), h.ancount(), h.nscount(), h.arcount()};
  const ldns_pkt_section sections[4] = {LDNS_SECTION_QUESTION, LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY,
                                        LDNS_SECTION_ADDITIONAL};
  for (int s = 0; s < 4; ++s) {
    unsigned count = counts[s];
    for (unsigned i = 0; i < count; ++i) {
      const size_t start = pos;
      ldns_rr* rr = nullptr;
      if (ldns_wire2rr(&rr, data, size, &pos, sections[s]) != LDNS_STATUS_OK) return w;
      const bool opt = s > 0 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT;
      if (s == 3 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG) {
        // ldns_wire2pkt lowers ARCOUNT as it takes a TSIG out, and its loop reads up to the lowered count.
        w.tsig = true;
        --count;
      }
      ldns_rr_free(rr);
      if (s > 0) {
        // RFC 1035 §4.1.3 framing: the next record starts RDLENGTH bytes after the fixed fields. ldns goes on
        // from the end of the fields it decoded instead (an A record announcing 256 bytes moves it 4).
        ldns_rdf* name = nullptr;
        size_t p = start;
        if (ldns_wire2dname(&name, data, size, &p) != LDNS_STATUS_OK) return w;
        ldns_rdf_deep_free(name);
        if (p + 10 + u16(data + p + 8) != pos) w.misframed = true;
      }
      if (!opt) continue;
      if (s == 3)
        ++w.opt_additional;
      else
        w.opt_elsewhere = true;
      if (data[start] != 0) w.opt_owner_not_literal_root = true;
      // The RDATA: after the owner, 8 bytes of type, class, TTL, then RDLENGTH.
      ldns_rdf* owner = nullptr;
      size_t p = start;
      if (ldns_wire2dname(&owner, data, size, &p) != LDNS_STATUS_OK) return w;
      ldns_rdf_deep_free(owner);
      const size_t rdata = p + 10, end = rdata + u16(data + p + 8);
      size_t o = rdata;
      while (o + 4 <= end)
        o += 4u + u16(data + o + 2);
      if (o != end) w.opt_options_untiled = true;
    }
  }
  w.ok = true;
  return w;
}

bool compressed_first_name(const uint8_t* data, size_t size) {
  for (size_t pos = wire::kHeaderSize; pos < size;) {
    const uint8_t len = data[pos];
    if ((len & 0xC0) == 0xC0) return true;
    if (len == 0) return false;
    pos += 1u + len;
  }
  return false;
}

// The agreement of rule 1 between our parse and ldns's packet.
void compare(const wire::ParsedQuery& q, const ldns_pkt* pkt, bool compare_edns) {
  if (ldns_pkt_id(pkt) != q.id) __builtin_trap();
  if (ldns_pkt_rd(pkt) != ((q.flags & wire::kFlagRd) != 0)) __builtin_trap();
  if (ldns_pkt_cd(pkt) != ((q.flags & wire::kFlagCd) != 0)) __builtin_trap();
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
  if (question == nullptr) __builtin_trap();
  const ldns_rdf* owner = ldns_rr_owner(question);
  if (ldns_rdf_size(owner) != q.qname_len) __builtin_trap();
  const uint8_t* name = ldns_rdf_data(owner);
  for (size_t i = 0; i < q.qname_len; ++i) {
    if (std::tolower(name[i]) != q.qname[i]) __builtin_trap();
  }
  if (ldns_rr_get_type(question) != q.qtype || ldns_rr_get_class(question) != q.qclass) __builtin_trap();
  if (!compare_edns) return;
  if (ldns_pkt_edns(pkt) != q.has_edns) __builtin_trap();
  if (!q.has_edns) return;
  const uint16_t size =
      ldns_pkt_edns_udp_size(pkt) < wire::kMinUdpSize ? wire::kMinUdpSize : ldns_pkt_edns_udp_size(pkt);
  if (size != q.udp_size || ldns_pkt_edns_version(pkt) != q.edns_version || ldns_pkt_edns_do(pkt) != q.do_bit)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::ParsedQuery q;
  const wire::ParseStatus ours = wire::parse_query({data, size}, q);
  ldns_pkt* raw = nullptr;
  const ldns_status theirs = ldns_wire2pkt(&raw, data, size);
  Pkt pkt(theirs == LDNS_STATUS_OK ? raw : nullptr, &ldns_pkt_free);  // on failure ldns freed it

  if (ours == wire::ParseStatus::Ok && pkt) {  // rule 1
    // Where ldns framed a record differently, it read other bytes as the OPT: EDNS is not comparable.
    compare(q, pkt.get(), !walk(data, size).misframed);
    return 0;
  }
  if (ours == wire::ParseStatus::Ok) {  // rule 2: the header and question alone
    std::vector<uint8_t> alone(data, data + q.question_end);
    wire::Header(alone).set_counts(1, 0, 0, 0);  // ours accepted it: QDCOUNT is 1
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, alone.data(), alone.size()) != LDNS_STATUS_OK) __builtin_trap();
    Pkt question_only(p, &ldns_pkt_free);
    compare(q, question_only.get(), false);
    return 0;
  }
  if (!pkt) return 0;  // rule 4
  // Rule 3: ldns accepted what we refused; only the documented reasons may explain it.
  const Walk w = walk(data, size);
  if (!w.ok) __builtin_trap();  // ldns_wire2pkt read these very records
  switch (ours) {
    case wire::ParseStatus::Drop:
      if (size >= wire::kHeaderSize && ldns_pkt_qr(pkt.get())) return 0;
      break;
    case wire::ParseStatus::NotImp:
      if (ldns_pkt_get_opcode(pkt.get()) != LDNS_PACKET_QUERY) return 0;
      break;
    case wire::ParseStatus::FormErr: {
      if (wire::HeaderView(std::span<const uint8_t>(data, size)).qdcount() != 1 ||
          compressed_first_name(data, size))
        return 0;
      const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(pkt.get()), 0);
      if (question != nullptr && ldns_rr_get_type(question) == LDNS_RR_TYPE_OPT) return 0;
      if (w.opt_elsewhere || w.opt_additional > 1 || w.opt_owner_not_literal_root || w.opt_options_untiled)
        return 0;
      if (w.tsig) return 0;       // ldns read fewer additional records than ARCOUNT says
      if (w.misframed) return 0;  // ldns read other bytes as records than RDLENGTH frames
      break;
    }
    case wire::ParseStatus::Ok:
      break;
  }
  __builtin_trap();
}
