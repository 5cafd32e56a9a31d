// Compression keeps one entry per distinct suffix; pointers can address only the first 16 KiB (14 bits).
#include "dns/wire/writer.hpp"

#include <cstring>

#include "dns/wire/name.hpp"

namespace clusterdns::dns::wire {

void CompressingWriter::reset(size_t base) {
  base_ = base;
  bytes_.clear();
  for (const Target& t : targets_)
    table_[t.slot] = 0;
  targets_.clear();
  pool_.clear();
}

int CompressingWriter::find_target(std::string_view suffix) const {
  if (table_.empty()) return -1;
  const uint32_t h = hash_name(suffix);
  const size_t mask = table_.size() - 1;
  for (size_t slot = h & mask; table_[slot] != 0; slot = (slot + 1) & mask) {
    const Target& t = targets_[table_[slot] - 1];
    if (t.hash == h && t.len == suffix.size() &&
        std::memcmp(pool_.data() + t.pool_at, suffix.data(), t.len) == 0)
      return t.offset;
  }
  return -1;
}

void CompressingWriter::grow_table() {
  std::vector<uint32_t> bigger(table_.empty() ? 64 : table_.size() * 2, 0);
  const size_t mask = bigger.size() - 1;
  for (size_t i = 0; i < targets_.size(); ++i) {
    size_t slot = targets_[i].hash & mask;
    while (bigger[slot] != 0)
      slot = (slot + 1) & mask;
    bigger[slot] = static_cast<uint32_t>(i + 1);
    targets_[i].slot = static_cast<uint32_t>(slot);
  }
  table_.swap(bigger);
}

void CompressingWriter::add_target(std::string_view suffix, size_t offset) {
  if (find_target(suffix) >= 0) return;
  if ((targets_.size() + 1) * 2 > table_.size()) grow_table();
  const uint32_t h = hash_name(suffix);
  const size_t mask = table_.size() - 1;
  size_t slot = h & mask;
  while (table_[slot] != 0)
    slot = (slot + 1) & mask;
  targets_.push_back(Target{static_cast<uint32_t>(pool_.size()), h, static_cast<uint32_t>(slot),
                            static_cast<uint16_t>(suffix.size()), static_cast<uint16_t>(offset)});
  pool_.append(suffix);
  table_[slot] = static_cast<uint32_t>(targets_.size());
}

void CompressingWriter::remember(std::string_view wire, size_t at) {
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0 && at + i < 0x4000) {
    add_target(wire.substr(i), at + i);
    i += static_cast<uint8_t>(wire[i]) + 1u;
  }
}

void CompressingWriter::add_known_name(std::string_view wire, size_t at) {
  remember(wire, at);
}

void CompressingWriter::put_name(std::string_view wire) {
  const size_t start = message_offset();
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    if (const int known = find_target(wire.substr(i)); known >= 0) {
      put_bytes(wire.substr(0, i));
      put_u16(static_cast<uint16_t>(0xC000 | known));
      // The labels written here continue through the pointer: each is a full suffix of `wire`.
      size_t j = 0;
      while (j < i && start + j < 0x4000) {
        add_target(wire.substr(j), start + j);
        j += static_cast<uint8_t>(wire[j]) + 1u;
      }
      return;
    }
    i += static_cast<uint8_t>(wire[i]) + 1u;
  }
  put_name_uncompressed(wire);
}

void CompressingWriter::put_name_uncompressed(std::string_view wire) {
  remember(wire, message_offset());
  put_bytes(wire);
}

void CompressingWriter::put_u16(uint16_t v) {
  bytes_.push_back(static_cast<uint8_t>(v >> 8));
  bytes_.push_back(static_cast<uint8_t>(v));
}

void CompressingWriter::put_u32(uint32_t v) {
  put_u16(static_cast<uint16_t>(v >> 16));
  put_u16(static_cast<uint16_t>(v));
}

void CompressingWriter::patch_u16(size_t pos, uint16_t v) {
  bytes_[pos] = static_cast<uint8_t>(v >> 8);
  bytes_[pos + 1] = static_cast<uint8_t>(v);
}

}  // namespace clusterdns::dns::wire
