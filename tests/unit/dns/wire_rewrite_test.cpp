// dns/wire/rewrite: a CNAME in front of another message's records, their compressed names expanded; ldns
// (tests/support) decodes the result as the oracle.
#include "dns/wire/rewrite.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"

namespace clusterdns::dns::wire {
namespace {

using Bytes = std::vector<uint8_t>;
using testutil::decode;
using testutil::make_query;
using testutil::QuerySpec;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

// An upstream's answer to www.example.test A: CNAME www -> web.example.test (compressed against the
// question), web A, an NS in authority whose RDATA points into the CNAME's, an MX in additional, and OPT.
Bytes target_answer() {
  Bytes b = make_query({.name = "www.example.test", .type = rrtype::A, .id = 7, .edns_size = 1232});
  b.resize(b.size() - 11);  // drop the query's OPT; ours is appended at the end
  Header h(b);
  h.set_flags(kFlagQr | kFlagRd | kFlagRa);
  h.set_counts(h.qdcount(), 2, 1, 2);
  const size_t cname_rdata = b.size() + 12;
  put16(b, 0xC00C);  // www.example.test
  put16(b, rrtype::CNAME);
  put16(b, kClassIn);
  put16(b, 0);
  put16(b, 300);
  put16(b, 6);
  b.insert(b.end(), {3, 'w', 'e', 'b'});
  put16(b, 0xC010);                                       // -> example.test in the question
  put16(b, static_cast<uint16_t>(0xC000 | cname_rdata));  // web.example.test
  put16(b, rrtype::A);
  put16(b, kClassIn);
  put16(b, 0);
  put16(b, 60);
  put16(b, 4);
  b.insert(b.end(), {192, 0, 2, 80});
  put16(b, 0xC010);  // example.test NS ns.example.test
  put16(b, rrtype::NS);
  put16(b, kClassIn);
  put16(b, 0);
  put16(b, 3600);
  put16(b, 5);
  b.insert(b.end(), {2, 'n', 's'});
  put16(b, 0xC010);
  put16(b, 0xC010);  // example.test MX 10 web.example.test
  put16(b, rrtype::MX);
  put16(b, kClassIn);
  put16(b, 0);
  put16(b, 3600);
  put16(b, 4);
  put16(b, 10);
  put16(b, static_cast<uint16_t>(0xC000 | cname_rdata));
  b.push_back(0);  // OPT
  put16(b, rrtype::OPT);
  put16(b, 1232);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  return b;
}

TEST(WireRewrite, CnameThenTheTargetsRecordsDecompressed) {
  const Bytes query =
      make_query({.name = "WWW.example.test.default.svc.cluster.local", .id = 0x4242, .edns_size = 4096});
  ParsedQuery q;
  ASSERT_EQ(parse_query(query, q), ParseStatus::Ok);
  const Bytes target = target_answer();
  Bytes out(65535);
  const size_t n = write_cname_answer(query, q, *name_from_text("www.example.test"), 30, target, 1232, out);
  ASSERT_GT(n, 0u);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.id, 0x4242);
  EXPECT_EQ(d.rcode, "NOERROR");
  EXPECT_TRUE(d.ra);
  EXPECT_FALSE(d.tc);
  EXPECT_EQ(d.question, "WWW.example.test.default.svc.cluster.local. A");
  EXPECT_EQ(d.answer,
            (std::vector<std::string>{
                "WWW.example.test.default.svc.cluster.local. 30 IN CNAME www.example.test.",
                "www.example.test. 300 IN CNAME web.example.test.", "web.example.test. 60 IN A 192.0.2.80"}));
  EXPECT_EQ(d.authority, (std::vector<std::string>{"example.test. 3600 IN NS ns.example.test."}));
  EXPECT_EQ(d.additional, (std::vector<std::string>{"example.test. 3600 IN MX 10 web.example.test."}));
  EXPECT_TRUE(d.has_opt);
}

TEST(WireRewrite, TruncatesAtRecordBoundariesWithTc) {
  const Bytes query = make_query({.name = "www.example.test.default.svc.cluster.local", .id = 1});
  ParsedQuery q;
  ASSERT_EQ(parse_query(query, q), ParseStatus::Ok);
  Bytes out(65535);
  // Room for the CNAME and a bit: the target's records do not fit; answer records lost means TC.
  const size_t n = write_cname_answer(query, q, *name_from_text("www.example.test"), 30, target_answer(),
                                      q.question_end + 12 + 18 + 20, out);
  ASSERT_GT(n, 0u);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.tc);
  EXPECT_EQ(d.answer.size(), 1u);
  EXPECT_FALSE(d.has_opt);  // the query had none
}

TEST(WireRewrite, KeepsTheTargetsRcode) {
  const Bytes query = make_query({.name = "nx.test.default.svc.cluster.local"});
  ParsedQuery q;
  ASSERT_EQ(parse_query(query, q), ParseStatus::Ok);
  Bytes nx = make_query({.name = "nx.test"});
  Header h(nx);
  h.set_flags(kFlagQr | kFlagRd | kFlagRa);
  h.set_rcode(Rcode::NxDomain);  // no records
  Bytes out(65535);
  const size_t n = write_cname_answer(query, q, *name_from_text("nx.test"), 30, nx, 512, out);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.rcode, "NXDOMAIN");  // RFC 6604 §3
  EXPECT_EQ(d.answer.size(), 1u);
}

TEST(WireRewrite, HostileTargetsAreRejectedNotRead) {
  const Bytes query = make_query({.name = "a.default.svc.cluster.local"});
  ParsedQuery q;
  ASSERT_EQ(parse_query(query, q), ParseStatus::Ok);
  Bytes out(65535);
  const std::string target = *name_from_text("a");
  Bytes bad = target_answer();
  for (size_t cut = 12; cut < bad.size(); cut += 3) {  // every truncation point
    const Bytes t(bad.begin(), bad.begin() + static_cast<long>(cut));
    const size_t n = write_cname_answer(query, q, target, 30, t, 65535, out);
    if (n > 0) {
      EXPECT_TRUE(decode(out.data(), n).ok) << "cut at " << cut;
    }
  }
  Bytes loop = target_answer();
  loop[loop.size() - 11 - 2] = 0xC0;  // the MX target now points forward/at itself
  loop[loop.size() - 11 - 1] = static_cast<uint8_t>(loop.size() - 11 - 2);
  const size_t n = write_cname_answer(query, q, target, 30, loop, 65535, out);
  if (n > 0) {
    EXPECT_TRUE(decode(out.data(), n).ok);
  }
  EXPECT_EQ(write_cname_answer(query, q, target, 30, Bytes(5, 0), 65535, out), 0u);
}

}  // namespace
}  // namespace clusterdns::dns::wire
