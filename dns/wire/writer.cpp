// Compression keeps one entry per distinct suffix; pointers can address only the first 16 KiB (14 bits).
#include "dns/wire/writer.hpp"

namespace clusterdns::dns::wire {

void CompressingWriter::remember(std::string_view wire, size_t at) {
  size_t i = 0;
  while (i < wire.size() && wire[i] != 0 && at + i < 0x4000) {
    offsets_.emplace(std::string(wire.substr(i)), static_cast<uint16_t>(at + i));
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
    auto it = offsets_.find(wire.substr(i));
    if (it != offsets_.end()) {
      put_bytes(wire.substr(0, i));
      put_u16(static_cast<uint16_t>(0xC000 | it->second));
      // The labels written here continue through the pointer: each is a full suffix of `wire`.
      size_t j = 0;
      while (j < i && start + j < 0x4000) {
        offsets_.emplace(std::string(wire.substr(j)), static_cast<uint16_t>(start + j));
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
