// dns/wire/rewrite write_chained_answer: our CNAME chain (verbatim) completed by a resolver's answer for
// its target: answer records with names expanded and TTLs capped, authority only when negative, the
// target's RCODE, RA; truncation and hostile answers. ldns (tests/support) decodes the result.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/rewrite.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"

namespace clusterdns::dns::wire {
namespace {

using Bytes = std::vector<uint8_t>;
using testutil::decode;
using testutil::make_query;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put_rr_head(Bytes& b, uint16_t owner_ptr, uint16_t type, uint32_t ttl, uint16_t rdlen) {
  put16(b, owner_ptr);
  put16(b, type);
  put16(b, kClassIn);
  put16(b, static_cast<uint16_t>(ttl >> 16));
  put16(b, static_cast<uint16_t>(ttl));
  put16(b, rdlen);
}
Bytes header_and_question(const Bytes& query) {
  return Bytes(query.begin(),
               query.begin() + static_cast<long>(*skip_name(query.data(), query.size(), 12) + 4));
}

// Our answer for alias.default.svc.cluster.local: CNAME ext.default.svc.cluster.local (TTL 30, a pointer
// to default.svc.cluster.local in the question), then ext CNAME www.example.test (TTL 20), then OPT.
Bytes prefix_for(const Bytes& query) {
  Bytes b = header_and_question(query);
  Header h(b);
  h.set_flags(kFlagQr | kFlagAa | kFlagRd);
  h.set_count(Section::Answer, 2);
  h.set_count(Section::Additional, 1);
  const size_t first_rdata = b.size() + 12;
  put_rr_head(b, 0xC00C, rrtype::CNAME, 30, 6);
  b.insert(b.end(), {3, 'e', 'x', 't'});
  put16(b, 0xC000 | (12 + 6));  // "default.svc.cluster.local" after "\5alias" in the question
  put_rr_head(b, static_cast<uint16_t>(0xC000 | first_rdata), rrtype::CNAME, 20, 18);
  for (char c : std::string("\3www\7example\4test", 17))
    b.push_back(static_cast<uint8_t>(c));
  b.push_back(0);
  b.push_back(0);  // OPT
  put16(b, rrtype::OPT);
  put16(b, 1232);
  put16(b, 0);
  put16(b, 0);
  put16(b, 0);
  return b;
}

// A resolver's answer for www.example.test: CNAME web (compressed), web A (TTL 300), NS in authority.
Bytes target_answer(uint8_t rcode = 0) {
  Bytes b = header_and_question(make_query({.name = "www.example.test", .id = 9}));
  Header h(b);
  h.set_flags(kFlagQr | kFlagRd | kFlagRa);
  h.set_rcode(rcode);
  if (rcode != 0) {  // NXDOMAIN: SOA in authority, TTL 900
    h.set_count(Section::Authority, 1);
    put_rr_head(b, 0xC010, rrtype::SOA, 900, 22);
    b.insert(b.end(), {0, 0});
    for (int i = 0; i < 10; ++i)
      put16(b, static_cast<uint16_t>(i));
    return b;
  }
  h.set_count(Section::Answer, 2);
  h.set_count(Section::Authority, 1);
  const size_t cname_rdata = b.size() + 12;
  put_rr_head(b, 0xC00C, rrtype::CNAME, 300, 6);
  b.insert(b.end(), {3, 'w', 'e', 'b'});
  put16(b, 0xC010);
  put_rr_head(b, static_cast<uint16_t>(0xC000 | cname_rdata), rrtype::A, 300, 4);
  b.insert(b.end(), {192, 0, 2, 80});
  put_rr_head(b, 0xC010, rrtype::NS, 3600, 5);
  b.insert(b.end(), {2, 'n', 's'});
  put16(b, 0xC010);
  return b;
}

struct Chain : ::testing::Test {
  void SetUp() override { ASSERT_EQ(parse_query(query, q), ParseStatus::Ok); }
  Bytes query = make_query({.name = "alias.default.svc.cluster.local", .id = 0x4242, .edns_size = 1232});
  ParsedQuery q;
  Bytes out = Bytes(65535);
};

TEST_F(Chain, OurCnamesThenTheTargetsAnswerCappedAtTheShortestTtl) {
  const Bytes prefix = prefix_for(query);
  ASSERT_TRUE(decode(prefix.data(), prefix.size()).ok);
  const size_t n = write_chained_answer(query, q, prefix, target_answer(), 20, 1232, out);
  ASSERT_GT(n, 0u);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.id, 0x4242);
  EXPECT_EQ(d.rcode, "NOERROR");
  EXPECT_TRUE(d.aa);
  EXPECT_TRUE(d.ra);
  EXPECT_FALSE(d.tc);
  EXPECT_EQ(d.answer,
            (std::vector<std::string>{
                "alias.default.svc.cluster.local. 30 IN CNAME ext.default.svc.cluster.local.",
                "ext.default.svc.cluster.local. 20 IN CNAME www.example.test.",
                "www.example.test. 20 IN CNAME web.example.test.", "web.example.test. 20 IN A 192.0.2.80"}));
  EXPECT_TRUE(d.authority.empty());  // a positive answer needs no referral data
  EXPECT_TRUE(d.has_opt);
}

TEST_F(Chain, NegativeTargetKeepsItsRcodeAndSoa) {
  const size_t n = write_chained_answer(query, q, prefix_for(query), target_answer(3), 20, 1232, out);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.rcode, "NXDOMAIN");  // RFC 6604 §3
  EXPECT_EQ(d.answer.size(), 2u);
  ASSERT_EQ(d.authority.size(), 1u);
  EXPECT_EQ(d.authority[0].substr(0, 20), "example.test. 20 IN ");
}

TEST_F(Chain, TruncatesAtRecordBoundariesWithTc) {
  const Bytes prefix = prefix_for(query);
  const size_t answers = prefix.size() - 11;  // without our OPT
  const size_t n = write_chained_answer(query, q, prefix, target_answer(), 20, answers + 11 + 20, out);
  const auto d = decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.tc);
  EXPECT_EQ(d.answer.size(), 2u);  // ours only: the target's CNAME (28 octets expanded) does not fit
  // Not even our own records fit: nothing to merge (the caller keeps its answer).
  EXPECT_EQ(write_chained_answer(query, q, prefix, target_answer(), 20, answers - 1, out), 0u);
}

TEST_F(Chain, HostileTargetsAreRejectedNotRead) {
  const Bytes prefix = prefix_for(query);
  const Bytes bad = target_answer();
  for (size_t cut = 0; cut < bad.size(); ++cut) {  // every truncation point
    const Bytes t(bad.begin(), bad.begin() + static_cast<long>(cut));
    const size_t n = write_chained_answer(query, q, prefix, t, 20, 65535, out);
    if (n > 0) {
      EXPECT_TRUE(decode(out.data(), n).ok) << "cut at " << cut;
    }
  }
  Bytes loop = target_answer();
  loop[loop.size() - 2] = 0xC0;  // the NS target points at itself
  loop[loop.size() - 1] = static_cast<uint8_t>(loop.size() - 2);
  const size_t n = write_chained_answer(query, q, prefix, loop, 20, 65535, out);
  if (n > 0) {
    EXPECT_TRUE(decode(out.data(), n).ok);
  }
  // A prefix whose counts lie is refused.
  Bytes liar = prefix;
  Header(liar).set_count(Section::Answer, 5);
  EXPECT_EQ(write_chained_answer(query, q, liar, target_answer(), 20, 65535, out), 0u);
}

}  // namespace
}  // namespace clusterdns::dns::wire
