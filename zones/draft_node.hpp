// A draft node and its records: RDATA, the packed RRsets of one owner name, and the node's bookkeeping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>

namespace clusterdns::zones {

class ZoneDraft;

// Uncompressed RDATA; a compressible name (RFC 3597 §4: NS, CNAME, PTR, MX) runs from name_at to the end.
struct Rdata {
  static constexpr uint16_t kNoName = 0xFFFF;
  std::pmr::string raw;
  uint16_t name_at = kNoName;
  bool operator==(const Rdata&) const = default;
};

// One record's RDATA as the draft holds it: a view into its node's bytes.
struct RdataView {
  std::string_view raw;
  uint16_t name_at = Rdata::kNoName;
  RdataView() = default;
  RdataView(std::string_view r, uint16_t at) : raw(r), name_at(at) {}
  RdataView(const Rdata& rd) : raw(rd.raw), name_at(rd.name_at) {}  // NOLINT(google-explicit-constructor)
};

// A node's records, packed into one block of the draft's memory: a draft of 450,000 names holds about a
// million records, and a vector per RRset plus a string per record cost ~250 bytes a name in headers
// alone. The block holds the RRsets in type order, each a header then its records in byte order of
// their RDATA (so the order never depends on the order of changes):
//   RRset:  type u16, count u16, ttl u32 (the smallest of its records': RFC 2181 §5.2), bytes u32 (of its
//           records), at_ttl u32 (how many records have that TTL)
//   record: length u16, name_at u16, refs u32 (registry objects contributing it), ttl u32 (the smallest
//           they asked for), RDATA, then its own size u16
// The trailing size finds a set's last record at once: records come in byte order when a source writes a
// big RRset and go last-first when it is undone, so both cost O(1) per record however big the set (a
// Service of 20,000 ports). Read through views; only ZoneDraft writes it.
class RRsetMap {
 public:
  struct SetHeader {
    uint16_t type, count;
    uint32_t ttl, bytes, at_ttl;
  };
  struct RecordHeader {
    uint16_t length, name_at;
    uint32_t refs, ttl;
  };
  static_assert(sizeof(SetHeader) == 16 && sizeof(RecordHeader) == 12);
  static constexpr size_t kTrailer = sizeof(uint16_t);
  static constexpr size_t record_size(size_t rdata_length) {
    return sizeof(RecordHeader) + rdata_length + kTrailer;
  }

  class Records {
   public:
    class iterator {
     public:
      using iterator_category = std::forward_iterator_tag;
      using value_type = RdataView;
      using difference_type = std::ptrdiff_t;
      using pointer = void;
      using reference = RdataView;
      iterator() = default;
      explicit iterator(const uint8_t* p) : p_(p) {}
      RdataView operator*() const {
        const RecordHeader h = header();
        return {{reinterpret_cast<const char*>(p_) + sizeof h, h.length}, h.name_at};
      }
      iterator& operator++() {
        p_ += record_size(header().length);
        return *this;
      }
      iterator operator++(int) {
        iterator old = *this;
        ++*this;
        return old;
      }
      bool operator==(const iterator& o) const { return p_ == o.p_; }
      RecordHeader header() const {
        RecordHeader h;
        std::memcpy(&h, p_, sizeof h);
        return h;
      }
      const uint8_t* at() const { return p_; }

     private:
      const uint8_t* p_ = nullptr;
    };
    Records(const uint8_t* first, const uint8_t* last, size_t count)
        : first_(first), last_(last), count_(count) {}
    iterator begin() const { return iterator(first_); }
    iterator end() const { return iterator(last_); }
    size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    RdataView front() const { return *begin(); }

   private:
    const uint8_t *first_, *last_;
    size_t count_;
  };

  // One RRset: `ttl` and `rdatas` as the draft holds them.
  struct RRset {
    uint32_t ttl;
    Records rdatas;
  };

  // Holds the RRset it points at, so `it->second.rdatas` lives as long as the iterator does.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<uint16_t, RRset>;
    using difference_type = std::ptrdiff_t;
    using pointer = const value_type*;
    using reference = const value_type&;
    const_iterator(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) { load(); }
    reference operator*() const { return value_; }
    pointer operator->() const { return &value_; }
    const_iterator& operator++() {
      p_ += sizeof(SetHeader) + header().bytes;
      load();
      return *this;
    }
    bool operator==(const const_iterator& o) const { return p_ == o.p_; }
    SetHeader header() const {
      SetHeader h;
      std::memcpy(&h, p_, sizeof h);
      return h;
    }
    const uint8_t* at() const { return p_; }

   private:
    void load() {
      if (p_ == end_) return;
      const SetHeader h = header();
      const uint8_t* first = p_ + sizeof h;
      value_ = {h.type, RRset{h.ttl, Records(first, first + h.bytes, h.count)}};
    }
    const uint8_t* p_;
    const uint8_t* end_;
    value_type value_{0, RRset{0, Records(nullptr, nullptr, 0)}};
  };

  const_iterator begin() const { return {data_, data_ + size_}; }
  const_iterator end() const { return {data_ + size_, data_ + size_}; }
  bool empty() const { return size_ == 0; }
  const_iterator find(uint16_t type) const {
    for (auto it = begin(); it != end(); ++it) {
      const uint16_t t = it.header().type;
      if (t == type) return it;
      if (t > type) break;
    }
    return end();
  }
  size_t capacity() const { return cap_; }
  const uint8_t* bytes() const { return data_; }
  size_t byte_size() const { return size_; }

 private:
  friend class ZoneDraft;
  uint8_t* data_ = nullptr;
  uint32_t size_ = 0, cap_ = 0;
};
using RRset = RRsetMap::RRset;

struct DraftNode {
  DraftNode() = default;
  DraftNode(const DraftNode&) = delete;  // its records live in the draft's memory, freed by the draft
  DraftNode& operator=(const DraftNode&) = delete;
  RRsetMap rrsets;                   // empty: an empty non-terminal, which exists (RFC 8020)
  bool insecure_pod_parent = false;  // <ns>.pod.<zone> in `pods insecure` mode: children are synthesized
  uint32_t claims = 0;               // add_empty() calls not yet undone
  uint32_t children = 0;             // nodes one label below
};

}  // namespace clusterdns::zones
