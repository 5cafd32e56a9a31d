// ldns is the oracle here: an implementation we did not write decodes what our server wrote.
#include "tests/support/dns_test_util.hpp"

#include <stdbool.h>
#include <ldns/ldns.h>
#undef dprintf

#include <memory>
#include <sstream>

namespace clusterdns::testutil {

std::vector<uint8_t> make_query(const QuerySpec& s) {
  std::vector<uint8_t> q = {static_cast<uint8_t>(s.id >> 8),
                            static_cast<uint8_t>(s.id & 0xFF),
                            static_cast<uint8_t>((s.opcode << 3) | (s.rd ? 1 : 0)),
                            0,
                            0,
                            1,
                            0,
                            0,
                            0,
                            0,
                            0,
                            static_cast<uint8_t>(s.edns_size >= 0 ? 1 : 0)};
  std::string label;
  auto flush = [&] {
    if (label.empty()) return;
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
    label.clear();
  };
  for (char c : s.name) {
    if (c == '.') {
      flush();
    } else {
      label.push_back(c);
    }
  }
  flush();
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(s.type >> 8));
  q.push_back(static_cast<uint8_t>(s.type & 0xFF));
  q.push_back(static_cast<uint8_t>(s.qclass >> 8));
  q.push_back(static_cast<uint8_t>(s.qclass & 0xFF));
  if (s.edns_size >= 0) {
    const std::vector<uint8_t> opt = {0,
                                      0,
                                      41,
                                      static_cast<uint8_t>(s.edns_size >> 8),
                                      static_cast<uint8_t>(s.edns_size & 0xFF),
                                      0,
                                      s.edns_version,
                                      static_cast<uint8_t>(s.do_bit ? 0x80 : 0),
                                      0,
                                      0,
                                      0};
    q.insert(q.end(), opt.begin(), opt.end());
  }
  return q;
}

uint16_t type_from_text(const std::string& text) {
  return static_cast<uint16_t>(ldns_get_rr_type_by_name(text.c_str()));
}

namespace {

std::string normalise(const std::string& s) {
  std::istringstream in(s);
  std::string word, out;
  while (in >> word)
    out += (out.empty() ? "" : " ") + word;
  return out;
}

std::vector<std::string> section(const ldns_rr_list* list) {
  std::vector<std::string> out;
  for (size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
    char* text = ldns_rr2str(ldns_rr_list_rr(list, i));
    out.push_back(normalise(text));
    free(text);
  }
  return out;
}

}  // namespace

Decoded decode(const uint8_t* data, size_t size) {
  Decoded d;
  ldns_pkt* raw = nullptr;
  if (ldns_wire2pkt(&raw, data, size) != LDNS_STATUS_OK) return d;
  std::unique_ptr<ldns_pkt, void (*)(ldns_pkt*)> pkt(raw, &ldns_pkt_free);
  d.ok = true;
  d.id = ldns_pkt_id(raw);
  d.aa = ldns_pkt_aa(raw);
  d.tc = ldns_pkt_tc(raw);
  d.qr = ldns_pkt_qr(raw);
  d.rd = ldns_pkt_rd(raw);
  d.ra = ldns_pkt_ra(raw);
  const uint32_t ext = (ldns_pkt_edns_extended_rcode(raw) << 4) | ldns_pkt_get_rcode(raw);
  if (ext == 16) {
    d.rcode = "BADVERS";
  } else {
    const ldns_lookup_table* lt = ldns_lookup_by_id(ldns_rcodes, static_cast<int>(ldns_pkt_get_rcode(raw)));
    d.rcode = lt ? lt->name : std::to_string(ext);
  }
  const ldns_rr_list* q = ldns_pkt_question(raw);
  if (q && ldns_rr_list_rr_count(q) == 1) {
    const ldns_rr* rr = ldns_rr_list_rr(q, 0);
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    char* type = ldns_rr_type2str(ldns_rr_get_type(rr));
    d.question = std::string(owner) + " " + type;
    free(owner);
    free(type);
  }
  d.answer = section(ldns_pkt_answer(raw));
  d.authority = section(ldns_pkt_authority(raw));
  d.additional = section(ldns_pkt_additional(raw));
  d.has_opt = ldns_pkt_edns(raw);
  d.opt_size = ldns_pkt_edns_udp_size(raw);
  return d;
}

}  // namespace clusterdns::testutil
