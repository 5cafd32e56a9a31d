// The draft's packed records: sets in type order, records in byte order, counted contributions, TTLs,
// and nodes that go when their last record or claim does.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <memory_resource>
#include <random>
#include <string>
#include <vector>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/draft.hpp"

using namespace clusterdns::zones;
namespace rrtype = clusterdns::dns::wire::rrtype;
using clusterdns::dns::wire::name_from_text;

namespace {

ZoneDraft draft_with_zone() {
  ZoneDraft d;
  DraftZone z;
  z.apex = *name_from_text("cluster.local");
  z.mname = *name_from_text("ns.dns.cluster.local");
  z.rname = *name_from_text("hostmaster.cluster.local");
  d.add_zone(z);
  return d;
}

Rdata a(uint32_t v) {
  const uint8_t ip[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                         static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
  return rdata_a(ip);
}

std::vector<std::string> records_of(const ZoneDraft& d, const std::string& owner, uint16_t type,
                                    uint32_t* ttl = nullptr) {
  std::vector<std::string> out;
  const DraftNode* n = d.find(owner);
  if (!n) return out;
  auto it = n->rrsets.find(type);
  if (it == n->rrsets.end()) return out;
  if (ttl) *ttl = it->second.ttl;
  EXPECT_EQ(it->second.rdatas.size(),
            static_cast<size_t>(std::distance(it->second.rdatas.begin(), it->second.rdatas.end())));
  for (const RdataView rd : it->second.rdatas)
    out.emplace_back(rd.raw);
  return out;
}

}  // namespace

TEST(Draft, RecordsKeepByteOrderWhateverTheOrderOfChanges) {
  const std::string owner = *name_from_text("web.team.svc.cluster.local");
  std::vector<uint32_t> ips;
  for (uint32_t i = 0; i < 2000; ++i)
    ips.push_back(0x0A800000u + i * 7919u % 65536u);
  std::sort(ips.begin(), ips.end());
  ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
  std::vector<std::string> expected;
  for (uint32_t ip : ips)
    expected.emplace_back(a(ip).raw);

  std::mt19937 rng(7);
  for (int round = 0; round < 3; ++round) {
    ZoneDraft d = draft_with_zone();
    std::vector<uint32_t> order = ips;
    std::shuffle(order.begin(), order.end(), rng);
    for (uint32_t ip : order) {
      ASSERT_TRUE(d.add(owner, rrtype::A, 30, a(ip)));
      ASSERT_TRUE(d.add(owner, rrtype::TXT, 30, rdata_txt("x")));  // a second set beside the growing one
    }
    EXPECT_EQ(records_of(d, owner, rrtype::A), expected);
    EXPECT_EQ(records_of(d, owner, rrtype::TXT), std::vector<std::string>{std::string("\1x", 2)});
    // Types in order: A (1) before TXT (16).
    const DraftNode* n = d.find(owner);
    ASSERT_NE(n, nullptr);
    std::vector<uint16_t> types;
    for (const auto& [type, set] : n->rrsets)
      types.push_back(type);
    EXPECT_EQ(types, (std::vector<uint16_t>{rrtype::A, rrtype::TXT}));

    // Out again in another order: half first, checked, then the rest; the node goes with its last record.
    std::shuffle(order.begin(), order.end(), rng);
    const size_t half = order.size() / 2;
    for (size_t i = 0; i < half; ++i)
      d.remove(owner, rrtype::A, 30, a(order[i]));
    std::vector<uint32_t> left(order.begin() + static_cast<long>(half), order.end());
    std::sort(left.begin(), left.end());
    std::vector<std::string> left_raw;
    for (uint32_t ip : left)
      left_raw.emplace_back(a(ip).raw);
    EXPECT_EQ(records_of(d, owner, rrtype::A), left_raw);
    for (size_t i = half; i < order.size(); ++i)
      d.remove(owner, rrtype::A, 30, a(order[i]));
    EXPECT_TRUE(records_of(d, owner, rrtype::A).empty());
    for (size_t i = 0; i < order.size(); ++i)
      d.remove(owner, rrtype::TXT, 30, rdata_txt("x"));
    EXPECT_EQ(d.find(owner), nullptr);
    // Its empty ancestors went with it; the apex stays.
    EXPECT_EQ(d.find(*name_from_text("svc.cluster.local")), nullptr);
    EXPECT_NE(d.find(*name_from_text("cluster.local")), nullptr);
  }
}

TEST(Draft, ARecordGivenTwiceIsRemovedTwice) {
  ZoneDraft d = draft_with_zone();
  const std::string owner = *name_from_text("db.team.svc.cluster.local");
  d.add(owner, rrtype::A, 30, a(1));
  d.add(owner, rrtype::A, 30, a(1));
  EXPECT_EQ(records_of(d, owner, rrtype::A).size(), 1u);
  d.remove(owner, rrtype::A, 30, a(1));
  EXPECT_EQ(records_of(d, owner, rrtype::A).size(), 1u);
  d.remove(owner, rrtype::A, 30, a(1));
  EXPECT_EQ(d.find(owner), nullptr);
  d.remove(owner, rrtype::A, 30, a(1));  // once more: nothing to undo, nothing breaks
  EXPECT_EQ(d.find(owner), nullptr);
}

TEST(Draft, AnRRsetTakesTheSmallestTtlOfItsRecords) {
  ZoneDraft d = draft_with_zone();
  const std::string owner = *name_from_text("db.team.svc.cluster.local");
  uint32_t ttl = 0;
  d.add(owner, rrtype::A, 30, a(1));
  d.add(owner, rrtype::A, 5, a(2));
  d.add(owner, rrtype::A, 60, a(3));
  records_of(d, owner, rrtype::A, &ttl);
  EXPECT_EQ(ttl, 5u);
  d.remove(owner, rrtype::A, 5, a(2));
  records_of(d, owner, rrtype::A, &ttl);
  EXPECT_EQ(ttl, 30u);
}

TEST(Draft, ACloneHoldsTheSameRecordsAndOutlivesTheOriginal) {
  auto d = std::make_unique<ZoneDraft>(draft_with_zone());
  const std::string owner = *name_from_text("_http._tcp.web.team.svc.cluster.local");
  const std::string target = *name_from_text("web.team.svc.cluster.local");
  for (uint16_t port = 1; port <= 50; ++port)
    d->add(owner, rrtype::SRV, 30, rdata_srv(0, 100, port, target));
  const auto expected = records_of(*d, owner, rrtype::SRV);
  ASSERT_EQ(expected.size(), 50u);
  auto copy = d->clone();
  d.reset();
  EXPECT_EQ(records_of(*copy, owner, rrtype::SRV), expected);
  EXPECT_EQ(copy->nodes().size(), 6u);  // the apex, svc, team, web, _tcp and the owner
}

// The name table against a reference set: erasing shifts later entries of a probe run back into the hole,
// and every name left must still be found (a wrong shift loses names that sit past their home slot).
TEST(DraftNodes, AddsAndErasesInAnyOrderLoseNothing) {
  std::pmr::unsynchronized_pool_resource memory;
  DraftNodes table(&memory);
  std::mt19937 random(7);
  std::vector<std::string> names;
  for (int i = 0; i < 20000; ++i)
    names.push_back(*name_from_text("pod-" + std::to_string(i) + ".ns-" + std::to_string(i % 37) + ".svc"));
  std::vector<bool> present(names.size(), false);
  size_t count = 0;
  for (int round = 0; round < 200000; ++round) {
    const size_t i = random() % names.size();
    if (random() % 3 != 0) {
      auto [node, created] = table.try_emplace(names[i]);
      ASSERT_EQ(created, !present[i]) << i;
      if (created) node->claims = static_cast<uint32_t>(i);
      count += created;
      present[i] = true;
    } else {
      ASSERT_EQ(table.erase(names[i]), present[i]) << i;
      count -= present[i];
      present[i] = false;
    }
  }
  ASSERT_EQ(table.size(), count);
  for (size_t i = 0; i < names.size(); ++i) {
    const DraftNode* node = table.find(names[i]);
    ASSERT_EQ(node != nullptr, present[i]) << i;
    if (node) {
      EXPECT_EQ(node->claims, i);
    }
  }
  size_t walked = 0;
  for (const auto& [name, node] : table) {
    ++walked;
    EXPECT_EQ(table.find(name), &node);
  }
  EXPECT_EQ(walked, count);
}
