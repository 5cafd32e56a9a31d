// The mutable zone model a snapshot is compiled from: owner names → RRsets, built on the builder thread.
#pragma once

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <memory_resource>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "zones/draft_nodes.hpp"

namespace clusterdns::dns::wire {
class CompressingWriter;
}

namespace clusterdns::zones {

bool apex_contains(std::string_view apex, std::string_view name);

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
  bool add(std::string_view owner, uint16_t type, uint32_t ttl, RdataView rdata);
  bool add(std::string_view owner, uint16_t type, uint32_t ttl, const Rdata& rdata) {
    return add(owner, type, ttl, RdataView(rdata));
  }
  // Undoes one add() of the same record.
  void remove(std::string_view owner, uint16_t type, uint32_t ttl, const Rdata& rdata);
  // Makes a name exist without records (e.g. "svc.<zone>", an existing namespace); remove_empty undoes it.
  bool add_empty(std::string_view owner);
  void remove_empty(std::string_view owner);
  void set_insecure_pod_parent(std::string_view owner, bool on);
  DraftNode* find(std::string_view owner);
  const DraftNode* find(std::string_view owner) const;
  // The node of `owner` and its name as the draft keeps it (valid while the node exists); null if none.
  std::pair<std::string_view, const DraftNode*> find_stored(std::string_view owner) const {
    const DraftNodes::Entry* e = nodes_.find_entry(owner);
    return e ? std::pair<std::string_view, const DraftNode*>{e->name(), &e->node}
             : std::pair<std::string_view, const DraftNode*>{{}, nullptr};
  }
  // Index of the zone holding `name` (longest apex), or -1.
  int zone_of(std::string_view name) const;

  // Names whose node was created, erased or changed since the last take_touched(), while tracking is on
  // (off for a build from nothing, which compiles every name anyway). A name whose records are back to what
  // they were is left out: a source rewrites a whole object for any change to it, and a headless Service
  // of 1,000 endpoints whose one endpoint moved must not recompile its 2,000 names.
  // `unchanged`: names changed and changed back (their records are byte for byte what they were).
  struct Touched {
    std::vector<std::string> changed, unchanged;
  };
  Touched take_touched();
  // Gives back what RRsets that grew record by record hold beyond their size (up to a third of a headless
  // Service's): after a build from nothing, which is followed by few changes to any one set.
  void shrink_records();
  void track_touched(bool on) { tracking_ = on; }
  // Room for about `names` names without rehashing as they come.
  void reserve_names(size_t names) { nodes_.reserve(names); }

  // Hashed, not ordered: a build from nothing looks up every name and its parents, and an ordered tree of
  // 400,000 names spends most of that time in cache misses. Whoever needs an order (AXFR) sorts.
  using Nodes = DraftNodes;
  const Nodes& nodes() const { return nodes_; }
  const std::vector<DraftZone>& zones() const { return zones_; }
  std::vector<DraftZone>& zones() { return zones_; }

 private:
  // The node of owner, created (with its missing ancestors) if needed; null outside every zone. Pointers to
  // nodes stay valid while the node exists (unlike iterators, which a rehash invalidates).
  DraftNode* ensure(std::string_view owner);
  // Erases owner's node if nothing keeps it, then its parent likewise.
  void release(std::string_view owner);
  // Makes room for `grow` more bytes at `at` in the node's records (negative: removes them).
  void splice(RRsetMap& m, uint32_t at, long grow);
  // Notes what `name` holds before its first change since take_touched() (call before changing it).
  void note(std::string_view name);
  struct Before {
    bool existed = false, insecure_pod_parent = false;
    std::string rrsets;  // the node's record bytes
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  // Small nodes come and go with every change: a pool reuses their memory instead of asking malloc.
  std::unique_ptr<std::pmr::unsynchronized_pool_resource> memory_;
  Nodes nodes_;
  std::vector<DraftZone> zones_;
  std::unordered_map<std::string, Before, StringHash, std::equal_to<>> noted_;
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
            RdataView rd);

// RDATA constructors (RFC 1035 §3.3, RFC 3596, RFC 2782). Names are lower-cased wire form.
Rdata rdata_a(const uint8_t (&ip)[4]);
Rdata rdata_aaaa(const uint8_t (&ip)[16]);
Rdata rdata_name(std::string_view wire);  // CNAME, PTR, NS
Rdata rdata_srv(uint16_t priority, uint16_t weight, uint16_t port, std::string_view target_wire);
// SRV RDATA appended to `out` (rdata_srv's, or a reused buffer's): priority, weight, port, then the target,
// which RFC 2782 never compresses.
template <typename String>
void append_srv_rdata(String& out, uint16_t priority, uint16_t weight, uint16_t port,
                      std::string_view target_wire) {
  for (const uint16_t v : {priority, weight, port}) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xFF));
  }
  out.append(target_wire);
}
Rdata rdata_txt(std::string_view text);  // one character-string
Rdata rdata_soa(const DraftZone& zone);

}  // namespace clusterdns::zones
