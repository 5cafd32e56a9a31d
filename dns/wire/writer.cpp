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
  mark_bytes_ = mark_pool_ = mark_targets_ = 0;
}

void CompressingWriter::mark() {
  mark_bytes_ = bytes_.size();
  mark_pool_ = pool_.size();
  mark_targets_ = targets_.size();
}

void CompressingWriter::rewind() {
  // Targets learnt since the mark took slots that were free then (a grow rehashed the older ones first, in
  // order), so freeing their slots leaves the table as the older targets alone would have it.
  for (size_t i = mark_targets_; i < targets_.size(); ++i)
    table_[targets_[i].slot] = 0;
  targets_.resize(mark_targets_);
  pool_.resize(mark_pool_);
  bytes_.resize(mark_bytes_);
}

size_t CompressingWriter::suffixes(std::string_view wire, Suffixes& out) {
  size_t n = 0;
  for (size_t i = 0; i < wire.size() && wire[i] != 0 && n < Suffixes::kMax;) {
    out.at[n++] = static_cast<uint16_t>(i);
    i += static_cast<uint8_t>(wire[i]) + 1u;
  }
  uint32_t h = 2166136261u;  // FNV-1a, a label at a time from the root
  for (size_t k = n; k-- > 0;) {
    const size_t end =
        k + 1 < n ? out.at[k + 1]
                  : std::min(wire.size(),
                             out.at[k] + static_cast<size_t>(static_cast<uint8_t>(wire[out.at[k]])) + 1u);
    for (size_t i = out.at[k]; i < end; ++i)
      h = (h ^ static_cast<uint8_t>(wire[i])) * 16777619u;
    out.hash[k] = h;
  }
  return n;
}

bool CompressingWriter::is(const Target& t, std::string_view suffix, uint32_t hash) const {
  return t.hash == hash && t.len == suffix.size() &&
         std::memcmp(pool_.data() + t.pool_at, suffix.data(), t.len) == 0;
}

int CompressingWriter::find_target(std::string_view suffix, uint32_t hash) const {
  if (table_.empty()) return -1;
  const size_t mask = table_.size() - 1;
  for (size_t slot = hash & mask; table_[slot] != 0; slot = (slot + 1) & mask) {
    const Target& t = targets_[table_[slot] - 1];
    if (is(t, suffix, hash)) return t.offset;
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

void CompressingWriter::add_target(std::string_view suffix, uint32_t hash, size_t offset) {
  if ((targets_.size() + 1) * 2 > table_.size()) grow_table();
  const size_t mask = table_.size() - 1;
  size_t slot = hash & mask;
  for (; table_[slot] != 0; slot = (slot + 1) & mask) {
    if (is(targets_[table_[slot] - 1], suffix, hash)) return;  // known: the first occurrence stays
  }
  targets_.push_back(Target{static_cast<uint32_t>(pool_.size()), hash, static_cast<uint32_t>(slot),
                            static_cast<uint16_t>(suffix.size()), static_cast<uint16_t>(offset)});
  pool_.append(suffix);
  table_[slot] = static_cast<uint32_t>(targets_.size());
}

void CompressingWriter::remember(std::string_view wire, size_t at) {
  Suffixes sx;
  const size_t n = suffixes(wire, sx);
  for (size_t k = 0; k < n && at + sx.at[k] < 0x4000; ++k)
    add_target(wire.substr(sx.at[k]), sx.hash[k], at + sx.at[k]);
}

void CompressingWriter::add_known_name(std::string_view wire, size_t at) {
  remember(wire, at);
}

void CompressingWriter::put_name(std::string_view wire) {
  const size_t start = message_offset();
  Suffixes sx;
  const size_t n = suffixes(wire, sx);
  for (size_t k = 0; k < n; ++k) {
    const size_t i = sx.at[k];
    if (const int known = find_target(wire.substr(i), sx.hash[k]); known >= 0) {
      put_bytes(wire.substr(0, i));
      put_u16(static_cast<uint16_t>(0xC000 | known));
      // The labels written here continue through the pointer: each is a full suffix of `wire`.
      for (size_t j = 0; j < k && start + sx.at[j] < 0x4000; ++j)
        add_target(wire.substr(sx.at[j]), sx.hash[j], start + sx.at[j]);
      return;
    }
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
