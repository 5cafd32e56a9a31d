// Owner name → draft node: the draft's index, looked up for every record and every ancestor while a zone of
// 450,000 names is built, so it is a flat table and not a node-based map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory_resource>
#include <string_view>
#include <utility>
#include <vector>

#include "zones/draft_node.hpp"

namespace clusterdns::zones {

// Open addressing with linear probing and backward-shift erase (no tombstones), at most 3/4 full. Each
// node lives in one block of the draft's pool together with its name, so a name costs its bytes and no
// string header, and a node's address stays put while it exists. A slot is one word: the node's address
// with 16 bits of the name's hash above it (user-space addresses fit in 48 bits on x86-64 and AArch64), so
// a probe rarely reads a node that is not the one asked for — an std::unordered_map of 450,000 names spent
// a fifth of a build's time in those cache misses.
class DraftNodes {
 public:
  struct Entry {
    DraftNode node;
    uint32_t hash;  // the low half of the name's hash: its home slot
    uint8_t name_length;
    const char* name_data() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view name() const { return {name_data(), name_length}; }
  };

  // Nodes are allocated from `memory`, which must outlive the table; they are never freed one by one on
  // destruction (the draft's pool goes with the draft).
  explicit DraftNodes(std::pmr::memory_resource* memory) : memory_(memory) {}
  DraftNodes(const DraftNodes&) = delete;
  DraftNodes& operator=(const DraftNodes&) = delete;
  DraftNodes(DraftNodes&& o) noexcept
      : memory_(o.memory_), slots_(std::move(o.slots_)), size_(std::exchange(o.size_, 0)) {}
  DraftNodes& operator=(DraftNodes&& o) noexcept {
    memory_ = o.memory_;
    slots_ = std::move(o.slots_);
    size_ = std::exchange(o.size_, 0);
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  DraftNode* find(std::string_view name) const;
  const Entry* find_entry(std::string_view name) const;
  // The node of `name`, and whether it was created now (value-initialized). Names are at most 255 bytes.
  std::pair<DraftNode*, bool> try_emplace(std::string_view name);
  // A lookup that may be followed by emplace(): `node` if `name` has one, else where it would go. The table
  // grows first if one more name would overfill it, so the place stays valid until the table changes.
  struct Place {
    DraftNode* node;
    size_t slot;
    uint64_t hash;
  };
  Place find_place(std::string_view name);
  // Creates the node of `name` at `place` (from find_place(name), with no change to the table since).
  DraftNode* emplace(std::string_view name, const Place& place);
  // Room for `names` nodes without growing (a build from nothing knows roughly how many it writes).
  void reserve(size_t names);
  // Erases the node of `name` (the caller has freed its records); false when there was none.
  bool erase(std::string_view name);
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uintptr_t); }
  // Calls f(DraftNode&) for every node, in no order (the draft's own bookkeeping).
  template <typename F>
  void for_each_node(F&& f) {
    for (const uintptr_t slot : slots_) {
      if (slot != 0) f(mutable_entry_of(slot)->node);
    }
  }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<std::string_view, const DraftNode&>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;
    const_iterator(const uintptr_t* at, const uintptr_t* end) : at_(at), end_(end) { skip(); }
    value_type operator*() const {
      const Entry* e = entry_of(*at_);
      return {e->name(), e->node};
    }
    const_iterator& operator++() {
      ++at_;
      skip();
      // A walk over every node reads them in hash order, scattered over the pool: ask for the node a few
      // slots on while this one is used (a build from nothing spent most of its walk waiting on memory).
      if (end_ - at_ > kAhead && at_[kAhead] != 0) __builtin_prefetch(entry_of(at_[kAhead]));
      return *this;
    }
    bool operator==(const const_iterator& o) const { return at_ == o.at_; }
    // The low half of the name's hash as stored: dns::wire::hash_name of the name.
    uint32_t hash() const { return entry_of(*at_)->hash; }

   private:
    static constexpr std::ptrdiff_t kAhead = 16;
    void skip() {
      while (at_ != end_ && *at_ == 0)
        ++at_;
    }
    const uintptr_t* at_;
    const uintptr_t* end_;
  };
  const_iterator begin() const { return {slots_.data(), slots_.data() + slots_.size()}; }
  const_iterator end() const { return {slots_.data() + slots_.size(), slots_.data() + slots_.size()}; }

 private:
  static constexpr unsigned kTagShift = 48;
  static constexpr uintptr_t kAddressMask = (uintptr_t{1} << kTagShift) - 1;
  static const Entry* entry_of(uintptr_t slot) { return reinterpret_cast<const Entry*>(slot & kAddressMask); }
  static Entry* mutable_entry_of(uintptr_t slot) { return reinterpret_cast<Entry*>(slot & kAddressMask); }
  // The slot holding `name`, or the empty slot where it would go.
  size_t probe(std::string_view name, uint64_t hash) const;
  // The slot holding `name`, or 0.
  uintptr_t slot_of(std::string_view name) const;
  void grow();

  std::pmr::memory_resource* memory_;
  std::vector<uintptr_t> slots_;  // 0: empty; a power of two in size
  size_t size_ = 0;
};

}  // namespace clusterdns::zones
