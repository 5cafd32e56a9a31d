// Packet cache: lifetimes per RFC 2308 / RFC 8767, TTL ageing on hits, segmented-LRU eviction.
#include "dns/forward/cache.hpp"

#include <algorithm>
#include <cstring>

#include "dns/wire/message.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::dns::forward {

namespace wire = dns::wire;

namespace {

uint64_t hash_bytes(const uint8_t* p, size_t n) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

CacheKey make_key(const wire::ParsedQuery& q) {
  CacheKey k;
  std::memcpy(k.bytes, q.qname, q.qname_len);
  size_t n = q.qname_len;
  wire::store_u16(k.bytes + n, q.qtype);
  wire::store_u16(k.bytes + n + 2, q.qclass);
  k.bytes[n + 4] =
      static_cast<uint8_t>((q.do_bit ? 1 : 0) | ((q.flags & wire::kFlagCd) ? 2 : 0) | (q.has_edns ? 4 : 0));
  k.len = n + 5;
  k.hash = hash_bytes(k.bytes, k.len);
  return k;
}

Cache::Cache(CacheOptions options) : options_(options), entries_(options.capacity) {
  protected_cap_ = options_.capacity * 8 / 10;
  free_.reserve(entries_.size());
  for (size_t i = entries_.size(); i > 0; --i)
    free_.push_back(static_cast<uint32_t>(i - 1));
  index_.reserve(options_.capacity);
}

uint32_t Cache::lookup(const CacheKey& key) const {
  const auto it = index_.find(key.hash);
  if (it == index_.end()) return kNil;
  const Entry& e = entries_[it->second];
  return e.key == key.view() ? it->second : kNil;
}

CacheHit Cache::find(const CacheKey& key, int64_t now_ms) {
  CacheHit hit;
  const uint32_t i = lookup(key);
  if (i == kNil) {
    ++counters_.misses;
    return hit;
  }
  Entry& e = entries_[i];
  const int64_t expires = e.stored_ms + int64_t{e.lifetime_s} * 1000;
  if (now_ms >= expires) {
    ++counters_.misses;
    hit.entry = i;
    const bool stale_ok = !e.servfail && now_ms < expires + int64_t{options_.stale_max} * 1000;
    hit.kind = stale_ok ? Freshness::Stale : Freshness::Miss;
    return hit;
  }
  ++counters_.hits;
  ++e.hits;
  touch(i);
  hit.kind = Freshness::Fresh;
  hit.entry = i;
  if (!e.prefetching && !e.servfail && e.hits >= options_.prefetch_min_hits &&
      e.lifetime_s >= options_.prefetch_min_ttl &&
      (expires - now_ms) * 100 < int64_t{e.lifetime_s} * 1000 * options_.prefetch_percent) {
    e.prefetching = true;
    hit.prefetch = true;
  }
  return hit;
}

CacheHit Cache::find_stale(const CacheKey& key, int64_t now_ms) {
  CacheHit hit;
  const uint32_t i = lookup(key);
  if (i == kNil) return hit;
  const Entry& e = entries_[i];
  const int64_t expires = e.stored_ms + int64_t{e.lifetime_s} * 1000;
  if (e.servfail || now_ms >= expires + int64_t{options_.stale_max} * 1000) return hit;
  hit.entry = i;
  hit.kind = now_ms < expires ? Freshness::Fresh : Freshness::Stale;
  if (hit.kind == Freshness::Stale) ++counters_.stale_hits;
  return hit;
}

size_t Cache::write(uint32_t i, std::span<const uint8_t> query, const wire::ParsedQuery& q,
                    std::span<uint8_t> out, int64_t now_ms, bool stale) const {
  const Entry& e = entries_[i];
  if (e.wire.size() > out.size()) return 0;
  uint8_t* p = out.data();
  std::memcpy(p, e.wire.data(), e.wire.size());
  wire::Header h(p);
  h.set_id(q.id);
  h.set(wire::kFlagRd, (q.flags & wire::kFlagRd) != 0);  // RD as the client asked
  if (e.question_end == q.question_end && query.size() >= q.question_end) {
    std::memcpy(p + wire::kHeaderSize, query.data() + wire::kHeaderSize, q.question_end - wire::kHeaderSize);
  }
  const int64_t elapsed_ms = now_ms - e.stored_ms;
  const uint32_t elapsed = elapsed_ms > 0 ? static_cast<uint32_t>(elapsed_ms / 1000) : 0;
  for (size_t r = 0; r < e.ttl_at.size(); ++r) {
    const uint32_t orig = e.ttl_orig[r];
    const uint32_t ttl = stale ? options_.stale_ttl : (orig > elapsed ? orig - elapsed : 0);
    wire::store_u32(p + e.ttl_at[r], ttl);
  }
  return e.wire.size();
}

bool Cache::store(const CacheKey& key, std::span<const uint8_t> answer, int64_t now_ms, int64_t stored_ms) {
  if (stored_ms < 0) stored_ms = now_ms;
  if (options_.capacity == 0 || answer.size() > options_.max_entry_bytes) return false;
  const wire::HeaderView h(answer);
  if (!h.valid() || h.has(wire::kFlagTc) || h.qdcount() != 1) return false;
  // Only a response to a standard query (QR set, OPCODE 0): c-ares 1.18 matches answers on ID and question
  // alone, so a QR=0 message from a broken upstream would otherwise be served from the cache for its TTL.
  if (!h.has(wire::kFlagQr) || h.opcode() != 0) return false;
  const auto rcode = static_cast<wire::Rcode>(h.rcode());
  const bool servfail = rcode == wire::Rcode::ServFail;
  const bool negative = rcode == wire::Rcode::NxDomain || (rcode == wire::Rcode::NoError && h.ancount() == 0);
  if (!servfail && !negative && rcode != wire::Rcode::NoError) return false;

  uint32_t lifetime = ~uint32_t{0};
  bool soa = false;
  const uint32_t cap = negative ? options_.max_neg_ttl : options_.max_ttl;
  thread_local std::vector<uint16_t> at;
  thread_local std::vector<uint32_t> orig;
  at.clear();
  orig.clear();
  const bool ok = wire::for_each_record(answer, [&](const wire::RecordView& r) {
    if (r.type == wire::rrtype::OPT) return true;
    at.push_back(static_cast<uint16_t>(r.fixed + 4));
    orig.push_back(std::min(r.ttl, cap));
    if (negative) {
      // RFC 2308 §5: the negative lifetime is min(SOA TTL, SOA MINIMUM), the last RDATA field.
      if (r.section == wire::Section::Authority && r.type == wire::rrtype::SOA && r.rdlen >= 22) {
        const uint32_t minimum = wire::load_u32(answer.data() + r.rdata + r.rdlen - 4);
        lifetime = std::min({lifetime, r.ttl, minimum});
        soa = true;
      }
    } else if (r.section != wire::Section::Additional) {
      lifetime = std::min(lifetime, r.ttl);
    }
    return true;
  });
  if (!ok) return false;
  if (servfail) {
    lifetime = options_.servfail_ttl;
  } else if (negative && !soa) {
    return false;
  }
  lifetime = std::min(lifetime, servfail ? options_.servfail_ttl : cap);
  if (lifetime == 0 || lifetime == ~uint32_t{0}) return false;

  uint32_t i = lookup(key);
  if (i != kNil) {
    Entry& old = entries_[i];
    // A SERVFAIL must not push out an answer that could still be served stale.
    if (servfail && !old.servfail &&
        now_ms < old.stored_ms + (int64_t{old.lifetime_s} + options_.stale_max) * 1000) {
      return false;
    }
    touch(i);
  } else {
    i = take_slot();
    Entry& e = entries_[i];
    e.key.assign(key.view());
    e.hash = key.hash;
    e.hits = 0;
    index_[key.hash] = i;  // a 64-bit hash collision replaces the older entry's index
    push_front(probation_, Segment::Probation, i);
  }
  Entry& e = entries_[i];
  e.wire.assign(answer.begin(), answer.end());
  e.ttl_at.assign(at.begin(), at.end());
  e.ttl_orig.assign(orig.begin(), orig.end());
  e.question_end = wire::question_end(answer);
  e.stored_ms = stored_ms;
  e.lifetime_s = lifetime;
  e.servfail = servfail;
  e.prefetching = false;
  e.hits = 0;
  ++counters_.stores;
  return true;
}

bool Cache::copy_out(const CacheKey& key, int64_t now_ms, std::vector<uint8_t>& wire, int64_t& stored_ms) {
  const uint32_t i = lookup(key);
  if (i == kNil) return false;
  const Entry& e = entries_[i];
  const int64_t expires = e.stored_ms + int64_t{e.lifetime_s} * 1000;
  if (now_ms >= (e.servfail ? expires : expires + int64_t{options_.stale_max} * 1000)) return false;
  wire.assign(e.wire.begin(), e.wire.end());
  stored_ms = e.stored_ms;
  touch(i);
  return true;
}

SharedCache::SharedCache(CacheOptions options, size_t shards) {
  shards = std::max<size_t>(1, std::min(shards, options.capacity / 16 + 1));
  options.capacity = (options.capacity + shards - 1) / shards;
  options.prefetch_min_hits = ~uint32_t{0};  // prefetching is the first level's business
  for (size_t i = 0; i < shards; ++i)
    shards_.push_back(std::make_unique<Shard>(options));
}

bool SharedCache::fetch(const CacheKey& key, int64_t now_ms, std::vector<uint8_t>& wire, int64_t& stored_ms) {
  return shard(key).cache.lock()->copy_out(key, now_ms, wire, stored_ms);
}

bool SharedCache::store(const CacheKey& key, std::span<const uint8_t> answer, int64_t now_ms,
                        int64_t stored_ms) {
  return shard(key).cache.lock()->store(key, answer, now_ms, stored_ms);
}

size_t SharedCache::size() const {
  size_t n = 0;
  for (const auto& s : shards_)
    n += s->cache.lock()->size();
  return n;
}

void Cache::clear() {
  index_.clear();
  probation_ = protected_ = List{};
  free_.clear();
  for (size_t i = entries_.size(); i > 0; --i) {
    Entry& e = entries_[i - 1];
    e.segment = Segment::Free;
    e.prev = e.next = kNil;
    e.key.clear();
    free_.push_back(static_cast<uint32_t>(i - 1));
  }
}

void SharedCache::clear_for(uint64_t generation) {
  uint64_t seen = generation_.load(std::memory_order_relaxed);
  while (seen < generation) {
    if (generation_.compare_exchange_weak(seen, generation)) {
      for (auto& s : shards_)
        s->cache.lock()->clear();
      return;
    }
  }
}

void Cache::prefetch_done(const CacheKey& key) {
  const uint32_t i = lookup(key);
  if (i != kNil) entries_[i].prefetching = false;
}

void Cache::unlink(uint32_t i) {
  Entry& e = entries_[i];
  if (e.segment == Segment::Free) return;
  List& l = list_of(e.segment);
  (e.prev != kNil ? entries_[e.prev].next : l.head) = e.next;
  (e.next != kNil ? entries_[e.next].prev : l.tail) = e.prev;
  e.prev = e.next = kNil;
  e.segment = Segment::Free;
  --l.size;
}

void Cache::push_front(List& l, Segment segment, uint32_t i) {
  Entry& e = entries_[i];
  e.segment = segment;
  e.prev = kNil;
  e.next = l.head;
  if (l.head != kNil) entries_[l.head].prev = i;
  l.head = i;
  if (l.tail == kNil) l.tail = i;
  ++l.size;
}

void Cache::touch(uint32_t i) {
  const Segment s = entries_[i].segment;
  unlink(i);
  if (s == Segment::Protected) {
    push_front(protected_, Segment::Protected, i);
    return;
  }
  if (protected_cap_ == 0) {
    push_front(probation_, Segment::Probation, i);
    return;
  }
  // Asked again while on probation: it is hot. Make room by demoting the coldest protected entry.
  if (protected_.size >= protected_cap_ && protected_.tail != kNil) {
    const uint32_t cold = protected_.tail;
    unlink(cold);
    push_front(probation_, Segment::Probation, cold);
  }
  push_front(protected_, Segment::Protected, i);
}

uint32_t Cache::take_slot() {
  if (!free_.empty()) {
    const uint32_t i = free_.back();
    free_.pop_back();
    return i;
  }
  // Evict the coldest entry of the probation segment: names asked once (a scan) never reach the
  // protected segment, so they cannot push the hot names out.
  const uint32_t victim = probation_.tail != kNil ? probation_.tail : protected_.tail;
  Entry& v = entries_[victim];
  unlink(victim);
  const auto it = index_.find(v.hash);
  if (it != index_.end() && it->second == victim) index_.erase(it);
  ++counters_.evictions;
  return victim;
}

}  // namespace clusterdns::dns::forward
