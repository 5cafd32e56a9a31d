// The packet cache for forwarded answers (dnsdist's way): whole wire answers keyed on the lower-cased
// question plus DO/CD/EDNS, the ID and question case patched and TTLs aged on a hit. Two levels: a Cache per
// worker thread (no lock; a segmented LRU keeps hot names through scans), then one SharedCache behind them
// (a mutex per shard) that only the workers' misses reach.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/guarded.hpp"
#include "dns/wire/query.hpp"

namespace clusterdns::dns::forward {

struct CacheOptions {
  size_t capacity = 10000;         // entries in this shard; 0 disables the cache
  uint32_t max_ttl = 3600;         // cap on positive lifetimes and TTLs
  uint32_t max_neg_ttl = 300;      // cap on negative lifetimes (RFC 2308 §5)
  uint32_t servfail_ttl = 5;       // SERVFAIL from upstream (RFC 2308 §7.1 allows up to 5 minutes)
  uint32_t stale_max = 86400;      // serve-stale window past expiry (RFC 8767 §5); 0 = never
  uint32_t stale_ttl = 30;         // TTL of stale answers (RFC 8767 §4)
  uint32_t prefetch_min_hits = 2;  // hits since the answer was stored before a refresh is worth it
  uint32_t prefetch_percent = 10;  // refresh when less than this share of the lifetime remains
  uint32_t prefetch_min_ttl = 10;  // lifetimes shorter than this are not prefetched
  size_t max_entry_bytes = 16384;  // larger answers are not cached
};

struct CacheKey {
  uint8_t bytes[wire::kMaxNameLength + 5];
  size_t len = 0;
  uint64_t hash = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes), len}; }
};
// Lower-cased QNAME, QTYPE, QCLASS and one byte of DO, CD and "has EDNS" (an answer with OPT must not go
// to a client that sent none: RFC 6891 §7).
CacheKey make_key(const wire::ParsedQuery& q);

enum class Freshness { Miss, Fresh, Stale };

struct CacheHit {
  Freshness kind = Freshness::Miss;
  uint32_t entry = 0;
  bool prefetch = false;  // fresh, popular and about to expire: refresh it now (the flag is set once)
};

struct CacheCounters {
  uint64_t hits = 0, stale_hits = 0, misses = 0, stores = 0, evictions = 0;
};

class Cache {
 public:
  explicit Cache(CacheOptions options);

  // Hot path: no allocation. `now_ms` is a monotonic clock. A Fresh hit is promoted in the LRU.
  CacheHit find(const CacheKey& key, int64_t now_ms);
  // A stale entry when one exists within the serve-stale window (after find() said Miss or Fresh).
  CacheHit find_stale(const CacheKey& key, int64_t now_ms);
  // Writes entry `e` as the answer to `query`: its ID, question bytes (0x20 case) and RD bit, TTLs aged
  // (or stale_ttl when `stale`). Returns the length, 0 when `out` is too small.
  size_t write(uint32_t e, std::span<const uint8_t> query, const wire::ParsedQuery& q, std::span<uint8_t> out,
               int64_t now_ms, bool stale) const;
  size_t entry_size(uint32_t e) const { return entries_[e].wire.size(); }

  // Stores or replaces the answer for `key`, received at `stored_ms` (default: now; an earlier time for a
  // copy from another cache, so that TTLs keep ageing from the original). Returns false when it is not
  // cacheable: truncated, REFUSED and the like, TTL 0, negative without SOA (RFC 2308 §5), or larger than
  // max_entry_bytes.
  bool store(const CacheKey& key, std::span<const uint8_t> answer, int64_t now_ms, int64_t stored_ms = -1);
  // Copies the answer stored for `key` and its time, when it is still within the serve-stale window.
  // Promotes the entry like a hit.
  bool copy_out(const CacheKey& key, int64_t now_ms, std::vector<uint8_t>& wire, int64_t& stored_ms);
  // A prefetch ended without a new answer: the entry may be prefetched again.
  void prefetch_done(const CacheKey& key);

  void clear();  // forgets every entry (the routes changed: answers may come from elsewhere now)
  size_t size() const { return index_.size(); }
  const CacheCounters& counters() const { return counters_; }
  const CacheOptions& options() const { return options_; }

 private:
  enum class Segment : uint8_t { Free, Probation, Protected };
  static constexpr uint32_t kNil = ~uint32_t{0};
  struct List {
    uint32_t head = kNil, tail = kNil;
    size_t size = 0;
  };
  struct Entry {
    std::string key;
    uint64_t hash = 0;
    std::vector<uint8_t> wire;
    std::vector<uint16_t> ttl_at;    // offsets of every TTL field (OPT excluded)
    std::vector<uint32_t> ttl_orig;  // the TTLs as stored, capped
    size_t question_end = 0;
    int64_t stored_ms = 0;
    uint32_t lifetime_s = 0;
    uint32_t hits = 0;
    bool servfail = false;
    bool prefetching = false;
    Segment segment = Segment::Free;
    uint32_t prev = kNil, next = kNil;
  };

  uint32_t lookup(const CacheKey& key) const;
  void unlink(uint32_t e);
  void push_front(List& list, Segment segment, uint32_t e);
  void touch(uint32_t e);  // promote / move to the front of its segment
  uint32_t take_slot();    // a free entry, evicting when full
  List& list_of(Segment s) { return s == Segment::Probation ? probation_ : protected_; }

  CacheOptions options_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint64_t, uint32_t> index_;  // key hash -> entry; the full key is compared
  List probation_, protected_;
  size_t protected_cap_;
  CacheCounters counters_;
};

// The second level behind the workers' own caches: one answer fetched by any worker serves the others
// (their first-level entry keeps ageing from the original time). Sharded, one mutex per shard; only a
// first-level miss reaches it, never a hit.
class SharedCache {
 public:
  explicit SharedCache(CacheOptions options, size_t shards = 64);
  // Copies the entry for `key` when within the serve-stale window; any thread.
  bool fetch(const CacheKey& key, int64_t now_ms, std::vector<uint8_t>& wire, int64_t& stored_ms);
  bool store(const CacheKey& key, std::span<const uint8_t> answer, int64_t now_ms, int64_t stored_ms = -1);
  size_t size() const;
  // Clears everything once per routes generation: the first worker to see `generation` does it.
  void clear_for(uint64_t generation);

 private:
  std::atomic<uint64_t> generation_{0};
  struct alignas(64) Shard {
    explicit Shard(CacheOptions o) : cache(o) {}
    base::Guarded<Cache> cache;
  };
  Shard& shard(const CacheKey& key) { return *shards_[key.hash % shards_.size()]; }
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace clusterdns::dns::forward
