// dns/wire: names, the query parser and response framing, including hostile input.
#include <gtest/gtest.h>

#include <vector>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/query.hpp"
#include "dns/wire/response.hpp"
#include "dns/wire/writer.hpp"
#include "tests/support/dns_test_util.hpp"

using namespace clusterdns::dns::wire;
using clusterdns::testutil::make_query;
using clusterdns::testutil::QuerySpec;

namespace {

ParseStatus parse(const std::vector<uint8_t>& p, ParsedQuery& q) {
  return parse_query(p, q);
}

std::vector<uint8_t> header(uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0,
                            uint16_t flags = 0) {
  std::vector<uint8_t> b(kHeaderSize);
  Header h(b);
  h.set_id(0x1234);
  h.set_flags(flags);
  h.set_counts(qd, an, ns, ar);
  return b;
}

TEST(Name, FromTextLowercasesAndValidates) {
  EXPECT_EQ(*name_from_text("A.b."), std::string("\x01"
                                                 "a\x01"
                                                 "b\x00",
                                                 5));
  EXPECT_EQ(*name_from_text("."), std::string(1, '\0'));
  EXPECT_FALSE(name_from_text("a..b"));
  EXPECT_FALSE(name_from_text(std::string(64, 'x') + ".com"));
  EXPECT_TRUE(name_from_text(std::string(63, 'x') + ".com"));
  std::string long_name;
  for (int i = 0; i < 70; ++i)
    long_name += "abc.";
  EXPECT_FALSE(name_from_text(long_name));  // 281 octets in wire form
  EXPECT_EQ(name_to_text(*name_from_text("my-nginx.default.svc.cluster.local")),
            "my-nginx.default.svc.cluster.local.");
  EXPECT_EQ(name_to_text(*name_from_text("a\\.b.c")), "a\\.b.c.");
}

TEST(Name, SubdomainIsLabelAligned) {
  const auto zone = *name_from_text("cluster.local");
  EXPECT_TRUE(is_subdomain(*name_from_text("a.cluster.local"), zone));
  EXPECT_TRUE(is_subdomain(zone, zone));
  EXPECT_FALSE(is_subdomain(*name_from_text("xcluster.local"), zone));
  EXPECT_FALSE(is_subdomain(*name_from_text("local"), zone));
  EXPECT_EQ(label_count(*name_from_text("a.b.c")), 3u);
  EXPECT_EQ(strip_labels(*name_from_text("a.b.c"), 2), *name_from_text("c"));
}

TEST(Name, ReadFollowsBackwardPointersOnly) {
  // "b" at 0, then "a" + pointer to 0.
  const std::vector<uint8_t> p = {1, 'B', 0, 1, 'A', 0xC0, 0x00};
  uint8_t out[255];
  size_t len = 0, next = 0;
  ASSERT_EQ(read_name(p.data(), p.size(), 3, out, &len, &next), NameStatus::Ok);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(out), len), std::string("\x01"
                                                                        "a\x01"
                                                                        "b\x00",
                                                                        5));
  EXPECT_EQ(next, 7u);
}

TEST(Name, HostileNamesAreRejected) {
  uint8_t out[255];
  size_t len = 0, next = 0;
  const std::vector<uint8_t> self_loop = {0xC0, 0x00};
  EXPECT_EQ(read_name(self_loop.data(), self_loop.size(), 0, out, &len, &next), NameStatus::PointerLoop);
  const std::vector<uint8_t> two_loop = {1, 'a', 0xC0, 0x04, 0xC0, 0x00};
  EXPECT_NE(read_name(two_loop.data(), two_loop.size(), 0, out, &len, &next), NameStatus::Ok);
  const std::vector<uint8_t> past_end = {1, 'a', 0xC0, 0x40};
  EXPECT_NE(read_name(past_end.data(), past_end.size(), 0, out, &len, &next), NameStatus::Ok);
  const std::vector<uint8_t> truncated_label = {5, 'a', 'b'};
  EXPECT_EQ(read_name(truncated_label.data(), truncated_label.size(), 0, out, &len, &next),
            NameStatus::Truncated);
  const std::vector<uint8_t> half_pointer = {0xC0};
  EXPECT_EQ(read_name(half_pointer.data(), half_pointer.size(), 0, out, &len, &next), NameStatus::Truncated);
  std::vector<uint8_t> label64(1, 64);
  label64.insert(label64.end(), 64, 'x');
  label64.push_back(0);
  EXPECT_EQ(read_name(label64.data(), label64.size(), 0, out, &len, &next), NameStatus::BadLabel);
  std::vector<uint8_t> too_long;
  for (int i = 0; i < 5; ++i) {
    too_long.push_back(63);
    too_long.insert(too_long.end(), 63, 'x');
  }
  too_long.push_back(0);
  EXPECT_EQ(read_name(too_long.data(), too_long.size(), 0, out, &len, &next), NameStatus::TooLong);
}

TEST(Query, ParsesQuestionAndEdns) {
  QuerySpec s;
  s.name = "My-Nginx.default.svc.cluster.local";
  s.type = rrtype::AAAA;
  s.edns_size = 4096;
  s.do_bit = true;
  ParsedQuery q;
  ASSERT_EQ(parse(make_query(s), q), ParseStatus::Ok);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.qtype, 28);
  EXPECT_EQ(q.qclass, 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(q.qname), q.qname_len),
            *name_from_text("my-nginx.default.svc.cluster.local"));
  EXPECT_TRUE(q.has_edns);
  EXPECT_EQ(q.udp_size, 4096);
  EXPECT_TRUE(q.do_bit);
  EXPECT_EQ(udp_limit(q), 1232u);  // capped (DNS flag day 2020)
  s.edns_size = 100;
  ASSERT_EQ(parse(make_query(s), q = ParsedQuery{}), ParseStatus::Ok);
  EXPECT_EQ(udp_limit(q), 512u);  // below 512 counts as 512 (RFC 6891 §6.2.5)
}

TEST(Query, HostileHeadersAndQuestions) {
  ParsedQuery q;
  EXPECT_EQ(parse(std::vector<uint8_t>(11, 0), q), ParseStatus::Drop);  // truncated header
  auto response = header(1, 0, 0, 0, kFlagQr);
  EXPECT_EQ(parse(response, q = ParsedQuery{}), ParseStatus::Drop);
  EXPECT_EQ(parse(header(0), q = ParsedQuery{}), ParseStatus::FormErr);  // qdcount 0
  auto two = make_query(QuerySpec{});
  Header(two).set_qdcount(2);
  EXPECT_EQ(parse(two, q = ParsedQuery{}), ParseStatus::FormErr);
  auto cut = make_query(QuerySpec{.name = "a.b"});
  cut.resize(cut.size() - 2);  // QCLASS missing
  EXPECT_EQ(parse(cut, q = ParsedQuery{}), ParseStatus::FormErr);
  auto pointer_q = header(1);
  pointer_q.insert(pointer_q.end(), {0xC0, 0x0C, 0, 1, 0, 1});  // question name points at itself
  EXPECT_EQ(parse(pointer_q, q = ParsedQuery{}), ParseStatus::FormErr);
  auto label64 = header(1);
  label64.push_back(64);
  label64.insert(label64.end(), 64, 'x');
  label64.insert(label64.end(), {0, 0, 1, 0, 1});
  EXPECT_EQ(parse(label64, q = ParsedQuery{}), ParseStatus::FormErr);
  auto notify = make_query(QuerySpec{.name = "a", .opcode = 4});
  EXPECT_EQ(parse(notify, q = ParsedQuery{}), ParseStatus::NotImp);
}

TEST(Query, HostileAdditionalRecords) {
  ParsedQuery q;
  // arcount says 1 but nothing follows.
  auto missing = make_query(QuerySpec{.name = "a"});
  Header(missing).set_count(Section::Additional, 1);
  EXPECT_EQ(parse(missing, q), ParseStatus::FormErr);
  // Two OPT records.
  auto two_opt = make_query(QuerySpec{.name = "a", .edns_size = 1232});
  Header(two_opt).set_count(Section::Additional, 2);
  two_opt.insert(two_opt.end(), {0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parse(two_opt, q = ParsedQuery{}), ParseStatus::FormErr);
  // OPT whose RDLENGTH runs past the end.
  auto long_opt = make_query(QuerySpec{.name = "a", .edns_size = 1232});
  long_opt[long_opt.size() - 1] = 20;
  EXPECT_EQ(parse(long_opt, q = ParsedQuery{}), ParseStatus::FormErr);
  // OPT with an option that does not tile RDATA.
  auto bad_option = make_query(QuerySpec{.name = "a", .edns_size = 1232});
  bad_option[bad_option.size() - 1] = 3;
  bad_option.insert(bad_option.end(), {0, 10, 0});
  EXPECT_EQ(parse(bad_option, q = ParsedQuery{}), ParseStatus::FormErr);
  // A well-formed cookie option is accepted.
  auto cookie = make_query(QuerySpec{.name = "a", .edns_size = 1232});
  cookie[cookie.size() - 1] = 12;
  cookie.insert(cookie.end(), {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_EQ(parse(cookie, q = ParsedQuery{}), ParseStatus::Ok);
  EXPECT_TRUE(q.has_edns);
  // OPT not owned by the root.
  auto owned = make_query(QuerySpec{.name = "a"});
  Header(owned).set_count(Section::Additional, 1);
  owned.insert(owned.end(), {1, 'x', 0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parse(owned, q = ParsedQuery{}), ParseStatus::FormErr);
}

TEST(Response, EmptyResponseEchoesQuestionAndOpt) {
  auto query = make_query(QuerySpec{.name = "Example.COM", .type = rrtype::A, .edns_size = 1232});
  ParsedQuery q;
  ASSERT_EQ(parse(query, q), ParseStatus::Ok);
  std::vector<uint8_t> out(512);
  const size_t n = write_empty_response(query, q, kRcodeBadVers, 0, out);
  const auto d = clusterdns::testutil::decode(out.data(), n);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.rcode, "BADVERS");
  EXPECT_EQ(d.question, "Example.COM. A");
  EXPECT_TRUE(d.qr);
  EXPECT_TRUE(d.rd);
  EXPECT_TRUE(d.has_opt);
}

TEST(Writer, CompressesAgainstKnownNames) {
  CompressingWriter w(20);
  const auto qname = *name_from_text("a.example.com");
  w.add_known_name(qname, 12);
  w.put_name(*name_from_text("b.example.com"));
  // "b" label then a pointer to "example.com" inside the question (12 + 2).
  const std::vector<uint8_t> expected = {1, 'b', 0xC0, 14};
  EXPECT_EQ(w.bytes(), expected);
  w.put_name(*name_from_text("b.example.com"));  // now fully known at offset 20
  EXPECT_EQ(w.bytes()[4], 0xC0);
  EXPECT_EQ(w.bytes()[5], 20);
}

}  // namespace
