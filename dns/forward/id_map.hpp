// Upstream query IDs: random and unique among one worker's queries in flight (c-ares 1.18 sends the
// caller's ID unchanged and checks nothing: ares_send(3) in c-ares 1.18). The client's own ID is restored on
// the answer.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <vector>

namespace clusterdns::dns::forward {

class IdAllocator {
 public:
  IdAllocator() : used_(kIds / 64, 0) {}

  // A random ID not in use (arc4random: unpredictable to an off-path spoofer), or nullopt when nearly
  // all are taken. A few random probes, then a scan from a random start: bounded, no allocation.
  std::optional<uint16_t> allocate() {
    if (in_use_ >= kMaxInUse) return std::nullopt;
    for (int i = 0; i < 8; ++i) {
      const auto id = static_cast<uint16_t>(arc4random_uniform(kIds));
      if (try_take(id)) return id;
    }
    const uint32_t start = arc4random_uniform(kIds);
    for (uint32_t i = 0; i < kIds; ++i) {
      const auto id = static_cast<uint16_t>((start + i) & (kIds - 1));
      if (try_take(id)) return id;
    }
    return std::nullopt;
  }

  void release(uint16_t id) {
    uint64_t& word = used_[id >> 6];
    const uint64_t bit = uint64_t{1} << (id & 63);
    if ((word & bit) == 0) return;
    word &= ~bit;
    --in_use_;
  }

  bool in_use(uint16_t id) const { return (used_[id >> 6] >> (id & 63)) & 1; }
  size_t count() const { return in_use_; }

  static constexpr uint32_t kIds = 65536;
  static constexpr size_t kMaxInUse = 60000;  // keep the random probes cheap

 private:
  bool try_take(uint16_t id) {
    uint64_t& word = used_[id >> 6];
    const uint64_t bit = uint64_t{1} << (id & 63);
    if (word & bit) return false;
    word |= bit;
    ++in_use_;
    return true;
  }

  std::vector<uint64_t> used_;
  size_t in_use_ = 0;
};

}  // namespace clusterdns::dns::forward
