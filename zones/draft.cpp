// ZoneDraft bookkeeping and RDATA encoders.
#include "zones/draft.hpp"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "dns/wire/writer.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

ZoneDraft::ZoneDraft()
    : memory_(std::make_unique<std::pmr::unsynchronized_pool_resource>()), nodes_(memory_.get()) {}

std::shared_ptr<ZoneDraft> ZoneDraft::clone() const {
  auto copy = std::make_shared<ZoneDraft>();
  copy->zones_ = zones_;
  for (const auto& [name, node] : nodes_) {
    DraftNode& n = *copy->nodes_.try_emplace(name).first;
    if (!node.rrsets.empty()) {
      copy->splice(n.rrsets, 0, static_cast<long>(node.rrsets.size_));
      std::memcpy(n.rrsets.data_, node.rrsets.data_, node.rrsets.size_);
    }
    n.insecure_pod_parent = node.insecure_pod_parent;
    n.claims = node.claims;
    n.children = node.children;
  }
  return copy;
}

void ZoneDraft::splice(RRsetMap& m, uint32_t at, long grow) {
  const size_t size = m.size_ + static_cast<size_t>(grow);  // wraps back for a negative grow
  if (grow >= 0) {
    const auto n = static_cast<size_t>(grow);
    if (size > m.cap_) {
      // Most nodes hold one or two small RRsets and are allocated to size; an RRset that grows record by
      // record (a headless service's endpoints) grows by half again, so its adds stay amortized.
      const size_t cap = size < 256 ? (size + 7) & ~size_t{7} : size + size / 2;
      auto* p = static_cast<uint8_t*>(memory_->allocate(cap, 1));
      if (m.size_ > 0) {
        std::memcpy(p, m.data_, at);
        std::memcpy(p + at + n, m.data_ + at, m.size_ - at);
      }
      if (m.cap_ > 0) memory_->deallocate(m.data_, m.cap_, 1);
      m.data_ = p;
      m.cap_ = static_cast<uint32_t>(cap);
    } else {
      std::memmove(m.data_ + at + n, m.data_ + at, m.size_ - at);
    }
  } else {
    const auto n = static_cast<size_t>(-grow);
    std::memmove(m.data_ + at, m.data_ + at + n, m.size_ - at - n);
    if (size == 0 || (m.cap_ > 256 && size < m.cap_ / 4)) {  // give back what a shrunk RRset left
      uint8_t* p = size ? static_cast<uint8_t*>(memory_->allocate(size, 1)) : nullptr;
      if (size) std::memcpy(p, m.data_, size);
      memory_->deallocate(m.data_, m.cap_, 1);
      m.data_ = p;
      m.cap_ = static_cast<uint32_t>(size);
    }
  }
  m.size_ = static_cast<uint32_t>(size);
}

void ZoneDraft::add_zone(DraftZone zone) {
  zone.serial = 0;
  const std::string apex = zone.apex;
  zones_.push_back(std::move(zone));
  add_empty(apex);
  add(apex, wire::rrtype::SOA, zones_.back().soa_ttl, rdata_soa(zones_.back()));
}

int ZoneDraft::zone_of(std::string_view name) const {
  return longest_zone(zones_, name);
}

bool apex_contains(std::string_view apex, std::string_view name) {
  return wire::is_subdomain(name, apex);
}

void put_rr(wire::CompressingWriter& w, std::string_view owner, uint16_t type, uint32_t ttl, RdataView rd) {
  w.put_name(owner);
  w.put_u16(type);
  w.put_u16(wire::kClassIn);
  w.put_u32(ttl);
  const size_t len_at = w.size();
  w.put_u16(0);
  if (rd.name_at == Rdata::kNoName) {
    w.put_bytes(rd.raw);
  } else {
    w.put_bytes(rd.raw.substr(0, rd.name_at));
    w.put_name(rd.raw.substr(rd.name_at));
  }
  w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
}

DraftNode* ZoneDraft::ensure(std::string_view owner) {
  // One probe per name: where a missing name goes is kept from its lookup.
  DraftNodes::Place place = nodes_.find_place(owner);
  if (place.node) return place.node;
  const int z = zone_of(owner);
  if (z < 0) return nullptr;
  note(owner);
  DraftNode* node = nodes_.emplace(owner, place);
  // Ancestors up to the apex exist as empty non-terminals; each counts its children.
  const std::string& apex = zones_[static_cast<size_t>(z)].apex;
  std::string_view parent = owner;
  while (parent.size() > apex.size()) {
    parent = wire::strip_labels(parent, 1);
    place = nodes_.find_place(parent);
    if (place.node) {
      ++place.node->children;
      break;
    }
    note(parent);
    nodes_.emplace(parent, place)->children = 1;
  }
  return node;
}

void ZoneDraft::release(std::string_view owner) {
  // `owner` may be a view of the node's own name, which erasing frees.
  std::string name(owner);
  while (true) {
    const DraftNode* n = nodes_.find(name);
    if (n == nullptr) return;
    if (!n->rrsets.empty() || n->claims > 0 || n->children > 0) return;
    note(name);
    const int z = zone_of(name);
    const bool apex = z >= 0 && zones_[static_cast<size_t>(z)].apex == name;
    if (n->rrsets.cap_ > 0) memory_->deallocate(n->rrsets.data_, n->rrsets.cap_, 1);
    nodes_.erase(name);
    if (apex || name.empty()) return;
    name = std::string(wire::strip_labels(name, 1));
    DraftNode* parent = nodes_.find(name);
    if (parent == nullptr) return;
    --parent->children;
  }
}

namespace {
using SetHeader = RRsetMap::SetHeader;
using RecordHeader = RRsetMap::RecordHeader;

template <typename T>
T load(const RRsetMap& m, uint32_t at) {
  T v;
  std::memcpy(&v, m.bytes() + at, sizeof v);
  return v;
}

// Where the RRset of `type` starts in m, or where it would go (sets are in type order).
uint32_t find_set(const RRsetMap& m, uint16_t type, bool& found) {
  uint32_t at = 0;
  const auto size = static_cast<uint32_t>(m.byte_size());
  while (at < size) {
    const auto h = load<SetHeader>(m, at);
    if (h.type >= type) {
      found = h.type == type;
      return at;
    }
    at += static_cast<uint32_t>(sizeof(SetHeader)) + h.bytes;
  }
  found = false;
  return at;
}

std::string_view rdata_at(const RRsetMap& m, uint32_t at, const RecordHeader& r) {
  return {reinterpret_cast<const char*>(m.bytes()) + at + sizeof r, r.length};
}

// Where the record `raw` is in the set at `set` (found), or where it would go (records in byte order).
// The last record is looked at first: see RRsetMap.
uint32_t find_record(const RRsetMap& m, uint32_t set, std::string_view raw, bool& found) {
  const auto h = load<SetHeader>(m, set);
  uint32_t at = set + static_cast<uint32_t>(sizeof(SetHeader));
  const uint32_t end = at + h.bytes;
  found = false;
  if (h.count == 0) return at;
  const uint32_t last = end - load<uint16_t>(m, end - static_cast<uint32_t>(RRsetMap::kTrailer));
  const int past_last = raw.compare(rdata_at(m, last, load<RecordHeader>(m, last)));
  if (past_last >= 0) {
    found = past_last == 0;
    return past_last == 0 ? last : end;
  }
  while (at < last) {
    const auto r = load<RecordHeader>(m, at);
    const int order = rdata_at(m, at, r).compare(raw);
    if (order >= 0) {
      found = order == 0;
      return at;
    }
    at += static_cast<uint32_t>(RRsetMap::record_size(r.length));
  }
  return last;
}

// A set's TTL after a record of `ttl` joined it.
void join_ttl(SetHeader& h, uint32_t ttl) {
  if (h.count == 0 || ttl < h.ttl) {
    h.ttl = ttl;
    h.at_ttl = 1;
  } else if (ttl == h.ttl) {
    ++h.at_ttl;
  }
}
}  // namespace

bool ZoneDraft::add(std::string_view owner, uint16_t type, uint32_t ttl, RdataView rdata) {
  note(owner);
  DraftNode* node = ensure(owner);
  if (!node) return false;
  RRsetMap& m = node->rrsets;
  const std::string_view raw = rdata.raw;
  if (raw.size() > UINT16_MAX - RRsetMap::record_size(0)) return false;  // RDATA is at most 65,535 bytes
  const auto size = static_cast<uint32_t>(RRsetMap::record_size(raw.size()));
  const auto put = [&](uint32_t at, const auto& v) { std::memcpy(m.data_ + at, &v, sizeof v); };
  const auto put_record = [&](uint32_t at) {
    put(at, RecordHeader{static_cast<uint16_t>(raw.size()), rdata.name_at, 1, ttl});
    std::memcpy(m.data_ + at + sizeof(RecordHeader), raw.data(), raw.size());
    put(at + size - static_cast<uint32_t>(RRsetMap::kTrailer), static_cast<uint16_t>(size));
  };
  bool found = false;
  const uint32_t set = find_set(m, type, found);
  if (!found) {
    splice(m, set, static_cast<long>(sizeof(SetHeader) + size));
    put(set, SetHeader{type, 1, ttl, size, 1});
    put_record(set + static_cast<uint32_t>(sizeof(SetHeader)));
    return true;
  }
  auto h = load<SetHeader>(m, set);
  const uint32_t at = find_record(m, set, raw, found);
  if (found) {
    auto r = load<RecordHeader>(m, at);
    ++r.refs;
    if (ttl < r.ttl) {  // the record's TTL falls: it leaves the count at the old one
      if (r.ttl == h.ttl) --h.at_ttl;
      r.ttl = ttl;
      join_ttl(h, ttl);
    }
    put(at, r);
    put(set, h);
    return true;
  }
  // A DNS message holds a few thousand records at most: an RRset is capped where its count would wrap.
  if (h.count == UINT16_MAX) return true;
  splice(m, at, size);
  put_record(at);
  join_ttl(h, ttl);
  ++h.count;
  h.bytes += size;
  put(set, h);
  return true;
}

void ZoneDraft::remove(std::string_view owner, uint16_t type, uint32_t /*ttl*/, const Rdata& rdata) {
  DraftNode* node = nodes_.find(owner);
  if (node == nullptr) return;
  RRsetMap& m = node->rrsets;
  bool found = false;
  const uint32_t set = find_set(m, type, found);
  if (!found) return;
  const uint32_t at = find_record(m, set, rdata.raw, found);
  if (!found) return;
  note(owner);
  const auto put = [&](uint32_t where, const auto& v) { std::memcpy(m.data_ + where, &v, sizeof v); };
  auto r = load<RecordHeader>(m, at);
  if (--r.refs > 0) {
    put(at, r);
    return;
  }
  const auto size = static_cast<uint32_t>(RRsetMap::record_size(r.length));
  auto h = load<SetHeader>(m, set);
  splice(m, at, -static_cast<long>(size));
  if (--h.count == 0) {
    splice(m, set, -static_cast<long>(sizeof(SetHeader)));
    release(owner);
    return;
  }
  h.bytes -= size;
  if (r.ttl == h.ttl && --h.at_ttl == 0) {  // the last record at the smallest TTL went: find the next one
    h.ttl = UINT32_MAX;
    for (uint32_t p = set + static_cast<uint32_t>(sizeof(SetHeader)), end = p + h.bytes; p < end;) {
      const auto each = load<RecordHeader>(m, p);
      if (each.ttl < h.ttl) {
        h.ttl = each.ttl;
        h.at_ttl = 0;
      }
      h.at_ttl += each.ttl == h.ttl;
      p += static_cast<uint32_t>(RRsetMap::record_size(each.length));
    }
  }
  put(set, h);
}

bool ZoneDraft::add_empty(std::string_view owner) {
  DraftNode* node = ensure(owner);
  if (!node) return false;
  ++node->claims;
  return true;
}

void ZoneDraft::remove_empty(std::string_view owner) {
  DraftNode* node = nodes_.find(owner);
  if (node == nullptr || node->claims == 0) return;
  --node->claims;
  release(owner);
}

void ZoneDraft::set_insecure_pod_parent(std::string_view owner, bool on) {
  DraftNode* node = nodes_.find(owner);
  if (node == nullptr || node->insecure_pod_parent == on) return;
  note(owner);
  node->insecure_pod_parent = on;
}

void ZoneDraft::note(std::string_view name) {
  if (!tracking_ || noted_.find(name) != noted_.end()) return;
  Before& before = noted_[std::string(name)];
  if (const DraftNode* n = nodes_.find(name)) {
    before.existed = true;
    before.insecure_pod_parent = n->insecure_pod_parent;
    before.rrsets.assign(reinterpret_cast<const char*>(n->rrsets.bytes()), n->rrsets.byte_size());
  }
}

ZoneDraft::Touched ZoneDraft::take_touched() {
  Touched touched;
  for (auto& [name, before] : noted_) {
    const DraftNode* n = nodes_.find(name);
    // Byte-equal records are the same answers (the counts of contributors may differ: then compiled anyway).
    const bool same = n == nullptr ? !before.existed
                                   : before.existed && n->insecure_pod_parent == before.insecure_pod_parent &&
                                         std::string_view(reinterpret_cast<const char*>(n->rrsets.bytes()),
                                                          n->rrsets.byte_size()) == before.rrsets;
    (same ? touched.unchanged : touched.changed).push_back(name);
  }
  noted_.clear();
  return touched;
}

void ZoneDraft::shrink_records() {
  // Above the pool's own block sizes: these come from and go back to the heap (and the kernel) directly.
  constexpr uint32_t kShrinkFrom = 64 * 1024;
  nodes_.for_each_node([this](DraftNode& n) {
    RRsetMap& m = n.rrsets;
    // Small sets are allocated to size already; a pool block given back would only wait for reuse.
    if (m.size_ == 0 || m.cap_ < kShrinkFrom || m.cap_ - m.size_ < m.cap_ / 8) return;
    auto* p = static_cast<uint8_t*>(memory_->allocate(m.size_, 1));
    std::memcpy(p, m.data_, m.size_);
    memory_->deallocate(m.data_, m.cap_, 1);
    m.data_ = p;
    m.cap_ = m.size_;
  });
}

DraftNode* ZoneDraft::find(std::string_view owner) {
  return nodes_.find(owner);
}

const DraftNode* ZoneDraft::find(std::string_view owner) const {
  return nodes_.find(owner);
}

Rdata rdata_a(const uint8_t (&ip)[4]) {
  return Rdata{std::pmr::string(reinterpret_cast<const char*>(ip), 4)};
}

Rdata rdata_aaaa(const uint8_t (&ip)[16]) {
  return Rdata{std::pmr::string(reinterpret_cast<const char*>(ip), 16)};
}

Rdata rdata_name(std::string_view wire_name) {
  return Rdata{std::pmr::string(wire_name), 0};
}

static void append_u16(std::pmr::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xFF));
}

static void append_u32(std::pmr::string& s, uint32_t v) {
  append_u16(s, static_cast<uint16_t>(v >> 16));
  append_u16(s, static_cast<uint16_t>(v & 0xFFFF));
}

Rdata rdata_srv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target_wire) {
  Rdata r;
  append_srv_rdata(r.raw, priority, weight, port, target_wire);
  return r;
}

Rdata rdata_txt(std::string_view text) {
  Rdata r;
  r.raw.push_back(static_cast<char>(std::min<size_t>(text.size(), 255)));
  r.raw += text.substr(0, 255);
  return r;
}

Rdata rdata_soa(const DraftZone& zone) {
  Rdata r;
  r.raw.assign(zone.mname).append(zone.rname);
  append_u32(r.raw, zone.serial);
  append_u32(r.raw, zone.refresh);
  append_u32(r.raw, zone.retry);
  append_u32(r.raw, zone.expire);
  append_u32(r.raw, zone.minimum);
  return r;
}

}  // namespace clusterdns::zones
