// dns/forward/cache: lifetimes (positive, RFC 2308 negative, SERVFAIL), TTL ageing and ID/case patching on
// hits, serve-stale (RFC 8767), prefetch, eviction that keeps hot names, and the shared second level.
#include "dns/forward/cache.hpp"

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/query.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::forward {
namespace {

using Bytes = std::vector<uint8_t>;
namespace rr = wire::rrtype;

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

Bytes query(const std::string& name, uint16_t type = rr::A, uint16_t id = 0x1111, bool edns = false,
            bool do_bit = false) {
  Bytes b;
  put16(b, id);
  put16(b, wire::kFlagRd);
  put16(b, 1);
  put16(b, 0);
  put16(b, 0);
  put16(b, edns ? 1 : 0);
  // Keep the caller's case (0x20): name_from_text lower-cases, so build the labels by hand.
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    b.push_back(static_cast<uint8_t>(dot - start));
    b.insert(b.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  b.push_back(0);
  put16(b, type);
  put16(b, wire::kClassIn);
  if (edns) {
    b.push_back(0);
    put16(b, rr::OPT);
    put16(b, 1232);
    put32(b, do_bit ? 0x8000 : 0);
    put16(b, 0);
  }
  return b;
}

wire::ParsedQuery parse(const Bytes& q) {
  wire::ParsedQuery p;
  EXPECT_EQ(wire::parse_query(q, p), wire::ParseStatus::Ok);
  return p;
}

struct Record {
  uint16_t type;
  uint32_t ttl;
  Bytes rdata;
};

// A response to `q`: `answers` in the answer section, `authority` in the authority section.
Bytes response(const Bytes& q, uint8_t rcode, const std::vector<Record>& answers,
               const std::vector<Record>& authority = {}) {
  const wire::ParsedQuery p = parse(q);
  Bytes b(q.begin(), q.begin() + static_cast<long>(p.question_end));
  wire::Header h(b);
  h.set(wire::kFlagQr);
  h.set(wire::kFlagRa);
  h.set(wire::kFlagAd, false);
  h.set(wire::kFlagCd, false);
  h.set_rcode(rcode);
  h.set_counts(h.qdcount(), static_cast<uint16_t>(answers.size()), static_cast<uint16_t>(authority.size()),
               0);
  for (const auto* list : {&answers, &authority}) {
    for (const Record& r : *list) {
      put16(b, 0xC00C);
      put16(b, r.type);
      put16(b, wire::kClassIn);
      put32(b, r.ttl);
      put16(b, static_cast<uint16_t>(r.rdata.size()));
      b.insert(b.end(), r.rdata.begin(), r.rdata.end());
    }
  }
  return b;
}

Record a(uint32_t ttl) {
  return {rr::A, ttl, {192, 0, 2, 1}};
}
Record soa(uint32_t ttl, uint32_t minimum) {
  Bytes rd = {0, 0};  // MNAME and RNAME: the root, to keep it short
  for (uint32_t v : {1u, 7200u, 1800u, 86400u, minimum})
    put32(rd, v);
  return {rr::SOA, ttl, rd};
}

// TTLs of every record in a response (answer and authority; our test messages have no additional).
std::vector<uint32_t> ttls(const uint8_t* p, size_t n) {
  const size_t count = size_t{wire::load_u16(p + 6)} + wire::load_u16(p + 8);
  size_t pos = wire::kHeaderSize;
  pos = *wire::skip_name(p, n, pos) + 4;
  std::vector<uint32_t> out;
  for (size_t i = 0; i < count; ++i) {
    pos = *wire::skip_name(p, n, pos);
    out.push_back(wire::load_u32(p + pos + 4));
    pos += 10 + wire::load_u16(p + pos + 8);
  }
  return out;
}

CacheOptions small(size_t capacity = 100) {
  CacheOptions o;
  o.capacity = capacity;
  return o;
}

TEST(ForwardCache, HitPatchesIdAndCaseAndAgesTtls) {
  Cache c(small());
  const Bytes q1 = query("www.example.test", rr::A, 0x1111);
  ASSERT_TRUE(c.store(make_key(parse(q1)), response(q1, 0, {a(300), a(60)}), 1'000));

  const Bytes q2 = query("WwW.ExAmple.TEST", rr::A, 0xBEEF);
  const wire::ParsedQuery p2 = parse(q2);
  const CacheHit hit = c.find(make_key(p2), 1'000 + 10'500);
  ASSERT_EQ(hit.kind, Freshness::Fresh);
  Bytes out(65535);
  const size_t n = c.write(hit.entry, q2, p2, out, 1'000 + 10'500, false);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(wire::load_u16(out.data()), 0xBEEF);                                     // the asking client's ID
  EXPECT_EQ(std::memcmp(out.data() + 12, q2.data() + 12, p2.question_end - 12), 0);  // its 0x20 case
  EXPECT_EQ(ttls(out.data(), n), (std::vector<uint32_t>{290, 50}));  // 10.5 s aged, each on its own
  // The lifetime is the smallest TTL: expired after 60 s.
  EXPECT_EQ(c.find(make_key(p2), 1'000 + 60'000).kind, Freshness::Stale);
}

TEST(ForwardCache, KeyIncludesTypeDoCdAndEdns) {
  Cache c(small());
  const Bytes q = query("a.test", rr::A);
  ASSERT_TRUE(c.store(make_key(parse(q)), response(q, 0, {a(300)}), 0));
  EXPECT_EQ(c.find(make_key(parse(query("A.TEST", rr::A))), 1).kind, Freshness::Fresh);
  EXPECT_EQ(c.find(make_key(parse(query("a.test", rr::AAAA))), 1).kind, Freshness::Miss);
  EXPECT_EQ(c.find(make_key(parse(query("a.test", rr::A, 1, true))), 1).kind, Freshness::Miss);
  EXPECT_EQ(c.find(make_key(parse(query("a.test", rr::A, 1, true, true))), 1).kind, Freshness::Miss);
  Bytes cd = q;
  wire::Header(cd).set(wire::kFlagCd);
  EXPECT_EQ(c.find(make_key(parse(cd)), 1).kind, Freshness::Miss);
}

TEST(ForwardCache, PositiveTtlIsCapped) {
  CacheOptions o = small();
  o.max_ttl = 100;
  Cache c(o);
  const Bytes q = query("a.test");
  ASSERT_TRUE(c.store(make_key(parse(q)), response(q, 0, {a(86400)}), 0));
  const wire::ParsedQuery p = parse(q);
  const CacheHit hit = c.find(make_key(p), 0);
  Bytes out(65535);
  const size_t n = c.write(hit.entry, q, p, out, 0, false);
  EXPECT_EQ(ttls(out.data(), n), (std::vector<uint32_t>{100}));
  EXPECT_EQ(c.find(make_key(p), 99'999).kind, Freshness::Fresh);
  EXPECT_NE(c.find(make_key(p), 100'000).kind, Freshness::Fresh);
}

TEST(ForwardCache, NegativeLifetimeFollowsRfc2308) {
  CacheOptions o = small();
  o.max_neg_ttl = 300;
  Cache c(o);
  // NXDOMAIN: min(SOA TTL 3600, SOA MINIMUM 60) = 60 s.
  const Bytes nx = query("nx.example.test");
  ASSERT_TRUE(c.store(make_key(parse(nx)), response(nx, 3, {}, {soa(3600, 60)}), 0));
  EXPECT_EQ(c.find(make_key(parse(nx)), 59'999).kind, Freshness::Fresh);
  EXPECT_NE(c.find(make_key(parse(nx)), 60'000).kind, Freshness::Fresh);
  // NODATA: the SOA's TTL when smaller (30), and the served SOA TTL ages too.
  const Bytes nodata = query("www.example.test", rr::AAAA);
  ASSERT_TRUE(c.store(make_key(parse(nodata)), response(nodata, 0, {}, {soa(30, 900)}), 0));
  const wire::ParsedQuery p = parse(nodata);
  const CacheHit hit = c.find(make_key(p), 10'000);
  ASSERT_EQ(hit.kind, Freshness::Fresh);
  Bytes out(65535);
  EXPECT_EQ(ttls(out.data(), c.write(hit.entry, nodata, p, out, 10'000, false)), (std::vector<uint32_t>{20}));
  EXPECT_NE(c.find(make_key(p), 30'000).kind, Freshness::Fresh);
  // --cache-max-neg-ttl caps it.
  const Bytes capped = query("capped.example.test");
  ASSERT_TRUE(c.store(make_key(parse(capped)), response(capped, 3, {}, {soa(86400, 86400)}), 0));
  EXPECT_EQ(c.find(make_key(parse(capped)), 299'999).kind, Freshness::Fresh);
  EXPECT_NE(c.find(make_key(parse(capped)), 300'000).kind, Freshness::Fresh);
  // Negative without SOA: not cached (RFC 2308 §5).
  const Bytes bare = query("bare.example.test");
  EXPECT_FALSE(c.store(make_key(parse(bare)), response(bare, 3, {}), 0));
}

TEST(ForwardCache, ServfailBrieflyRefusedAndTruncatedNever) {
  Cache c(small());
  const Bytes q = query("sf.test");
  ASSERT_TRUE(c.store(make_key(parse(q)), response(q, 2, {}), 0));
  EXPECT_EQ(c.find(make_key(parse(q)), 4'999).kind, Freshness::Fresh);
  EXPECT_EQ(c.find(make_key(parse(q)), 5'000).kind, Freshness::Miss);  // and never served stale
  const Bytes r = query("refused.test");
  EXPECT_FALSE(c.store(make_key(parse(r)), response(r, 5, {}), 0));
  const Bytes t = query("tc.test");
  Bytes tc = response(t, 0, {a(300)});
  wire::Header(tc).set(wire::kFlagTc);
  EXPECT_FALSE(c.store(make_key(parse(t)), tc, 0));
  const Bytes z = query("zero.test");
  EXPECT_FALSE(c.store(make_key(parse(z)), response(z, 0, {a(0)}), 0));
}

// Found by tests/fuzz upstream_answer: c-ares 1.18 hands over any message whose ID and question match, so
// a QR=0 "answer" (or one with another OPCODE) from a broken upstream was cached and served for its TTL.
TEST(ForwardCache, OnlyResponsesToStandardQueriesAreStored) {
  Cache c(small());
  const Bytes q = query("notresponse.test");
  Bytes not_response = response(q, 0, {a(300)});
  wire::Header(not_response).set(wire::kFlagQr, false);
  EXPECT_FALSE(c.store(make_key(parse(q)), not_response, 0));
  Bytes notify = response(q, 0, {a(300)});
  wire::Header(notify).set_opcode(wire::opcode::Notify);
  EXPECT_FALSE(c.store(make_key(parse(q)), notify, 0));
  EXPECT_EQ(c.find(make_key(parse(q)), 0).kind, Freshness::Miss);
  EXPECT_TRUE(c.store(make_key(parse(q)), response(q, 0, {a(300)}), 0));
}

TEST(ForwardCache, ServeStaleWithinTheWindowWithShortTtl) {
  CacheOptions o = small();
  o.stale_max = 3600;
  o.stale_ttl = 30;
  Cache c(o);
  const Bytes q = query("www.example.test");
  const wire::ParsedQuery p = parse(q);
  ASSERT_TRUE(c.store(make_key(p), response(q, 0, {a(60)}), 0));
  CacheHit hit = c.find(make_key(p), 61'000);
  ASSERT_EQ(hit.kind, Freshness::Stale);
  Bytes out(65535);
  EXPECT_EQ(ttls(out.data(), c.write(hit.entry, q, p, out, 61'000, true)), (std::vector<uint32_t>{30}));
  EXPECT_EQ(c.find_stale(make_key(p), 60'000 + 3'599'000).kind, Freshness::Stale);
  EXPECT_EQ(c.find(make_key(p), 60'000 + 3'600'000).kind, Freshness::Miss);  // past the window
  // A SERVFAIL from upstream must not replace an answer that can still be served stale.
  EXPECT_FALSE(c.store(make_key(p), response(q, 2, {}), 120'000));
  EXPECT_EQ(c.find_stale(make_key(p), 120'000).kind, Freshness::Stale);
  // With serve-stale off, expired is a miss.
  o.stale_max = 0;
  Cache off(o);
  ASSERT_TRUE(off.store(make_key(p), response(q, 0, {a(60)}), 0));
  EXPECT_EQ(off.find(make_key(p), 60'000).kind, Freshness::Miss);
}

TEST(ForwardCache, PrefetchPopularEntriesOnceNearExpiry) {
  Cache c(small());  // defaults: after 2 hits, in the last 10 % of the lifetime
  const Bytes q = query("hot.test");
  const auto key = make_key(parse(q));
  ASSERT_TRUE(c.store(key, response(q, 0, {a(100)}), 0));
  EXPECT_FALSE(c.find(key, 1'000).prefetch);
  EXPECT_FALSE(c.find(key, 50'000).prefetch);  // popular now, but 50 % left
  EXPECT_TRUE(c.find(key, 91'000).prefetch);
  EXPECT_FALSE(c.find(key, 92'000).prefetch);  // already on its way
  c.prefetch_done(key);                        // it failed: may go again
  EXPECT_TRUE(c.find(key, 93'000).prefetch);
  ASSERT_TRUE(c.store(key, response(q, 0, {a(100)}), 95'000));  // refreshed
  EXPECT_EQ(c.find(key, 150'000).kind, Freshness::Fresh);
  const Bytes cold = query("cold.test");
  ASSERT_TRUE(c.store(make_key(parse(cold)), response(cold, 0, {a(100)}), 0));
  EXPECT_FALSE(c.find(make_key(parse(cold)), 95'000).prefetch);  // asked once: not worth it
}

TEST(ForwardCache, EvictionKeepsHotNamesThroughAScan) {
  Cache c(small(100));
  auto key_of = [](const std::string& n) { return make_key(parse(query(n))); };
  for (int i = 0; i < 50; ++i) {
    const Bytes q = query("hot" + std::to_string(i) + ".test");
    ASSERT_TRUE(c.store(key_of("hot" + std::to_string(i) + ".test"), response(q, 0, {a(3600)}), 0));
    ASSERT_EQ(c.find(key_of("hot" + std::to_string(i) + ".test"), 1).kind, Freshness::Fresh);  // asked again
  }
  for (int i = 0; i < 10'000; ++i) {  // a scan of names asked once, 100 x the capacity
    const std::string n = "scan" + std::to_string(i) + ".test";
    ASSERT_TRUE(c.store(key_of(n), response(query(n), 0, {a(3600)}), 2));
  }
  EXPECT_EQ(c.size(), 100u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(c.find(key_of("hot" + std::to_string(i) + ".test"), 3).kind, Freshness::Fresh) << i;
  }
  EXPECT_EQ(c.find(key_of("scan0.test"), 3).kind, Freshness::Miss);
  EXPECT_EQ(c.find(key_of("scan9999.test"), 3).kind, Freshness::Fresh);
  EXPECT_GE(c.counters().evictions, 9'950u);
}

TEST(ForwardCache, EvictionIsLruWithinEachSegment) {
  Cache c(small(10));
  auto key_of = [](int i) { return make_key(parse(query("n" + std::to_string(i) + ".test"))); };
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(c.store(key_of(i), response(query("n" + std::to_string(i) + ".test"), 0, {a(60)}), 0));
  ASSERT_EQ(c.find(key_of(0), 1).kind, Freshness::Fresh);  // 0 is promoted
  ASSERT_TRUE(c.store(key_of(10), response(query("n10.test"), 0, {a(60)}), 1));
  EXPECT_EQ(c.find(key_of(0), 2).kind, Freshness::Fresh);
  EXPECT_EQ(c.find(key_of(1), 2).kind, Freshness::Miss);  // the oldest on probation went
}

TEST(ForwardCache, SharedLevelKeepsTheOriginalTime) {
  SharedCache shared(small(1000));
  const Bytes q = query("www.example.test");
  const auto key = make_key(parse(q));
  ASSERT_TRUE(shared.store(key, response(q, 0, {a(300)}), 1'000));
  Bytes bytes;
  int64_t stored = 0;
  ASSERT_TRUE(shared.fetch(key, 11'000, bytes, stored));
  EXPECT_EQ(stored, 1'000);
  Cache mine(small());
  ASSERT_TRUE(mine.store(key, bytes, 11'000, stored));
  const wire::ParsedQuery p = parse(q);
  const CacheHit hit = mine.find(key, 11'000);
  Bytes out(65535);
  EXPECT_EQ(ttls(out.data(), mine.write(hit.entry, q, p, out, 11'000, false)), (std::vector<uint32_t>{290}));
  EXPECT_EQ(shared.size(), 1u);
  EXPECT_FALSE(shared.fetch(make_key(parse(query("other.test"))), 11'000, bytes, stored));
}

}  // namespace
}  // namespace clusterdns::dns::forward
