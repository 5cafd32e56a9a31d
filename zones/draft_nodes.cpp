// The draft's name table: open addressing over nodes that hold their names.
#include "zones/draft_nodes.hpp"

#include <cstring>
#include <new>

#include "dns/wire/name.hpp"

namespace clusterdns::zones {

namespace {
uint16_t tag_of(uint64_t hash) {
  return static_cast<uint16_t>(hash >> 48);
}
}  // namespace

size_t DraftNodes::probe(std::string_view name, uint64_t hash) const {
  const size_t mask = slots_.size() - 1;
  const uintptr_t tag = uintptr_t{tag_of(hash)} << kTagShift;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uintptr_t slot = slots_[i];
    if (slot == 0) return i;
    if ((slot & ~kAddressMask) != tag) continue;
    const Entry* e = entry_of(slot);
    if (e->name_length == name.size() && std::memcmp(e->name_data(), name.data(), name.size()) == 0) return i;
  }
}

uintptr_t DraftNodes::slot_of(std::string_view name) const {
  return size_ == 0 ? 0 : slots_[probe(name, dns::wire::hash_name64(name))];
}

DraftNode* DraftNodes::find(std::string_view name) const {
  const uintptr_t slot = slot_of(name);
  return slot == 0 ? nullptr : &mutable_entry_of(slot)->node;
}

const DraftNodes::Entry* DraftNodes::find_entry(std::string_view name) const {
  const uintptr_t slot = slot_of(name);
  return slot == 0 ? nullptr : entry_of(slot);
}

std::pair<DraftNode*, bool> DraftNodes::try_emplace(std::string_view name) {
  const Place place = find_place(name);
  if (place.node) return {place.node, false};
  return {emplace(name, place), true};
}

DraftNodes::Place DraftNodes::find_place(std::string_view name) {
  if ((size_ + 1) * 4 > slots_.size() * 3) grow();
  const uint64_t hash = dns::wire::hash_name64(name);
  const size_t i = probe(name, hash);
  return {slots_[i] != 0 ? &mutable_entry_of(slots_[i])->node : nullptr, i, hash};
}

void DraftNodes::reserve(size_t names) {
  while (names * 4 > slots_.size() * 3)
    grow();
}

DraftNode* DraftNodes::emplace(std::string_view name, const Place& place) {
  const uint64_t hash = place.hash;
  const size_t i = place.slot;
  if (name.size() > UINT8_MAX) throw std::length_error("draft name over 255 bytes");
  void* block = memory_->allocate(sizeof(Entry) + name.size(), alignof(Entry));
  auto address = reinterpret_cast<uintptr_t>(block);
  if ((address & ~kAddressMask) != 0) {  // cannot happen with 48-bit user address spaces; never mis-tag
    memory_->deallocate(block, sizeof(Entry) + name.size(), alignof(Entry));
    throw std::bad_alloc();
  }
  auto* e = new (block) Entry{{}, static_cast<uint32_t>(hash), static_cast<uint8_t>(name.size())};
  std::memcpy(const_cast<char*>(e->name_data()), name.data(), name.size());
  slots_[i] = address | (uintptr_t{tag_of(hash)} << kTagShift);
  ++size_;
  return &e->node;
}

bool DraftNodes::erase(std::string_view name) {
  if (size_ == 0) return false;
  size_t hole = probe(name, dns::wire::hash_name64(name));
  if (slots_[hole] == 0) return false;
  Entry* e = mutable_entry_of(slots_[hole]);
  e->~Entry();
  memory_->deallocate(e, sizeof(Entry) + name.size(), alignof(Entry));
  --size_;
  // Backward shift: move later entries of the run into the hole when their home slot allows it.
  const size_t mask = slots_.size() - 1;
  for (size_t i = (hole + 1) & mask; slots_[i] != 0; i = (i + 1) & mask) {
    const size_t home = entry_of(slots_[i])->hash & mask;
    // The entry at i may move to the hole unless its home lies cyclically in (hole, i].
    const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
    if (stays) continue;
    slots_[hole] = slots_[i];
    hole = i;
  }
  slots_[hole] = 0;
  return true;
}

void DraftNodes::grow() {
  std::vector<uintptr_t> old(slots_.empty() ? 16 : slots_.size() * 2, 0);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const uintptr_t slot : old) {
    if (slot == 0) continue;
    size_t i = entry_of(slot)->hash & mask;
    while (slots_[i] != 0)
      i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

}  // namespace clusterdns::zones
