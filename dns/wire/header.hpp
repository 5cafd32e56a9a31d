// The 12-byte message header (RFC 1035 §4.1.1) read and written in place, after Knot DNS's
// `knot_wire_get_*`/`knot_wire_set_*` (libknot/packet/wire.h). Every access to header bytes outside
// dns/wire goes through this view. No allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

#include "dns/wire/types.hpp"

namespace clusterdns::dns::wire {

enum class Section : uint8_t { Answer, Authority, Additional };

// A view of the header at the start of a message. A message shorter than a header gives an invalid view:
// valid() is false, every getter returns 0 and every setter does nothing.
template <typename Byte>
class BasicHeader {
  static constexpr bool kWritable = !std::is_const_v<Byte>;

 public:
  explicit BasicHeader(std::span<Byte> message)
      : p_(message.size() >= kHeaderSize ? message.data() : nullptr) {}
  // A header the caller knows is there (a buffer of at least kHeaderSize bytes).
  explicit BasicHeader(Byte* header) : p_(header) {}

  bool valid() const { return p_ != nullptr; }

  uint16_t id() const { return get(0); }
  uint16_t flags() const { return get(2); }  // QR, opcode, AA, TC, RD, RA, Z, AD, CD and RCODE
  bool has(uint16_t flag) const { return (flags() & flag) != 0; }
  uint8_t opcode() const { return static_cast<uint8_t>((flags() & kOpcodeMask) >> kOpcodeShift); }
  uint8_t rcode() const { return static_cast<uint8_t>(flags() & kRcodeMask); }
  uint16_t qdcount() const { return get(4); }
  uint16_t ancount() const { return get(6); }
  uint16_t nscount() const { return get(8); }
  uint16_t arcount() const { return get(10); }
  uint16_t count(Section s) const { return get(6 + 2 * static_cast<size_t>(s)); }

  void set_id(uint16_t v) requires kWritable { put(0, v); }
  void set_flags(uint16_t v) requires kWritable { put(2, v); }
  void set(uint16_t flag, bool on = true) requires kWritable {
    set_flags(static_cast<uint16_t>(on ? flags() | flag : flags() & ~flag));
  }
  void set_rcode(uint8_t rcode) requires kWritable {
    set_flags(static_cast<uint16_t>((flags() & ~kRcodeMask) | (rcode & kRcodeMask)));
  }
  void set_rcode(Rcode rcode) requires kWritable { set_rcode(static_cast<uint8_t>(rcode)); }
  void set_opcode(uint8_t opcode) requires kWritable {
    set_flags(static_cast<uint16_t>((flags() & ~kOpcodeMask) | ((opcode << kOpcodeShift) & kOpcodeMask)));
  }
  void set_qdcount(uint16_t v) requires kWritable { put(4, v); }
  void set_count(Section s, uint16_t v) requires kWritable { put(6 + 2 * static_cast<size_t>(s), v); }
  void set_counts(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) requires kWritable {
    put(4, qd);
    put(6, an);
    put(8, ns);
    put(10, ar);
  }

 private:
  uint16_t get(size_t at) const { return p_ ? load_u16(p_ + at) : 0; }
  void put(size_t at, uint16_t v) requires kWritable {
    if (p_) store_u16(p_ + at, v);
  }

  Byte* p_;
};

using Header = BasicHeader<uint8_t>;
using HeaderView = BasicHeader<const uint8_t>;

}  // namespace clusterdns::dns::wire
