// Forwarder::complete_cname: an authoritative answer that ends in a CNAME to a name outside the served
// zones (an ExternalName Service) is completed with the target's records, as a recursive server does
// (RFC 1034 §4.3.2) and as kube-dns and CoreDNS do for ExternalName. The target goes through answer():
// the cache, the routes, the in-flight limit and the upstreams' failover, like any forwarded name.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "dns/forward/forwarder.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/message.hpp"
#include "dns/wire/response.hpp"
#include "dns/wire/rewrite.hpp"

namespace clusterdns::dns::forward {

namespace wire = dns::wire;

namespace {

constexpr size_t kQueryMax = wire::kHeaderSize + wire::kMaxNameLength + 4 + wire::kOptRecordSize;

// The target's query: RD, the client's type and class, an OPT offering our full buffer (the answer is
// fitted to the client afterwards), the client's DO bit.
size_t make_target_query(const wire::ParsedQuery& q, std::string_view target, std::span<uint8_t> out) {
  const wire::Edns edns{wire::kMaxUdpSize, q.do_bit};
  return wire::write_query(out, q.id, wire::kFlagRd, target, q.qtype, q.qclass, &edns);
}

// The smallest TTL of the prefix's answer records: the chain is valid no longer than its CNAMEs.
uint32_t answer_ttl_cap(std::span<const uint8_t> prefix) {
  uint32_t cap = ~0u;
  wire::for_each_record(prefix, [&](const wire::RecordView& r) {
    if (r.section != wire::Section::Answer) return false;
    cap = std::min(cap, r.ttl);
    return true;
  });
  return cap;
}

// The prefix completed by the target's answer `msg` into `out`; the prefix itself (the CNAME alone) when
// the target could not be resolved here (REFUSED: no route, the in-flight limit), SERVFAIL with the
// CNAME when no upstream answered. Returns the length; 0 = drop (the forwarder dropped the target query).
size_t merge(std::span<const uint8_t> query, const wire::ParsedQuery& q, std::span<const uint8_t> prefix,
             std::span<const uint8_t> msg, size_t limit, std::span<uint8_t> out) {
  if (msg.empty()) return 0;
  const wire::HeaderView h(msg);
  const uint8_t rcode = h.rcode();
  size_t n = 0;
  if (h.valid() && (rcode == static_cast<uint8_t>(wire::Rcode::NoError) ||
                    rcode == static_cast<uint8_t>(wire::Rcode::NxDomain))) {
    n = wire::write_chained_answer(query, q, prefix, msg, answer_ttl_cap(prefix), limit, out);
  }
  if (n > 0) return n;
  std::memcpy(out.data(), prefix.data(), prefix.size());
  if (h.valid() && rcode == static_cast<uint8_t>(wire::Rcode::ServFail)) {
    wire::Header answer(out);
    answer.set_rcode(rcode);
    answer.set(wire::kFlagRa);  // we tried
  }
  return prefix.size();
}

std::vector<uint8_t>& buffer(int which) {
  // 0: the target's answer, 1: the prefix (the synchronous path: a cache hit allocates nothing).
  thread_local std::vector<uint8_t> buffers[2] = {std::vector<uint8_t>(65535), std::vector<uint8_t>(65535)};
  return buffers[which];
}

// Hands answer() a PendingReply that merges the target's answer into the client's before sending it.
struct ChaseDeferrer final : Deferrer {
  ChaseDeferrer(Deferrer& outer, std::span<const uint8_t> query, const wire::ParsedQuery& q,
                std::span<const uint8_t> prefix, size_t limit)
      : outer_(outer), query_(query), q_(q), prefix_(prefix), limit_(limit) {}

  std::unique_ptr<PendingReply> defer() override {
    deferred = true;
    // Copies only now: a cache hit never gets here.
    struct State {
      std::vector<uint8_t> query, prefix;
      wire::ParsedQuery q;
      size_t limit;
    };
    auto state = std::make_shared<State>(
        State{{query_.begin(), query_.end()}, {prefix_.begin(), prefix_.end()}, q_, limit_});
    return std::make_unique<ReplyWrapper>(
        outer_.defer(), [state](std::span<const uint8_t> msg, PendingReply& inner) {
          // Its own buffer: `inner` may start other lookups on this thread before it returns.
          std::vector<uint8_t> out(65535);
          const size_t n = merge(state->query, state->q, state->prefix, msg, state->limit, out);
          inner.complete({out.data(), n});
        });
  }

  bool deferred = false;

 private:
  Deferrer& outer_;
  std::span<const uint8_t> query_;
  const wire::ParsedQuery& q_;
  std::span<const uint8_t> prefix_;
  size_t limit_;
};

}  // namespace

size_t Forwarder::complete_cname(std::span<const uint8_t> query, std::span<uint8_t> out, size_t len,
                                 std::string_view target, const QueryContext& ctx) {
  wire::ParsedQuery local;
  const wire::ParsedQuery& q = parsed_query(query, ctx, local);
  if (len < wire::kHeaderSize || q.status != wire::ParseStatus::Ok || target.empty() ||
      target.size() > wire::kMaxNameLength || !recurses(target, ctx)) {
    return len;
  }
  if (ctx.worker < kMaxWorkers) counters_[ctx.worker].cname_chases.add();
  std::vector<uint8_t>& prefix = buffer(1);
  std::memcpy(prefix.data(), out.data(), len);
  const std::span<const uint8_t> pre(prefix.data(), len);
  const size_t limit =
      std::min(out.size(), ctx.transport == Transport::Udp ? wire::udp_limit(q) : size_t{65535});

  uint8_t tq[kQueryMax];
  const size_t tq_len = make_target_query(q, target, tq);
  std::optional<ChaseDeferrer> hook;
  if (ctx.deferrer) hook.emplace(*ctx.deferrer, query, q, pre, limit);
  // Over "TCP" inside: the target's answer is never truncated for us; the merged one is fitted to the client.
  const QueryContext tctx{Transport::Tcp,          ctx.peer,   ctx.peer_len, nullptr,
                          hook ? &*hook : nullptr, ctx.worker, nullptr,      {}};
  std::vector<uint8_t>& scratch = buffer(0);
  const size_t n = answer({tq, tq_len}, scratch, tctx);
  if (hook && hook->deferred) return 0;  // the merged answer follows through the PendingReply
  if (n == 0) return len;
  // Synchronous (a cache hit, or REFUSED/SERVFAIL at once): `scratch` holds the target's answer.
  const size_t merged = merge(query, q, pre, {scratch.data(), n}, limit, out);
  return merged == 0 ? len : merged;
}

}  // namespace clusterdns::dns::forward
