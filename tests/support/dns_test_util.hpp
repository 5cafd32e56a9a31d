// Test helpers: build raw queries (keeping the caller's case) and render responses as zone-file text
// with ldns, an independent decoder used as the oracle.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace clusterdns::testutil {

struct QuerySpec {
  std::string name;  // text, case kept
  uint16_t type = 1;
  uint16_t id = 0x1234;
  bool rd = true;
  int edns_size = -1;  // -1: no OPT record
  uint8_t edns_version = 0;
  bool do_bit = false;
  uint16_t qclass = 1;
  uint8_t opcode = 0;
};

std::vector<uint8_t> make_query(const QuerySpec& spec);
uint16_t type_from_text(const std::string& text);  // "A", "AAAA", "TYPE65", …

struct Decoded {
  bool ok = false;
  uint16_t id = 0;
  std::string rcode;  // "NOERROR", "NXDOMAIN", … (extended from OPT: "BADVERS")
  bool aa = false, tc = false, qr = false, rd = false, ra = false;
  std::string question;                                    // "name TYPE", case as sent back
  std::vector<std::string> answer, authority, additional;  // "owner ttl IN TYPE rdata", single spaces
  bool has_opt = false;
  uint16_t opt_size = 0;
};

Decoded decode(const uint8_t* data, size_t size);

}  // namespace clusterdns::testutil
