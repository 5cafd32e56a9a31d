// The mutable zone model a snapshot is compiled from: owner names → RRsets, built on the builder thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace clusterdns::dns::wire {
class CompressingWriter;
}

namespace clusterdns::zones {

bool apex_contains(std::string_view apex, std::string_view name);

// Uncompressed RDATA; a compressible name (RFC 3597 §4: NS, CNAME, PTR, MX) runs from name_at to the end.
struct Rdata {
  static constexpr uint16_t kNoName = 0xFFFF;
  std::pmr::string raw;  // in the draft's memory once added to a draft
  uint16_t name_at = kNoName;
  bool operator==(const Rdata&) const = default;
};

struct RRset {
  uint32_t ttl = 0;                // the smallest of its records' TTLs (RFC 2181 §5.2: one TTL per RRset)
  std::pmr::vector<Rdata> rdatas;  // sorted by their bytes: the order never depends on the order of changes
  // Parallel to rdatas: how many registry objects contribute each record, and the TTL they asked for.
  struct Use {
    uint32_t refs = 0;
    uint32_t ttl = 0;
  };
  std::pmr::vector<Use> uses;
};

// A node's RRsets by type: a sorted vector, since a name owns one to three types and a large draft has
// tens of thousands of names (a std::map per name costs an allocation per type and a pointer chase per step).
class RRsetMap {
 public:
  using value_type = std::pair<uint16_t, RRset>;
  using const_iterator = std::pmr::vector<value_type>::const_iterator;
  explicit RRsetMap(std::pmr::memory_resource* memory = std::pmr::get_default_resource()) : sets_(memory) {}
  const_iterator begin() const { return sets_.begin(); }
  const_iterator end() const { return sets_.end(); }
  size_t size() const { return sets_.size(); }
  bool empty() const { return sets_.empty(); }
  const_iterator find(uint16_t type) const {
    auto it = lower(type);
    return it != sets_.end() && it->first == type ? it : sets_.end();
  }
  RRset& operator[](uint16_t type) {
    auto it = sets_.begin() + (lower(type) - sets_.cbegin());
    if (it == sets_.end() || it->first != type) {
      auto memory = sets_.get_allocator();
      it = sets_.insert(it, value_type{type, RRset{0, std::pmr::vector<Rdata>(memory),
                                                   std::pmr::vector<RRset::Use>(memory)}});
    }
    return it->second;
  }
  void erase(uint16_t type) {
    auto it = sets_.begin() + (lower(type) - sets_.cbegin());
    if (it != sets_.end() && it->first == type) sets_.erase(it);
  }

 private:
  const_iterator lower(uint16_t type) const {
    return std::lower_bound(sets_.begin(), sets_.end(), type,
                            [](const value_type& v, uint16_t t) { return v.first < t; });
  }
  std::pmr::vector<value_type> sets_;
};

struct DraftNode {
  explicit DraftNode(std::pmr::memory_resource* memory = std::pmr::get_default_resource()) : rrsets(memory) {}
  RRsetMap rrsets;                   // empty: an empty non-terminal, which exists (RFC 8020)
  bool insecure_pod_parent = false;  // <ns>.pod.<zone> in `pods insecure` mode: children are synthesized
  uint32_t claims = 0;               // add_empty() calls not yet undone
  uint32_t children = 0;             // nodes one label below
};

struct DraftZone {
  std::string apex;  // lower-cased wire form
  std::string mname, rname;
  uint32_t serial = 1, refresh = 7200, retry = 1800, expire = 86400, minimum = 30;
  uint32_t soa_ttl = 30;
  bool registry_backed = false;  // answers SERVFAIL until the registry has synced
};

// Owner names → RRsets, kept by the builder thread from one registry change to the next: every record counts
// the objects that contribute it, so a change adds and removes exactly what it touched, and the names it
// touched are reported for recompiling. A name exists while it has records, claims or children.
class ZoneDraft {
 public:
  ZoneDraft();
  // A deep copy (for zone transfers, which read a draft that no longer changes).
  std::shared_ptr<ZoneDraft> clone() const;

  // Zones must be added before their records. Later zones may nest in earlier ones (longest wins).
  // The SOA record's serial is left at 0: the snapshot carries the serial and answers patch it in.
  void add_zone(DraftZone zone);
  // Adds one contribution of a record; ancestors up to the zone apex become empty non-terminals. Equal
  // RDATA is one record (an RRset is a set) counted twice. Returns false when the owner is in no zone.
  bool add(std::string_view owner, uint16_t type, uint32_t ttl, Rdata rdata);
  // Undoes one add() of the same record.
  void remove(std::string_view owner, uint16_t type, uint32_t ttl, const Rdata& rdata);
  // Makes a name exist without records (e.g. "svc.<zone>", an existing namespace); remove_empty undoes it.
  bool add_empty(std::string_view owner);
  void remove_empty(std::string_view owner);
  void set_insecure_pod_parent(std::string_view owner, bool on);
  DraftNode* find(std::string_view owner);
  const DraftNode* find(std::string_view owner) const;
  // Index of the zone holding `name` (longest apex), or -1.
  int zone_of(std::string_view name) const;

  // Names whose node was created, erased or changed since the last take_touched() (duplicates possible),
  // while tracking is on (off for a build from nothing, which compiles every name anyway).
  std::vector<std::string> take_touched() { return std::exchange(touched_, {}); }
  void track_touched(bool on) { tracking_ = on; }

  // Hashed, not ordered: a build from nothing looks up every name and its parents, and an ordered tree of
  // 400,000 names spends most of that time in cache misses. Whoever needs an order (AXFR) sorts.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  using Nodes = std::pmr::unordered_map<std::pmr::string, DraftNode, NameHash, std::equal_to<>>;
  const Nodes& nodes() const { return nodes_; }
  const std::vector<DraftZone>& zones() const { return zones_; }
  std::vector<DraftZone>& zones() { return zones_; }

 private:
  // The node of owner, created (with its missing ancestors) if needed; null outside every zone. Pointers to
  // nodes stay valid while the node exists (unlike iterators, which a rehash invalidates).
  DraftNode* ensure(std::string_view owner);
  // Erases owner's node if nothing keeps it, then its parent likewise.
  void release(std::string_view owner);
  void touch(std::string_view name) {
    if (tracking_) touched_.emplace_back(name);
  }
  // Small nodes come and go with every change: a pool reuses their memory instead of asking malloc.
  std::unique_ptr<std::pmr::unsynchronized_pool_resource> memory_;
  Nodes nodes_;
  std::vector<DraftZone> zones_;
  std::vector<std::string> touched_;
  bool tracking_ = true;
};

// Index of the zone (any type with an `apex` member) holding `name`, longest apex first; -1 if none.
template <typename Zones>
int longest_zone(const Zones& zones, std::string_view name) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < zones.size(); ++i) {
    const auto& apex = zones[i].apex;
    if (apex.size() >= best_len && apex_contains(apex, name)) {
      best = static_cast<int>(i);
      best_len = apex.size();
    }
  }
  return best;
}

// Appends one RR (owner compressed; RDATA's compressible name too) to a writer. Build time and AXFR only.
void put_rr(dns::wire::CompressingWriter& w, std::string_view owner, uint16_t type, uint32_t ttl,
            const Rdata& rd);

// RDATA constructors (RFC 1035 §3.3, RFC 3596, RFC 2782). Names are lower-cased wire form.
Rdata rdata_a(const uint8_t (&ip)[4]);
Rdata rdata_aaaa(const uint8_t (&ip)[16]);
Rdata rdata_name(std::string_view wire);  // CNAME, PTR, NS
Rdata rdata_srv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target_wire);
Rdata rdata_txt(std::string_view text);  // one character-string
Rdata rdata_soa(const DraftZone& zone);
// Parses an IP text into A/AAAA RDATA; false when it is not an address.
bool rdata_ip(std::string_view text, uint16_t& type, Rdata& out);

}  // namespace clusterdns::zones
