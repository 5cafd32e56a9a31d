// Per-thread query counters, their sum, and the measuring decorator.
#include "ops/metrics/query_metrics.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "ops/metrics/query_log.hpp"

namespace clusterdns::ops {

namespace {

namespace rrtype = dns::wire::rrtype;
// CoreDNS's monitored types (plugin/metrics/vars/monitor.go), in the order of the type labels.
constexpr uint16_t kMonitoredTypes[kTypeSlots - 1] = {
    rrtype::A,     rrtype::AAAA, rrtype::CNAME, rrtype::DNSKEY, rrtype::DS,    rrtype::MX,
    rrtype::NSEC3, rrtype::NSEC, rrtype::NS,    rrtype::PTR,    rrtype::RRSIG, rrtype::SOA,
    rrtype::SRV,   rrtype::TXT,  rrtype::HTTPS, rrtype::IXFR,   rrtype::AXFR,  rrtype::ANY};
constexpr const char* kTypeNames[kTypeSlots] = {"A",     "AAAA", "CNAME", "DNSKEY", "DS",   "MX",  "NSEC3",
                                                "NSEC",  "NS",   "PTR",   "RRSIG",  "SOA",  "SRV", "TXT",
                                                "HTTPS", "IXFR", "AXFR",  "ANY",    "other"};
constexpr const char* kRcodeNames[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                       "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};

struct ThreadSlot {
  uint64_t owner = 0;
  QueryMetrics::Block* block = nullptr;
};
thread_local ThreadSlot tls_slot;
std::atomic<uint64_t> next_instance{1};

size_t duration_bucket(uint64_t ns) {
  uint64_t bound = 250000;  // 0.25 ms
  for (size_t i = 0; i < kDurationBounds; ++i, bound *= 2) {
    if (ns <= bound) return i;
  }
  return kDurationBounds;
}

size_t size_bucket(size_t bytes) {
  for (size_t i = 0; i < kSizeBounds; ++i) {
    if (bytes <= kSizeBoundValues[i]) return i;
  }
  return kSizeBounds;
}

void fill_log_entry(QueryLogEntry& e, const Exchange& x, const dns::wire::ParsedQuery& q) {
  e.unix_us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  e.duration_ns = static_cast<uint64_t>(x.elapsed.count());
  e.id = q.id;
  e.qtype = q.qtype;
  e.answered = !x.response.empty();
  e.rcode = dns::wire::HeaderView(x.response).rcode();
  e.tcp = x.ctx && x.ctx->transport == dns::Transport::Tcp;
  e.request_size = static_cast<uint16_t>(std::min<size_t>(x.query.size(), 65535));
  e.response_size = static_cast<uint16_t>(std::min<size_t>(x.response.size(), 65535));
  e.peer.reset();
  if (x.ctx && x.ctx->peer) {
    if (x.ctx->peer->sa_family == AF_INET && x.ctx->peer_len >= sizeof(sockaddr_in)) {
      e.peer = base::IpAddress::from_sockaddr(x.ctx->peer);
      e.port = ntohs(reinterpret_cast<const sockaddr_in*>(x.ctx->peer)->sin_port);
    } else if (x.ctx->peer->sa_family == AF_INET6 && x.ctx->peer_len >= sizeof(sockaddr_in6)) {
      e.peer = base::IpAddress::from_sockaddr(x.ctx->peer);
      e.port = ntohs(reinterpret_cast<const sockaddr_in6*>(x.ctx->peer)->sin6_port);
    }
  }
  e.qname_len = 0;
  if (q.question_ok) {
    std::memcpy(e.qname, q.qname, q.qname_len);
    e.qname_len = static_cast<uint8_t>(q.qname_len);
  }
}

}  // namespace

size_t type_slot(uint16_t qtype) {
  for (size_t i = 0; i < kTypeSlots - 1; ++i) {
    if (kMonitoredTypes[i] == qtype) return i;
  }
  return kTypeSlots - 1;
}

const char* type_label(size_t slot) {
  return slot < kTypeSlots ? kTypeNames[slot] : "other";
}

std::string rcode_label(unsigned rcode) {
  if (rcode < sizeof(kRcodeNames) / sizeof(kRcodeNames[0])) return kRcodeNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

const char* plugin_label(Plugin p) {
  switch (p) {
    case Plugin::Kubernetes:
      return "kubernetes";
    case Plugin::Forward:
      return "forward";
    case Plugin::Cache:
      return "cache";
    case Plugin::None:
      break;
  }
  return "";
}

double duration_bound_seconds(size_t i) {
  return 0.00025 * static_cast<double>(uint64_t{1} << i);
}

QueryMetrics::QueryMetrics()
    : id_(next_instance.fetch_add(1, std::memory_order_relaxed)), log_(std::make_unique<QueryLog>(*this)) {}

QueryMetrics::~QueryMetrics() {
  log_->stop();
}

QueryMetrics::Block& QueryMetrics::local() {
  ThreadSlot& s = tls_slot;
  if (s.owner == id_) [[likely]]
    return *s.block;
  Block* b = register_thread();
  s = {id_, b};
  return *b;
}

QueryMetrics::Block* QueryMetrics::register_thread() {
  std::lock_guard lock(mutex_);
  const auto me = std::this_thread::get_id();
  for (auto& [thread, block] : blocks_) {
    if (thread == me) return block.get();  // this thread used another instance in between
  }
  blocks_.emplace_back(me, std::make_unique<Block>());
  return blocks_.back().second.get();
}

void QueryMetrics::record(const Exchange& x) {
  Block& b = local();
  dns::wire::ParsedQuery parsed;
  const dns::wire::ParsedQuery& q = x.parsed ? *x.parsed : (dns::wire::parse_query(x.query, parsed), parsed);
  const size_t proto = x.ctx && x.ctx->transport == dns::Transport::Tcp ? 1 : 0;
  const size_t type = type_slot(q.question_ok ? q.qtype : 0);
  if (x.count_request) {
    const size_t family = x.ctx && x.ctx->peer && x.ctx->peer->sa_family == AF_INET6 ? 1 : 0;
    b.add(Slots::requests(proto, family, type), 1);
    if (q.do_bit) b.add(Slots::kDo, 1);
    b.add(Slots::size_bucket(0, proto, size_bucket(x.query.size())), 1);
    b.add(Slots::size_sum(0, proto), x.query.size());
  }
  if (!x.response.empty()) {
    const dns::wire::HeaderView h(x.response);
    const unsigned rcode = h.valid() ? h.rcode() : static_cast<unsigned>(dns::wire::Rcode::ServFail);
    b.add(Slots::responses(static_cast<size_t>(x.plugin), rcode), 1);
    const auto ns = static_cast<uint64_t>(x.elapsed.count() > 0 ? x.elapsed.count() : 0);
    b.add(Slots::duration_bucket(type, duration_bucket(ns)), 1);
    b.add(Slots::duration_sum_ns(type), ns);
    b.add(Slots::size_bucket(1, proto, size_bucket(x.response.size())), 1);
    b.add(Slots::size_sum(1, proto), x.response.size());
  }
  const uint64_t every = log_every_.load(std::memory_order_relaxed);
  if (every != 0 && --b.until_sample == 0) {
    b.until_sample = every;
    QueryLogEntry e;
    fill_log_entry(e, x, q);
    if (!b.ring.push(e)) b.add(Slots::kLogDropped, 1);
  } else if (every == 0) {
    b.until_sample = 1;  // the first query after the log is turned on is sampled
  }
}

void QueryMetrics::count_panic() {
  local().add(Slots::kPanics, 1);
}

QueryTotals QueryMetrics::totals() const {
  QueryTotals t;
  std::lock_guard lock(mutex_);
  for (const auto& [thread, block] : blocks_) {
    for (size_t i = 0; i < Slots::kCount; ++i)
      t.v[i] += block->c[i].load(std::memory_order_relaxed);
  }
  return t;
}

void QueryMetrics::stop_query_log() {
  log_->stop();
}

void QueryMetrics::set_query_log_rate(double rate) {
  uint64_t every = 0;
  if (rate > 0) every = rate >= 1 ? 1 : static_cast<uint64_t>(1.0 / rate + 0.5);
  log_every_.store(every, std::memory_order_relaxed);
  if (every != 0) log_->start();
}

namespace {

// The second half of a deferred query: records the response when the inner handler completes it.
class MeasuredReply final : public dns::PendingReply {
 public:
  MeasuredReply(std::unique_ptr<dns::PendingReply> inner, QueryMetrics& metrics,
                std::span<const uint8_t> query, const dns::wire::ParsedQuery& parsed,
                const dns::QueryContext& ctx, std::chrono::steady_clock::time_point start)
      : inner_(std::move(inner)),
        metrics_(metrics),
        query_(query.begin(), query.end()),
        parsed_(parsed),
        start_(start) {
    ctx_.transport = ctx.transport;
    if (ctx.peer && ctx.peer_len <= sizeof(peer_)) {
      std::memcpy(&peer_, ctx.peer, ctx.peer_len);
      ctx_.peer = reinterpret_cast<const sockaddr*>(&peer_);
      ctx_.peer_len = ctx.peer_len;
    }
    ctx_.worker = ctx.worker;
  }
  void complete(std::span<const uint8_t> message) override {
    if (!inner_) return;
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    metrics_.record(Exchange{query_, &parsed_, message, &ctx_,
                             std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed), Plugin::Forward,
                             false});
    std::exchange(inner_, nullptr)->complete(message);
  }

 private:
  std::unique_ptr<dns::PendingReply> inner_;
  QueryMetrics& metrics_;
  std::vector<uint8_t> query_;
  dns::wire::ParsedQuery parsed_;
  dns::QueryContext ctx_;
  sockaddr_storage peer_{};
  std::chrono::steady_clock::time_point start_;
};

// Handed to the inner handler in place of the server's Deferrer, for the duration of one answer() call.
class MeasuringDeferrer final : public dns::Deferrer {
 public:
  MeasuringDeferrer(dns::Deferrer& outer, QueryMetrics& metrics, std::span<const uint8_t> query,
                    const dns::wire::ParsedQuery& parsed, const dns::QueryContext& ctx,
                    std::chrono::steady_clock::time_point start)
      : outer_(outer), metrics_(metrics), query_(query), parsed_(parsed), ctx_(ctx), start_(start) {}
  std::unique_ptr<dns::PendingReply> defer() override {
    auto reply = outer_.defer();
    if (!reply) return reply;
    return std::make_unique<MeasuredReply>(std::move(reply), metrics_, query_, parsed_, ctx_, start_);
  }

 private:
  dns::Deferrer& outer_;
  QueryMetrics& metrics_;
  std::span<const uint8_t> query_;
  const dns::wire::ParsedQuery& parsed_;
  const dns::QueryContext& ctx_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

size_t MetricsHandler::answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                              const dns::QueryContext& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  dns::wire::ParsedQuery local;
  const dns::wire::ParsedQuery& parsed = dns::parsed_query(query, ctx, local);
  dns::QueryContext inner_ctx = ctx;  // the inner handlers read the same parse
  inner_ctx.parsed = &parsed;
  inner_ctx.parsed_bytes = query;
  std::optional<MeasuringDeferrer> deferrer;
  if (ctx.deferrer) {
    deferrer.emplace(*ctx.deferrer, metrics_, query, parsed, ctx, t0);
    inner_ctx.deferrer = &*deferrer;
  }
  size_t n = 0;
  try {
    n = inner_.answer(query, out, inner_ctx);
  } catch (...) {
    metrics_.count_panic();
    throw;
  }
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  const size_t len = n <= out.size() ? n : 0;  // 0 (dropped or deferred), impossible lengths: none now
  metrics_.record(Exchange{query, &parsed, std::span<const uint8_t>(out.data(), len), &ctx,
                           std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed), plugin_, true});
  return n;
}

}  // namespace clusterdns::ops
