// Build-time record writer with name compression (RFC 1035 §4.1.4). Allocates: never on the query path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace clusterdns::dns::wire {

class CompressingWriter {
 public:
  // `base` is the message offset at which this writer's first byte will sit.
  explicit CompressingWriter(size_t base) : base_(base) {}
  // Starts over at `base`, keeping every buffer's capacity: a snapshot compiles thousands of answers with one
  // writer, and reuse makes that allocation-free once the buffers have grown.
  void reset(size_t base);

  // Declares that `wire` (and every suffix) already sits at message offset `at` (e.g. the QNAME at 12).
  void add_known_name(std::string_view wire, size_t at);
  // Writes `wire` compressed against every name written or declared so far (lower-cased form assumed).
  void put_name(std::string_view wire);
  // Writes `wire` verbatim, still remembering it as a compression target.
  void put_name_uncompressed(std::string_view wire);
  void put_u8(uint8_t v) { bytes_.push_back(v); }
  void put_u16(uint16_t v);
  void put_u32(uint32_t v);
  void put_bytes(std::string_view b) { bytes_.insert(bytes_.end(), b.begin(), b.end()); }
  // Patches a 16-bit value at writer offset `pos` (RDLENGTH after the RDATA is known).
  void patch_u16(size_t pos, uint16_t v);

  size_t size() const { return bytes_.size(); }
  size_t message_offset() const { return base_ + bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  // One compression target: a name suffix (its bytes in pool_) and where it sits in the message.
  struct Target {
    uint32_t pool_at;
    uint32_t hash;
    uint32_t slot;
    uint16_t len;
    uint16_t offset;
  };
  void remember(std::string_view wire, size_t at);
  // Records `suffix` at `offset` unless it is already known (the first occurrence is the one pointed to).
  void add_target(std::string_view suffix, size_t offset);
  // The offset of `suffix`, or -1.
  int find_target(std::string_view suffix) const;
  void grow_table();

  size_t base_;
  std::vector<uint8_t> bytes_;
  std::string pool_;
  std::vector<Target> targets_;
  std::vector<uint32_t> table_;  // open addressing: index + 1 into targets_, 0 = free; size a power of two
};

}  // namespace clusterdns::dns::wire
