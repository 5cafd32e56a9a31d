// Build-time record writer with name compression (RFC 1035 §4.1.4). Allocates: never on the query path.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace clusterdns::dns::wire {

class CompressingWriter {
 public:
  // `base` is the message offset at which this writer's first byte will sit.
  explicit CompressingWriter(size_t base) : base_(base) {}

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
  void remember(std::string_view wire, size_t at);

  size_t base_;
  std::vector<uint8_t> bytes_;
  std::map<std::string, uint16_t, std::less<>> offsets_;
};

}  // namespace clusterdns::dns::wire
