// The allocation-free lookup over a sharded snapshot, and the pod index autopath reads.
#include "zones/snapshot.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {
bool address_key(const std::string& ip, uint8_t (&out)[16]) {
  static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (inet_pton(AF_INET6, ip.c_str(), out) == 1) return true;
  std::memcpy(out, kV4Mapped, 12);
  return inet_pton(AF_INET, ip.c_str(), out + 12) == 1;
}

bool address_less(const PodIndex::Entry& a, const PodIndex::Entry& b) {
  return std::memcmp(a.addr, b.addr, 16) < 0;
}
}  // namespace

const Shard::Node* Shard::find(std::string_view name, uint32_t hash) const {
  const size_t mask = slots.size() - 1;
  for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const uint32_t idx = slots[slot];
    if (idx == 0) return nullptr;
    const Node& n = nodes[idx - 1];
    if (n.hash == hash && n.name_len == name.size() &&
        std::memcmp(arena.data() + n.name, name.data(), name.size()) == 0) {
      return &n;
    }
  }
}

size_t Shard::memory_bytes() const {
  return sizeof(Shard) + arena.capacity() + rr_ends.capacity() * sizeof(uint16_t) +
         nodes.capacity() * sizeof(Node) + typed.capacity() * sizeof(Typed) +
         slots.capacity() * sizeof(uint32_t);
}

std::shared_ptr<const PodIndex> PodIndex::build(const std::vector<PodAddress>& pods) {
  auto index = std::make_shared<PodIndex>();
  std::map<std::string, uint32_t> ns_at;
  std::vector<Entry> all;
  for (const PodAddress& p : pods) {
    Entry e;
    if (p.ns.empty() || p.ns.size() > wire::kMaxLabelLength || !address_key(p.ip, e.addr)) continue;
    auto [it, added] = ns_at.emplace(wire::lowercase(p.ns), static_cast<uint32_t>(index->labels.size()));
    if (added) {
      index->labels.push_back(static_cast<char>(it->first.size()));
      index->labels += it->first;
    }
    e.ns = it->second;
    all.push_back(e);
  }
  std::sort(all.begin(), all.end(), address_less);
  for (size_t i = 0; i < all.size();) {
    size_t j = i + 1;
    bool ambiguous = false;
    while (j < all.size() && !address_less(all[i], all[j]))
      ambiguous |= all[j++].ns != all[i].ns;
    if (!ambiguous) index->entries.push_back(all[i]);
    i = j;
  }
  return index;
}

std::shared_ptr<const Snapshot> Snapshot::build(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                                uint32_t serial, const std::vector<PodAddress>& pods) {
  SnapshotCompiler compiler;
  return compiler.build_all(draft, synced, ttl, serial, false, &pods);
}

std::string_view Snapshot::pod_namespace(const sockaddr* peer) const {
  if (peer == nullptr || !pods_ || pods_->entries.empty()) return {};
  PodIndex::Entry key{};
  if (peer->sa_family == AF_INET) {
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(key.addr, kV4Mapped, 12);
    std::memcpy(key.addr + 12, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
  } else if (peer->sa_family == AF_INET6) {
    std::memcpy(key.addr, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, 16);
  } else {
    return {};
  }
  const auto& entries = pods_->entries;
  const auto it = std::lower_bound(entries.begin(), entries.end(), key, address_less);
  if (it == entries.end() || std::memcmp(it->addr, key.addr, 16) != 0) return {};
  const std::string& labels = pods_->labels;
  return {labels.data() + it->ns, size_t{static_cast<uint8_t>(labels[it->ns])} + 1};
}

int Snapshot::zone_of(std::string_view name) const {
  return longest_zone(zones_, name);
}

Lookup Snapshot::find(std::string_view qname, uint16_t qtype) const {
  Lookup r;
  const uint32_t hash = wire::hash_name(qname);
  const Shard& shard = this->shard(hash >> (32 - kShardBits));
  if (const Shard::Node* n = shard.find(qname, hash)) {
    r.zone = &zones_[n->zone];
    if (!synced_ && r.zone->registry_backed) {
      r.kind = LookupKind::NotSynced;
      return r;
    }
    r.kind = LookupKind::Answer;
    r.answer = &n->fallback;
    for (uint32_t i = n->typed_begin; i < n->typed_end; ++i) {
      if (shard.typed[i].qtype == qtype) {
        r.answer = &shard.typed[i].answer;
        break;
      }
    }
    r.body = {shard.arena.data() + r.answer->body, r.answer->body_len};
    r.rr_ends = {shard.rr_ends.data() + r.answer->rr_ends,
                 size_t{r.answer->ancount} + r.answer->nscount + r.answer->arcount};
    return r;
  }
  const int z = zone_of(qname);
  if (z < 0) return r;  // NotInZone
  r.zone = &zones_[static_cast<size_t>(z)];
  if (!synced_ && r.zone->registry_backed) {
    r.kind = LookupKind::NotSynced;
    return r;
  }
  r.kind = LookupKind::NxDomain;
  // `pods insecure`: <dashed-ip>.<ns>.pod.<zone> exists for any valid address.
  const std::string_view parent = wire::strip_labels(qname, 1);
  if (!qname.empty() && !parent.empty()) {
    const uint32_t parent_hash = wire::hash_name(parent);
    const Shard::Node* p = this->shard(parent_hash >> (32 - kShardBits)).find(parent, parent_hash);
    const std::string_view first(reinterpret_cast<const char*>(qname.data()) + 1,
                                 static_cast<uint8_t>(qname[0]));
    if (p && p->insecure_pod_parent && parse_dashed_ip_raw(first, r.address, r.address_v6)) {
      r.kind = LookupKind::SynthesizePod;
    }
  }
  return r;
}

size_t Snapshot::memory_bytes() const {
  // Shards shared with other snapshots are counted in each: this is what one snapshot holds alive.
  size_t n = 0;
  const Shard* last = nullptr;
  for (const auto& page : pages_) {
    n += sizeof(ShardPage);
    for (const auto& s : page->shards) {
      if (s.get() != last) n += s->memory_bytes();
      last = s.get();
    }
  }
  if (pods_) n += pods_->entries.capacity() * sizeof(PodIndex::Entry) + pods_->labels.capacity();
  return n;
}

}  // namespace clusterdns::zones
