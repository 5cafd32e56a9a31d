// The allocation-free lookup over a sharded snapshot, and the pod index autopath reads.
#include "zones/snapshot.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "base/ip_address.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {
bool address_key(const std::string& ip, uint8_t (&out)[16]) {
  static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const std::optional<base::IpAddress> address = base::IpAddress::parse(ip);
  if (!address) return false;
  const auto b = address->bytes();
  if (address->is_v6()) {
    std::copy(b.begin(), b.end(), out);
  } else {
    std::memcpy(out, kV4Mapped, 12);
    std::copy(b.begin(), b.end(), out + 12);
  }
  return true;
}

bool address_less(const PodIndex::Entry& a, const PodIndex::Entry& b) {
  return std::memcmp(a.addr, b.addr, 16) < 0;
}

// One namespace's claims on one address while a shard is rebuilt; `ns` is a lower-cased label.
struct Claim {
  uint8_t addr[16];
  std::string_view ns;
  int64_t claims;
  bool operator<(const Claim& o) const {
    const int c = std::memcmp(addr, o.addr, 16);
    return c != 0 ? c < 0 : ns < o.ns;
  }
};

// A shard from claims in any order: the old shard's entries and the changes (+1 claimed, -1 released).
std::shared_ptr<const PodIndex::Shard> rebuild_shard(std::vector<Claim>& claims) {
  std::sort(claims.begin(), claims.end());
  auto shard = std::make_shared<PodIndex::Shard>();
  std::vector<std::pair<std::string_view, uint32_t>> labels;  // namespace -> offset, sorted once filled
  std::vector<Claim> kept;
  for (size_t i = 0; i < claims.size();) {
    Claim sum = claims[i];
    size_t j = i + 1;
    for (; j < claims.size() && !(sum < claims[j]); ++j)
      sum.claims += claims[j].claims;
    if (sum.claims > 0) kept.push_back(sum);
    i = j;
  }
  for (const Claim& c : kept)
    labels.emplace_back(c.ns, 0);
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               labels.end());
  for (auto& [ns, at] : labels) {
    at = static_cast<uint32_t>(shard->labels.size());
    shard->labels.push_back(static_cast<char>(ns.size()));
    shard->labels += ns;
  }
  shard->entries.reserve(kept.size());
  for (const Claim& c : kept) {
    PodIndex::Entry e;
    std::memcpy(e.addr, c.addr, 16);
    e.ns = std::lower_bound(labels.begin(), labels.end(), std::make_pair(c.ns, uint32_t{0}))->second;
    e.claims = static_cast<uint32_t>(c.claims);
    shard->entries.push_back(e);
  }
  return shard;
}
}  // namespace

const Answer Shard::kZoneNodata = [] {
  Answer a;
  a.zone_soa = true;
  return a;
}();

const Answer& Shard::answer(const Node& n, uint16_t qtype) const {
  const Typed* first = typed.data() + n.typed_begin;
  for (uint32_t i = 0; i < n.types; ++i) {
    if (first[i].qtype == qtype) return first[i].answer;
  }
  if (qtype == wire::rrtype::ANY && n.any != Node::kNoAny) return first[n.any].answer;
  return (n.flags & Node::kOwnFallback) ? first[n.types].answer : kZoneNodata;
}

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

size_t PodIndex::shard_of(const uint8_t (&addr)[16]) {
  uint64_t hi = 0, lo = 0;
  std::memcpy(&hi, addr, 8);
  std::memcpy(&lo, addr + 8, 8);
  // A multiplicative hash of both halves: pod networks hand out consecutive addresses, spread them evenly.
  return static_cast<size_t>(((hi * 0x9e3779b97f4a7c15ULL) ^ lo) * 0xff51afd7ed558ccdULL >>
                             (64 - kShardBits));
}

std::shared_ptr<const PodIndex> PodIndex::update(const PodIndex* before,
                                                 const std::vector<PodAddress>& changes) {
  static const auto kEmpty = std::make_shared<const Shard>();
  auto index = std::make_shared<PodIndex>();
  if (before) {
    index->shards = before->shards;
    index->entries = before->entries;
    index->shard_bytes = before->shard_bytes;
  } else {
    index->shards.assign(size_t{1} << kShardBits, kEmpty);
  }
  // The changes by shard; their namespace labels lower-cased and kept alive here.
  std::vector<std::string> names;
  names.reserve(changes.size());
  std::vector<std::pair<uint64_t, Claim>> delta;
  delta.reserve(changes.size());
  for (const PodAddress& p : changes) {
    Claim c{};
    if (p.ns.empty() || p.ns.size() > wire::kMaxLabelLength || !address_key(p.ip, c.addr)) continue;
    names.push_back(wire::lowercase(p.ns));
    c.ns = names.back();
    c.claims = p.released ? -1 : 1;
    // Keyed by shard, then arrival: sorted in order without std::stable_sort, whose temporary buffer
    // comes from nothrow new (which the allocation-counting tests' operator delete cannot pair).
    delta.emplace_back((uint64_t{shard_of(c.addr)} << 32) | delta.size(), c);
  }
  std::sort(delta.begin(), delta.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto shard_at = [&](size_t i) { return static_cast<size_t>(delta[i].first >> 32); };
  std::vector<Claim> claims;
  for (size_t i = 0; i < delta.size();) {
    const size_t at = shard_at(i);
    const Shard& old = *index->shards[at];
    claims.clear();
    for (const Entry& e : old.entries) {
      Claim c{};
      std::memcpy(c.addr, e.addr, 16);
      c.ns = std::string_view(old.labels).substr(e.ns + 1, static_cast<uint8_t>(old.labels[e.ns]));
      c.claims = e.claims;
      claims.push_back(c);
    }
    for (; i < delta.size() && shard_at(i) == at; ++i)
      claims.push_back(delta[i].second);
    auto shard = rebuild_shard(claims);  // reads `old`: replaced only after
    index->entries = index->entries - old.entries.size() + shard->entries.size();  // by difference
    index->shard_bytes = index->shard_bytes - (old.entries.empty() ? 0 : shard_memory(old)) +
                         (shard->entries.empty() ? 0 : shard_memory(*shard));
    index->shards[at] = shard->entries.empty() ? kEmpty : std::move(shard);
  }
  return index;
}

std::string_view PodIndex::find(const uint8_t (&addr)[16]) const {
  const Shard& shard = *shards[shard_of(addr)];
  Entry key;
  std::memcpy(key.addr, addr, 16);
  const auto it = std::lower_bound(shard.entries.begin(), shard.entries.end(), key, address_less);
  if (it == shard.entries.end() || std::memcmp(it->addr, addr, 16) != 0) return {};
  if (it + 1 != shard.entries.end() && std::memcmp((it + 1)->addr, addr, 16) == 0)
    return {};  // two namespaces'
  return {shard.labels.data() + it->ns, size_t{static_cast<uint8_t>(shard.labels[it->ns])} + 1};
}

size_t PodIndex::shard_memory(const Shard& s) {
  return sizeof(Shard) + s.entries.capacity() * sizeof(Entry) + s.labels.capacity();
}

size_t PodIndex::memory_bytes() const {
  // The shared empty shard once, and the others as kept by update().
  return sizeof(PodIndex) + shards.capacity() * sizeof(shards[0]) + sizeof(Shard) + shard_bytes;
}

std::shared_ptr<const Snapshot> Snapshot::build(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                                uint32_t serial, const std::vector<PodAddress>& pods) {
  SnapshotCompiler compiler;
  return compiler.build_all(draft, synced, ttl, serial, false, &pods);
}

std::string_view Snapshot::pod_namespace(const sockaddr* peer) const {
  if (peer == nullptr || !pods_ || pods_->entries == 0) return {};
  uint8_t key[16];
  if (peer->sa_family == AF_INET) {
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(key, kV4Mapped, 12);
    std::memcpy(key + 12, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
  } else if (peer->sa_family == AF_INET6) {
    std::memcpy(key, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, 16);
  } else {
    return {};
  }
  return pods_->find(key);
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
    r.answer = &shard.answer(*n, qtype);
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
    if (p && p->insecure_pod_parent() && parse_dashed_ip_raw(first, r.address, r.address_v6)) {
      r.kind = LookupKind::SynthesizePod;
    }
  }
  return r;
}

size_t Snapshot::memory_bytes() const {
  // Shards shared with other snapshots are counted in each: this is what one snapshot holds alive.
  return shard_bytes_ + kPages * sizeof(ShardPage) + (pods_ ? pods_->memory_bytes() : 0);
}

}  // namespace clusterdns::zones
