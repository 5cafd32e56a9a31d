// ZoneDraft bookkeeping and RDATA encoders.
#include "zones/draft.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <tuple>

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
    DraftNode& n =
        copy->nodes_.emplace(std::pmr::string(name, copy->memory_.get()), DraftNode(copy->memory_.get()))
            .first->second;
    for (const auto& [type, set] : node.rrsets) {
      RRset& to = n.rrsets[type];
      to.ttl = set.ttl;
      for (const Rdata& rd : set.rdatas)
        to.rdatas.push_back(Rdata{std::pmr::string(rd.raw, copy->memory_.get()), rd.name_at});
      to.uses.assign(set.uses.begin(), set.uses.end());
    }
    n.insecure_pod_parent = node.insecure_pod_parent;
    n.claims = node.claims;
    n.children = node.children;
  }
  return copy;
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

void put_rr(wire::CompressingWriter& w, std::string_view owner, uint16_t type, uint32_t ttl,
            const Rdata& rd) {
  w.put_name(owner);
  w.put_u16(type);
  w.put_u16(wire::kClassIn);
  w.put_u32(ttl);
  const size_t len_at = w.size();
  w.put_u16(0);
  if (rd.name_at == Rdata::kNoName) {
    w.put_bytes(rd.raw);
  } else {
    w.put_bytes(std::string_view(rd.raw).substr(0, rd.name_at));
    w.put_name(std::string_view(rd.raw).substr(rd.name_at));
  }
  w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
}

DraftNode* ZoneDraft::ensure(std::string_view owner) {
  if (auto it = nodes_.find(owner); it != nodes_.end()) return &it->second;
  const int z = zone_of(owner);
  if (z < 0) return nullptr;
  DraftNode* node = &nodes_
                         .emplace(std::piecewise_construct, std::forward_as_tuple(owner),
                                  std::forward_as_tuple(memory_.get()))
                         .first->second;
  touch(owner);
  // Ancestors up to the apex exist as empty non-terminals; each counts its children.
  const std::string& apex = zones_[static_cast<size_t>(z)].apex;
  std::string_view parent = owner;
  while (parent.size() > apex.size()) {
    parent = wire::strip_labels(parent, 1);
    if (auto at = nodes_.find(parent); at != nodes_.end()) {
      ++at->second.children;
      break;
    }
    nodes_
        .emplace(std::piecewise_construct, std::forward_as_tuple(parent),
                 std::forward_as_tuple(memory_.get()))
        .first->second.children = 1;
    touch(parent);
  }
  return node;
}

void ZoneDraft::release(std::string_view owner) {
  std::string name(owner);
  while (true) {
    auto it = nodes_.find(std::string_view(name));
    if (it == nodes_.end()) return;
    const DraftNode& n = it->second;
    if (!n.rrsets.empty() || n.claims > 0 || n.children > 0) return;
    touch(name);
    const int z = zone_of(name);
    const bool apex = z >= 0 && zones_[static_cast<size_t>(z)].apex == name;
    nodes_.erase(it);
    if (apex || name.empty()) return;
    name = std::string(wire::strip_labels(name, 1));
    auto parent = nodes_.find(std::string_view(name));
    if (parent == nodes_.end()) return;
    --parent->second.children;
  }
}

namespace {
bool rdata_less(const Rdata& a, const Rdata& b) {
  return a.raw < b.raw;
}
}  // namespace

bool ZoneDraft::add(std::string_view owner, uint16_t type, uint32_t ttl, Rdata rdata) {
  DraftNode* node = ensure(owner);
  if (!node) return false;
  touch(owner);
  RRset& set = node->rrsets[type];
  auto at = std::lower_bound(set.rdatas.begin(), set.rdatas.end(), rdata, rdata_less);
  const auto i = at - set.rdatas.begin();
  if (at != set.rdatas.end() && at->raw == rdata.raw) {
    ++set.uses[static_cast<size_t>(i)].refs;
    set.uses[static_cast<size_t>(i)].ttl = std::min(set.uses[static_cast<size_t>(i)].ttl, ttl);
  } else {
    set.rdatas.insert(at, Rdata{std::pmr::string(rdata.raw, memory_.get()), rdata.name_at});
    set.uses.insert(set.uses.begin() + i, RRset::Use{1, ttl});
  }
  set.ttl = set.rdatas.size() == 1 ? ttl : std::min(set.ttl, ttl);
  return true;
}

void ZoneDraft::remove(std::string_view owner, uint16_t type, uint32_t /*ttl*/, const Rdata& rdata) {
  auto node = nodes_.find(owner);
  if (node == nodes_.end()) return;
  auto it = node->second.rrsets.find(type);
  if (it == node->second.rrsets.end()) return;
  RRset& set = node->second.rrsets[type];
  auto at = std::lower_bound(set.rdatas.begin(), set.rdatas.end(), rdata, rdata_less);
  if (at == set.rdatas.end() || at->raw != rdata.raw) return;
  touch(owner);
  const auto i = static_cast<size_t>(at - set.rdatas.begin());
  if (--set.uses[i].refs > 0) return;
  set.rdatas.erase(at);
  set.uses.erase(set.uses.begin() + static_cast<std::ptrdiff_t>(i));
  if (set.rdatas.empty()) {
    node->second.rrsets.erase(type);
    release(owner);
    return;
  }
  set.ttl = set.uses.front().ttl;
  for (const auto& u : set.uses)
    set.ttl = std::min(set.ttl, u.ttl);
}

bool ZoneDraft::add_empty(std::string_view owner) {
  DraftNode* node = ensure(owner);
  if (!node) return false;
  ++node->claims;
  return true;
}

void ZoneDraft::remove_empty(std::string_view owner) {
  auto node = nodes_.find(owner);
  if (node == nodes_.end() || node->second.claims == 0) return;
  --node->second.claims;
  release(owner);
}

void ZoneDraft::set_insecure_pod_parent(std::string_view owner, bool on) {
  auto node = nodes_.find(owner);
  if (node == nodes_.end() || node->second.insecure_pod_parent == on) return;
  node->second.insecure_pod_parent = on;
  touch(owner);
}

DraftNode* ZoneDraft::find(std::string_view owner) {
  auto it = nodes_.find(owner);
  return it == nodes_.end() ? nullptr : &it->second;
}

const DraftNode* ZoneDraft::find(std::string_view owner) const {
  auto it = nodes_.find(owner);
  return it == nodes_.end() ? nullptr : &it->second;
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
  append_u16(r.raw, priority);
  append_u16(r.raw, weight);
  append_u16(r.raw, port);
  r.raw += target_wire;  // RFC 2782: the target is never compressed
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

bool rdata_ip(std::string_view text, uint16_t& type, Rdata& out) {
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  text.copy(buf, text.size());
  buf[text.size()] = '\0';
  uint8_t v4[4];
  uint8_t v6[16];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    type = wire::rrtype::A;
    out = rdata_a(v4);
    return true;
  }
  if (inet_pton(AF_INET6, buf, v6) == 1) {
    type = wire::rrtype::AAAA;
    out = rdata_aaaa(v6);
    return true;
  }
  return false;
}

}  // namespace clusterdns::zones
