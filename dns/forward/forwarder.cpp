// The forwarding QueryHandler's query side: cache hits, loop checks, the in-flight limit, deferral.
#include "dns/forward/forwarder.hpp"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/log.hpp"
#include "dns/forward/forward_worker.hpp"
#include "dns/wire/message.hpp"
#include "dns/wire/response.hpp"

namespace clusterdns::dns::forward {

namespace wire = dns::wire;
using wire::Rcode;

namespace detail {
namespace {

// Which upstream query IDs are in flight, with a hash of their question: a query that arrives with the
// ID and question of one of them is our own, come back (a forwarding loop). Shared by the workers;
// colliding IDs of two workers only cost a missed detection.
std::array<std::atomic<uint64_t>, 65536> g_sent;
constexpr uint64_t kUpstreamMask = 0xFFFFFF;

uint64_t question_hash(const wire::ParsedQuery& q) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < q.qname_len; ++i)
    h = (h ^ q.qname[i]) * 1099511628211ull;
  h = (h ^ (q.qtype >> 8)) * 1099511628211ull;
  return (h ^ (q.qtype & 0xFF)) * 1099511628211ull;
}

constexpr std::string_view kProbeSuffix(
    "\x15"
    "clusterdns-loop-probe"
    "\x07"
    "invalid"
    "\x00",
    31);

}  // namespace

uint64_t loop_tag(const wire::ParsedQuery& q, uint32_t upstream_id) {
  return (question_hash(q) & ~kUpstreamMask) | ((upstream_id + 1) & kUpstreamMask);
}
void remember_sent(uint16_t id, uint64_t tag) {
  g_sent[id].store(tag, std::memory_order_relaxed);
}
void forget_sent(uint16_t id, uint64_t tag) {
  uint64_t expected = tag;
  g_sent[id].compare_exchange_strong(expected, 0, std::memory_order_relaxed);
}

std::string_view process_nonce() {
  static const std::string nonce = [] {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%08x%08x", arc4random(), arc4random());
    return std::string(buf);
  }();
  return nonce;
}

std::vector<uint8_t> probe_name(uint32_t id, uint64_t seq) {
  const std::string_view nonce = process_nonce();
  const std::string second = std::to_string(id) + "-" + std::to_string(seq);
  std::string name;
  name += static_cast<char>(nonce.size());
  name += nonce;
  name += static_cast<char>(second.size());
  name += second;
  name += kProbeSuffix;
  return std::vector<uint8_t>(name.begin(), name.end());
}

ForwardWorker::ForwardWorker(Forwarder& f, unsigned index, boost::asio::io_context& io)
    : f_(f),
      index_(index),
      io_(io),
      counters_(f.counters_[index]),
      log_(base::logger("dns")),
      cache_([&] {
        CacheOptions c = f.options_.cache;
        const unsigned workers = std::max(1u, f.options_.workers);
        c.capacity = (c.capacity + workers - 1) / workers;
        return c;
      }()),
      routes_(&f.routes_),
      scratch_(65535),
      health_timer_(io) {
  if (index_ == 0) arm_health_timer(std::chrono::milliseconds(0));  // start-up loop probes, then health
}

ForwardWorker::~ForwardWorker() {
  stop();
}

const Routes* ForwardWorker::current_routes() {
  const uint64_t g = f_.routes_.generation();
  const bool had_routes = routes_.value() != nullptr;
  if (routes_.refresh() && had_routes) {
    // New routes: a cached answer may have come from an upstream that no longer serves its name.
    cache_.clear();
    f_.shared_.clear_for(g);
  }
  return routes_.value();
}

int64_t ForwardWorker::now_ms() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // a few ns, ~4 ms resolution: plenty for TTLs
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

bool ForwardWorker::has_route(std::string_view qname) {
  const Routes* routes = current_routes();
  return routes && !routes->match(qname).servers.empty();
}

size_t ForwardWorker::reply_now(std::span<const uint8_t> query, const wire::ParsedQuery& q, uint8_t rcode,
                                std::span<uint8_t> out) {
  return wire::write_empty_response(query, q, rcode, wire::kFlagRa, out);
}

size_t ForwardWorker::from_cache(uint32_t entry, std::span<const uint8_t> query, const wire::ParsedQuery& q,
                                 const QueryContext& ctx, std::span<uint8_t> out, bool stale) {
  const size_t n = cache_.write(entry, query, q, out, now_ms(), stale);
  if (n == 0) return reply_now(query, q, static_cast<uint8_t>(Rcode::ServFail), out);
  if (ctx.transport == Transport::Udp && n > wire::udp_limit(q)) {
    // Too big for this client over UDP: TC, and it retries over TCP, where the same entry answers.
    const uint8_t rcode = wire::HeaderView(out).rcode();
    return wire::write_empty_response(query, q, rcode, wire::kFlagTc | wire::kFlagRa, out);
  }
  return n;
}

bool ForwardWorker::refill(const CacheKey& key, int64_t now) {
  int64_t stored = 0;
  if (!f_.shared_.fetch(key, now, refill_, stored)) return false;
  return cache_.store(key, refill_, now, stored);
}

bool ForwardWorker::is_loop(const wire::ParsedQuery& q) {
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  uint32_t upstream = 0;
  uint64_t seq = 0;
  bool loop = false;
  if (qname.size() > kProbeSuffix.size() &&
      qname.substr(qname.size() - kProbeSuffix.size()) == kProbeSuffix) {
    const std::string_view nonce = process_nonce();
    const auto first = static_cast<uint8_t>(qname[0]);
    if (first == nonce.size() && qname.substr(1, first) == nonce) {
      const std::string second(qname.substr(2 + first, static_cast<uint8_t>(qname[1 + first])));
      loop = std::sscanf(second.c_str(), "%u-%lu", &upstream, &seq) == 2;
    }
  }
  if (!loop) {
    const uint64_t tag = g_sent[q.id].load(std::memory_order_relaxed);
    if (tag == 0 || (tag & ~kUpstreamMask) != (question_hash(q) & ~kUpstreamMask)) return false;
    upstream = static_cast<uint32_t>((tag & kUpstreamMask) - 1);
  }
  counters_.refused_loop.add();
  if (auto h = f_.health_.by_id(upstream)) {
    if (seq != 0) h->loop_seen_probe.store(seq, std::memory_order_relaxed);
    if (!h->looping.exchange(true)) {
      log_->error(
          "forwarding loop: a query we sent to upstream {} came back to us (is {} this server, or a "
          "resolver that forwards to it?); not forwarding to it, re-checking every {} s",
          h->upstream.text, h->upstream.text, f_.options_.loop_recheck.count());
    }
  }
  return true;
}

Pending* ForwardWorker::make_pending(PendingKind kind, std::span<const uint8_t> query,
                                     const wire::ParsedQuery& q) {
  const auto id = ids_.allocate();
  if (!id) return nullptr;
  auto* p = new Pending;
  p->worker = this;
  p->kind = kind;
  p->q = q;
  p->upstream_id = *id;
  p->query.assign(query.begin(), query.end());
  wire::Header(p->query.data()).set_id(*id);
  // Ask for no more than we send on (RFC 6891 §6.2.5, flag day 2020): fewer fragments, fewer TCP retries.
  wire::for_each_record(p->query, [&](const wire::RecordView& r) {
    if (r.type == wire::rrtype::OPT && r.rclass > wire::kMaxUdpSize) {
      wire::store_u16(p->query.data() + r.fixed + 2, wire::kMaxUdpSize);
    }
    return true;
  });
  return p;
}

void ForwardWorker::start_prefetch(std::span<const uint8_t> query, const wire::ParsedQuery& q,
                                   const CacheKey& key) {
  const Routes* routes = current_routes();
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  if (f_.inflight_.fetch_add(1, std::memory_order_relaxed) >=
      static_cast<int64_t>(f_.options_.max_inflight)) {
    f_.inflight_.fetch_sub(1, std::memory_order_relaxed);
    cache_.prefetch_done(key);
    return;
  }
  Pending* p = routes ? make_pending(PendingKind::Prefetch, query, q) : nullptr;
  if (!p) {
    f_.inflight_.fetch_sub(1, std::memory_order_relaxed);
    cache_.prefetch_done(key);
    return;
  }
  p->counted = true;
  p->key = key;
  p->routes = routes_.shared();
  p->group = &routes->match(qname);
  counters_.prefetches.add();
  send(p);
}

size_t ForwardWorker::answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                             const QueryContext& ctx) {
  wire::ParsedQuery local;
  const wire::ParsedQuery& q = parsed_query(query, ctx, local);
  if (size_t written = 0; !wire::answerable(query, q, out, written)) return written;
  counters_.queries.add();
  if (!f_.options_.recursion_clients.allows(ctx.peer)) {  // not an open resolver (--allow-recursion)
    counters_.refused_client.add();
    return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::Refused), 0, out);
  }
  const Routes* routes = current_routes();
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  const Group* group = routes ? &routes->match(qname) : nullptr;
  if (!group || group->servers.empty()) {
    return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::Refused), 0, out);
  }
  const int64_t now = now_ms();
  const CacheKey key = make_key(q);
  CacheHit hit = cache_.find(key, now);
  bool shared = false;
  if (hit.kind != Freshness::Fresh && refill(key, now)) {  // another worker may have fetched it
    hit = cache_.find(key, now);
    shared = hit.kind == Freshness::Fresh;
  }
  if (hit.kind == Freshness::Fresh) {
    counters_.cache_hits.add();
    if (shared) counters_.shared_hits.add();
    const size_t n = from_cache(hit.entry, query, q, ctx, out, false);
    if (hit.prefetch) start_prefetch(query, q, key);
    return n;
  }
  if (is_loop(q)) return reply_now(query, q, static_cast<uint8_t>(Rcode::Refused), out);
  const bool usable =
      std::any_of(group->servers.begin(), group->servers.end(), [](const auto& s) { return s->usable(); });
  if (!usable || ctx.deferrer == nullptr) {
    if (hit.kind == Freshness::Stale) {  // RFC 8767: every upstream is down, the stale answer is better
      counters_.stale_answers.add();
      return from_cache(hit.entry, query, q, ctx, out, true);
    }
    counters_.servfail.add();
    return reply_now(query, q, static_cast<uint8_t>(Rcode::ServFail), out);
  }
  if (f_.inflight_.fetch_add(1, std::memory_order_relaxed) >=
      static_cast<int64_t>(f_.options_.max_inflight)) {
    f_.inflight_.fetch_sub(1, std::memory_order_relaxed);
    counters_.refused_inflight.add();
    warn_limited("{} queries in flight to upstreams (--max-inflight): answering REFUSED",
                 f_.options_.max_inflight);
    return reply_now(query, q, static_cast<uint8_t>(Rcode::Refused), out);
  }
  Pending* p = make_pending(PendingKind::Client, query, q);
  if (!p) {
    f_.inflight_.fetch_sub(1, std::memory_order_relaxed);
    counters_.servfail.add();
    return reply_now(query, q, static_cast<uint8_t>(Rcode::ServFail), out);
  }
  p->counted = true;
  p->key = key;
  p->routes = routes_.shared();
  p->group = group;
  p->transport = ctx.transport;
  p->reply = ctx.deferrer->defer();
  counters_.forwarded.add();
  send(p);   // may complete p (and its reply) before it returns
  return 0;  // the answer follows through p->reply
}

}  // namespace detail

Forwarder::Forwarder(ForwarderOptions options, const RoutesHolder& routes, HealthRegistry& health)
    : options_(std::move(options)), routes_(routes), health_(health), shared_(options_.cache) {}

Forwarder::~Forwarder() = default;

size_t Forwarder::answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) {
  detail::ForwardWorker* w = ctx.worker < kMaxWorkers ? workers_[ctx.worker].get() : nullptr;
  if (w && w->on_this_thread()) return w->answer(query, out, ctx);
  // Not a worker thread (an HTTP probe, a test), or a server this Forwarder's WorkerHooks were not
  // registered with (Server::add_worker_hooks): nothing to forward with.
  wire::ParsedQuery local;
  const wire::ParsedQuery& q = parsed_query(query, ctx, local);
  if (q.status == wire::ParseStatus::Drop) return 0;
  return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::ServFail), 0, out);
}

bool Forwarder::recurses(std::string_view qname, const QueryContext& ctx) {
  if (!options_.recursion_clients.allows(ctx.peer)) return false;
  detail::ForwardWorker* w = ctx.worker < kMaxWorkers ? workers_[ctx.worker].get() : nullptr;
  if (w && w->on_this_thread()) return w->has_route(qname);
  return false;  // not a worker thread (a probe, a test): answer() would not forward either
}

void Forwarder::start_worker(unsigned worker, boost::asio::io_context& io) {
  if (worker >= kMaxWorkers) return;
  workers_[worker] = std::make_unique<detail::ForwardWorker>(*this, worker, io);
}

void Forwarder::stop_worker(unsigned worker) {
  if (worker >= kMaxWorkers || !workers_[worker]) return;
  workers_[worker]->stop();
  workers_[worker].reset();
}

ForwarderStats Forwarder::stats() const {
  ForwarderStats s;
  const auto r = [](const base::Counter& c) { return c.load(); };
  for (const Counters& c : counters_) {
    s.queries += r(c.queries);
    s.cache_hits += r(c.cache_hits);
    s.stale_answers += r(c.stale_answers);
    s.forwarded += r(c.forwarded);
    s.retries += r(c.retries);
    s.upstream_failures += r(c.upstream_failures);
    s.servfail += r(c.servfail);
    s.refused_inflight += r(c.refused_inflight);
    s.refused_loop += r(c.refused_loop);
    s.prefetches += r(c.prefetches);
    s.refused_client += r(c.refused_client);
    s.cname_chases += r(c.cname_chases);
  }
  s.cache_entries = shared_.size();
  s.inflight = static_cast<uint64_t>(std::max<int64_t>(0, inflight_.load(std::memory_order_relaxed)));
  return s;
}

}  // namespace clusterdns::dns::forward
