// Build-time record writer with name compression (RFC 1035 §4.1.4). Allocates: never on the query path.
#pragma once

#include <cstdint>
#include <cstring>
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
  // Remembers what is written and known now, for rewind(): the answers of one name each start from the
  // same question, which is then hashed once, not once per answer.
  void mark();
  // Back to the last mark(): what was written and learnt since is forgotten.
  void rewind();
  // Writes `wire` compressed against every name written or declared so far (lower-cased form assumed).
  void put_name(std::string_view wire);
  // Writes `wire` verbatim, still remembering it as a compression target.
  void put_name_uncompressed(std::string_view wire);
  void put_u8(uint8_t v) { bytes_.push_back(v); }
  void put_u16(uint16_t v);
  void put_u32(uint32_t v);
  void put_bytes(std::string_view b) {
    const size_t at = bytes_.size();
    bytes_.resize(at + b.size());
    if (!b.empty()) std::memcpy(bytes_.data() + at, b.data(), b.size());
  }
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
  // The label offsets of `wire` and the hash of the suffix at each, from one pass over its bytes (right
  // to left: each suffix's hash continues its parent's). Returns how many labels.
  struct Suffixes {
    static constexpr size_t kMax = 128;  // labels of a 255-byte name
    uint16_t at[kMax];
    uint32_t hash[kMax];
  };
  static size_t suffixes(std::string_view wire, Suffixes& out);
  void remember(std::string_view wire, size_t at);
  // Records `suffix` at `offset` unless it is already known (the first occurrence is the one pointed to).
  void add_target(std::string_view suffix, uint32_t hash, size_t offset);
  // Whether target `t` is `suffix` (whose hash is `hash`).
  bool is(const Target& t, std::string_view suffix, uint32_t hash) const;
  // The offset of `suffix`, or -1.
  int find_target(std::string_view suffix, uint32_t hash) const;
  void grow_table();

  size_t base_;
  std::vector<uint8_t> bytes_;
  std::string pool_;
  std::vector<Target> targets_;
  std::vector<uint32_t> table_;  // open addressing: index + 1 into targets_, 0 = free; size a power of two
  size_t mark_bytes_ = 0, mark_pool_ = 0, mark_targets_ = 0;
};

}  // namespace clusterdns::dns::wire
