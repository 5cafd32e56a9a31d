// dns/forward/id_map: upstream IDs are unique among those in flight, unpredictable, reusable once released.
#include "dns/forward/id_map.hpp"

#include <set>

#include <gtest/gtest.h>

namespace clusterdns::dns::forward {
namespace {

TEST(UpstreamIds, UniqueWhileInFlightUpToTheLimit) {
  IdAllocator ids;
  std::set<uint16_t> seen;
  for (size_t i = 0; i < IdAllocator::kMaxInUse; ++i) {
    const auto id = ids.allocate();
    ASSERT_TRUE(id) << i;
    ASSERT_TRUE(seen.insert(*id).second) << "duplicate ID " << *id << " after " << i;
  }
  EXPECT_EQ(ids.count(), IdAllocator::kMaxInUse);
  EXPECT_FALSE(ids.allocate());  // full: the forwarder answers SERVFAIL rather than reuse one
  const uint16_t released = *seen.begin();
  ids.release(released);
  seen.erase(released);
  const auto again = ids.allocate();  // below the limit again: any ID not in flight
  ASSERT_TRUE(again);
  EXPECT_EQ(seen.count(*again), 0u);
}

TEST(UpstreamIds, ReleaseIsIdempotent) {
  IdAllocator ids;
  const auto id = ids.allocate();
  ASSERT_TRUE(id);
  EXPECT_TRUE(ids.in_use(*id));
  ids.release(*id);
  ids.release(*id);
  EXPECT_FALSE(ids.in_use(*id));
  EXPECT_EQ(ids.count(), 0u);
}

TEST(UpstreamIds, NotSequentialAndSpreadOverTheSpace) {
  IdAllocator ids;
  int sequential = 0;
  int buckets[16] = {};
  uint16_t prev = *ids.allocate();
  for (int i = 0; i < 4096; ++i) {
    const uint16_t id = *ids.allocate();
    if (static_cast<uint16_t>(prev + 1) == id) ++sequential;
    ++buckets[id >> 12];
    prev = id;
  }
  EXPECT_LT(sequential, 8);
  for (int b : buckets) {
    EXPECT_GT(b, 4096 / 16 / 2);  // each 1/16 of the space gets a fair share
    EXPECT_LT(b, 4096 / 16 * 2);
  }
}

}  // namespace
}  // namespace clusterdns::dns::forward
