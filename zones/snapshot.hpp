// An immutable, precompiled zone snapshot: every answer is wire bytes ready to copy (NSD's way).
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "zones/draft.hpp"

namespace clusterdns::zones {

// A response tail (answer, authority and additional sections) laid out for a question whose QNAME is
// exactly the node's name at offset 12: compression pointers into the question are valid.
struct Answer {
  uint32_t body = 0;  // offset into the shard's byte arena
  uint32_t body_len = 0;
  uint32_t rr_ends = 0;  // offset into the shard's RR-end table: one entry per RR, cumulative body length
  uint16_t ancount = 0, nscount = 0, arcount = 0;
  // Where an SOA's serial sits in the body (0: no SOA), and whose zone it is: the serial moves with every
  // change, so the responder writes the current one there instead of every answer being recompiled.
  uint16_t serial_at = 0;
  uint8_t serial_zone = 0;
  uint8_t rcode = 0;
  // NODATA whose only record is the zone's SOA (most names' answer to other types): the body is empty and
  // the responder writes the SOA as it does for NXDOMAIN, so 450,000 names do not each store a copy.
  bool zone_soa = false;
  // Answer or authority records were cut when compiled (a body over 64 KB): TC on every transport.
  bool truncated = false;
};

struct Zone {
  std::string apex;
  std::vector<uint8_t> soa_tail;      // the SOA RR after its owner name: type, class, TTL, RDLENGTH, RDATA
  std::vector<uint16_t> soa_patches;  // offsets in soa_tail of pointers to complete with the apex offset
  bool registry_backed = false;
  uint32_t serial = 0;
};

enum class LookupKind { Answer, NxDomain, SynthesizePod, NotInZone, NotSynced };

struct Lookup {
  LookupKind kind = LookupKind::NotInZone;
  const Zone* zone = nullptr;
  const Answer* answer = nullptr;  // kind == Answer
  std::span<const uint8_t> body;   // kind == Answer: the answer's bytes and RR ends
  std::span<const uint16_t> rr_ends;
  // SynthesizePod: the address parsed from the first label (insecure pod records).
  uint8_t address[16] = {};
  bool address_v6 = false;
};

// A pod's address and namespace, for --autopath: which search list a client's queries start with. As a
// change to a pod index: claimed (a pod there now) or released (a pod that was there is gone or moved).
struct PodAddress {
  std::string ip;  // canonical text
  std::string ns;
  bool released = false;
};

// The answers of the names whose hash falls in one range, compiled together. Immutable once published;
// a rebuild shares every shard whose names did not change.
struct Shard {
  // 20 bytes a name: a snapshot of 450,000 names holds as many.
  struct Node {
    uint32_t name = 0;  // arena offset of the lower-cased wire name
    uint32_t hash = 0;
    // Into typed: `types` answers by QTYPE, then the answer to any other type when it is not the zone's
    // plain NODATA (kOwnFallback).
    uint32_t typed_begin = 0;
    uint16_t types = 0;
    uint16_t zone = 0;
    uint8_t name_len = 0;
    uint8_t flags = 0;
    // ANY without an answer of its own: the answer of this one of `types` (RFC 8482 §4.1: one RRset,
    // compiled already under its type), or kNoAny.
    uint8_t any = kNoAny;
    static constexpr uint8_t kInsecurePodParent = 1, kOwnFallback = 2, kNoAny = 0xFF;
    bool insecure_pod_parent() const { return flags & kInsecurePodParent; }
    // Answers stored in typed: the typed ones and an own fallback.
    uint32_t stored() const { return types + ((flags & kOwnFallback) ? 1u : 0u); }
  };
  struct Typed {
    uint16_t qtype;
    Answer answer;
  };
  std::vector<uint8_t> arena;
  std::vector<uint16_t> rr_ends;
  std::vector<Node> nodes;
  std::vector<Typed> typed;
  std::vector<uint32_t> slots;  // open addressing: node index + 1, 0 = empty

  // The answer most names give to most types: NODATA with the zone's SOA, written at query time.
  static const Answer kZoneNodata;
  // The answer `n` gives to `qtype`.
  const Answer& answer(const Node& n, uint16_t qtype) const;
  std::string_view node_name(const Node& n) const {
    return {reinterpret_cast<const char*>(arena.data()) + n.name, n.name_len};
  }
  const Node* find(std::string_view name, uint32_t hash) const;
  size_t memory_bytes() const;
};

// Pod address -> namespace label, for autopath; shared by snapshots until the pods change. Split by address
// hash into shards that a change replaces copy-on-write: one pod moving copies the one or two shards its
// addresses fall in (~pods / 1024 entries each), every other shard is shared with the index before.
struct PodIndex {
  struct Entry {
    uint8_t addr[16];     // IPv4 as IPv4-mapped IPv6
    uint32_t ns = 0;      // offset of the namespace label in the shard's `labels`
    uint32_t claims = 0;  // pod addresses of that namespace here (hostNetwork pods share their node's)
  };
  struct Shard {
    // Sorted by address, then namespace. An address claimed by pods of two namespaces has two entries:
    // lookups treat it as no pod's.
    std::vector<Entry> entries;
    std::string labels;  // each namespace once: length byte, lower-cased label
  };
  static constexpr unsigned kShardBits = 10;
  std::vector<std::shared_ptr<const Shard>> shards;  // 1 << kShardBits, by the top bits of the address hash
  size_t entries = 0;
  size_t shard_bytes = 0;  // the non-empty shards' (kept by difference, as `entries`)

  // `changes` (claims and releases) applied to `before` (null: an empty index): the shards they touch are
  // copied, the others shared. Invalid addresses and namespaces are skipped, a release without its claim
  // ignored. Builder thread only.
  static std::shared_ptr<const PodIndex> update(const PodIndex* before,
                                                const std::vector<PodAddress>& changes);
  // From nothing: every pod address claimed.
  static std::shared_ptr<const PodIndex> build(const std::vector<PodAddress>& pods) {
    return update(nullptr, pods);
  }
  static size_t shard_of(const uint8_t (&addr)[16]);
  // The namespace of the pods at `addr` as one wire label (length byte first), or "" when no pod has it or
  // pods of several namespaces do. Hot path: no allocation, no lock.
  std::string_view find(const uint8_t (&addr)[16]) const;
  size_t memory_bytes() const;
  static size_t shard_memory(const Shard& s);
};

class Snapshot {
 public:
  static constexpr unsigned kShardBits = 14;
  static constexpr size_t kShards = size_t{1} << kShardBits;
  // The shards by the top bits of the name hash, in pages: a change copies the page table and the pages it
  // touched, not a pointer per shard (whose reference counts, spread over the heap, cost a cache miss each to
  // bump and to drop again: most of a change's time at 100,000 services).
  static constexpr unsigned kPageBits = 6;
  static constexpr size_t kPageShards = size_t{1} << kPageBits;
  static constexpr size_t kPages = kShards / kPageShards;
  struct ShardPage {
    std::array<std::shared_ptr<const Shard>, kPageShards> shards;
  };

  // Builds from nothing: every name of the draft compiled (build_snapshot, tests). The draft's SOA serials
  // are 0; `serial` is the one answers carry.
  static std::shared_ptr<const Snapshot> build(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                               uint32_t serial, const std::vector<PodAddress>& pods = {});

  // The namespace of the pod at `peer` as one wire label (length byte first), or "" when the address is
  // no pod's, or pods of several namespaces' (hostNetwork pods share their node's). Hot path: no allocation.
  std::string_view pod_namespace(const sockaddr* peer) const;

  // Hot path: no allocation, no lock. `qname` is lower-cased wire form.
  Lookup find(std::string_view qname, uint16_t qtype) const;

  uint32_t ttl() const { return ttl_; }
  size_t node_count() const { return node_count_; }
  // Names the build that made this snapshot compiled (the rest it shared or copied from the one before).
  size_t compiled_count() const { return compiled_; }
  size_t memory_bytes() const;
  const std::vector<Zone>& zones() const { return zones_; }
  // Zone transfer data: every RRset of the zone's nodes; null unless transfers are allowed.
  const ZoneDraft* draft() const { return draft_.get(); }

 private:
  friend class SnapshotCompiler;
  int zone_of(std::string_view name) const;

  const Shard& shard(size_t index) const {
    return *pages_[index >> kPageBits]->shards[index & (kPageShards - 1)];
  }
  std::array<std::shared_ptr<const ShardPage>, kPages> pages_;
  std::vector<Zone> zones_;
  uint32_t ttl_ = 30;
  bool synced_ = false;
  size_t node_count_ = 0, compiled_ = 0;
  // Kept by difference as shards are replaced: memory_bytes() is read after every build, and walking 16,384
  // shards for it cost more than a one-Service change.
  size_t shard_bytes_ = 0;
  std::shared_ptr<const ZoneDraft> draft_;
  std::shared_ptr<const PodIndex> pods_;
};

// Builds snapshots from a draft that changes between builds (builder thread only). Each update compiles
// the names the draft reports as touched, plus every name whose answers read one of them (a CNAME chain
// through it, an SRV/NS/MX target's addresses), into new copies of their shards; every other shard is
// shared with the snapshot before.
class SnapshotCompiler {
 public:
  // `service_subtree` (wire form, e.g. svc.cluster.local): names below <svc>.<ns>.<service_subtree> change
  // only together (one Service writes them all), so they need not track each other as dependencies.
  // `yielding_ptr_zone` (wire form, e.g. clusterset.local): its PTR targets give way to any other PTR of
  // the same address, which the cluster zone wrote (MCS DNS specification 1.0.0 §2.3.3 and §2.4.3: one PTR
  // per address, the cluster-local one where there is one).
  explicit SnapshotCompiler(std::string service_subtree = {}, std::string yielding_ptr_zone = {})
      : service_subtree_(std::move(service_subtree)), yielding_ptr_zone_(std::move(yielding_ptr_zone)) {}
  // `touched` lists the names whose records changed since the last update (all of them the first time).
  // `pods`: the pod addresses claimed and released since the last update (null: none; build_all: all).
  std::shared_ptr<const Snapshot> update(const ZoneDraft& draft, const ZoneDraft::Touched& touched,
                                         bool synced, uint32_t ttl, uint32_t serial, bool keep_draft,
                                         const std::vector<PodAddress>* pods);
  // From nothing: every node of `draft`.
  std::shared_ptr<const Snapshot> build_all(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                            uint32_t serial, bool keep_draft,
                                            const std::vector<PodAddress>* pods);

 private:
  class Writer;
  // One name to compile, viewed where it is kept while the build runs; `node` null: gone from the draft.
  struct Work {
    uint32_t shard;
    uint32_t hash;  // wire::hash_name(name)
    std::string_view name;
    const DraftNode* node;
  };
  static Work work_for(std::string_view name, const DraftNode* node);
  // With the name's hash known (a draft node's, stored beside it).
  static Work work_for(std::string_view name, const DraftNode* node, uint32_t hash);
  static bool reads_any(const DraftNode& node, const std::unordered_set<std::string_view>& names);
  std::shared_ptr<const Snapshot> compile(const ZoneDraft& draft, std::vector<Work> work, bool synced,
                                          uint32_t ttl, uint32_t serial, bool keep_draft,
                                          const std::vector<PodAddress>* pods, bool unique_names = false);
  std::shared_ptr<Snapshot> start(const ZoneDraft& draft, bool synced, uint32_t ttl, uint32_t serial,
                                  bool keep_draft, const std::vector<PodAddress>* pods);
  // Records that `name`'s answers read `targets` (replacing what it read before).
  void depend(const std::string& name, std::vector<std::string> targets);
  bool same_service(std::string_view a, std::string_view b) const;

  std::string service_subtree_, yielding_ptr_zone_;
  std::shared_ptr<const Snapshot> last_;
  std::unordered_map<std::string, std::vector<std::string>> reads_;    // name -> the names it read
  std::unordered_map<std::string, std::vector<std::string>> read_by_;  // name -> the names that read it
};

}  // namespace clusterdns::zones
