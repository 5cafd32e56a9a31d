// A bounds-checked cursor over a fixed byte buffer with a sticky error, after Knot DNS's `wire_ctx_t`
// (libknot/wire.h): every read or write checks the room left; the first that does not fit sets the error,
// moves nothing, and from then on reads give 0 and writes do nothing. A caller checks ok() once at the end
// instead of after every field. Network byte order throughout (RFC 1035 §2.3.2). No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>

#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

// `Byte` is `uint8_t` for a cursor that writes (Cursor) and `const uint8_t` for one that only reads
// (ConstCursor).
template <typename Byte>
class BasicCursor {
  static constexpr bool kWritable = !std::is_const_v<Byte>;

 public:
  BasicCursor(std::span<Byte> buffer, size_t offset = 0)
      : data_(buffer.data()), size_(buffer.size()), pos_(offset), ok_(offset <= buffer.size()) {
    if (!ok_) pos_ = size_;
  }

  bool ok() const { return ok_; }
  size_t offset() const { return pos_; }
  size_t size() const { return size_; }
  size_t available() const { return size_ - pos_; }
  Byte* data() const { return data_; }
  // Marks the cursor failed (a malformed field found by the caller): ok() stays false from then on.
  void fail() { ok_ = false; }

  // Moves to `offset` (0 ≤ offset ≤ size); beyond the end it fails.
  void seek(size_t offset) {
    if (!ok_ || offset > size_) {
      ok_ = false;
      return;
    }
    pos_ = offset;
  }
  void skip(size_t n) {
    if (need(n)) pos_ += n;
  }

  uint8_t u8() {
    if (!need(1)) return 0;
    return data_[pos_++];
  }
  uint16_t u16() {
    if (!need(2)) return 0;
    const uint16_t v = load_u16(data_ + pos_);
    pos_ += 2;
    return v;
  }
  uint32_t u32() {
    if (!need(4)) return 0;
    const uint32_t v = load_u32(data_ + pos_);
    pos_ += 4;
    return v;
  }
  // Copies n bytes out; on failure `dst` is left as it was.
  void read(uint8_t* dst, size_t n) {
    if (!need(n)) return;
    if (n) std::memcpy(dst, data_ + pos_, n);
    pos_ += n;
  }

  void put_u8(uint8_t v) requires kWritable {
    if (!need(1)) return;
    data_[pos_++] = v;
  }
  void put_u16(uint16_t v) requires kWritable {
    if (!need(2)) return;
    store_u16(data_ + pos_, v);
    pos_ += 2;
  }
  void put_u32(uint32_t v) requires kWritable {
    if (!need(4)) return;
    store_u32(data_ + pos_, v);
    pos_ += 4;
  }
  void put(const uint8_t* src, size_t n) requires kWritable {
    if (!need(n)) return;
    if (n) std::memcpy(data_ + pos_, src, n);
    pos_ += n;
  }
  void put(std::span<const uint8_t> src) requires kWritable { put(src.data(), src.size()); }
  void put(std::string_view src) requires kWritable {
    put(reinterpret_cast<const uint8_t*>(src.data()), src.size());
  }
  // Overwrites 16 bits already written at `offset` (an RDLENGTH once the RDATA is known).
  void patch_u16(size_t offset, uint16_t v) requires kWritable {
    if (!ok_ || offset + 2 > pos_) {
      ok_ = false;
      return;
    }
    store_u16(data_ + offset, v);
  }

 private:
  bool need(size_t n) {
    if (ok_ && n <= size_ - pos_) return true;
    ok_ = false;
    return false;
  }

  Byte* data_;
  size_t size_;
  size_t pos_;
  bool ok_;
};

using Cursor = BasicCursor<uint8_t>;
using ConstCursor = BasicCursor<const uint8_t>;

}  // namespace clusterdns::dns::wire
