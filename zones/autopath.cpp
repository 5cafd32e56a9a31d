// --autopath: the search path walked server-side (CoreDNS's autopath, without its per-pod watch). A pod
// with `search <ns>.svc.<zone> svc.<zone> <zone> ...` and ndots:5 asks X.<ns>.svc.<zone> first; when that
// does not exist and the client is a pod of <ns>, we try X.svc.<zone>, X.<zone>, X.<node search...>, X
// ourselves and answer `X.<ns>.svc.<zone> CNAME <first that exists>` plus its records: one round trip
// instead of up to five per address family. Candidates outside our zones go to the fallback (the
// forwarder), which may answer later: the walk then continues when it does.
#include "zones/autopath.hpp"

#include <cstring>
#include <memory>
#include <optional>

#include "dns/wire/header.hpp"
#include "dns/wire/response.hpp"
#include "dns/wire/rewrite.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using wire::ParsedQuery;

namespace {

constexpr size_t kQueryMax = wire::kHeaderSize + wire::kMaxNameLength + 4 + wire::kOptRecordSize;

// The candidate's query: the original ID and flags, the candidate as QNAME, the original type and class,
// an OPT when the original had one (so a forwarded answer carries the same EDNS state).
size_t make_query(const ParsedQuery& q, std::string_view name, std::span<uint8_t> out) {
  const wire::Edns edns{q.udp_size, q.do_bit};
  return wire::write_query(out, q.id, q.flags, name, q.qtype, q.qclass, q.has_edns ? &edns : nullptr);
}

// A candidate ends the walk when it has data; the last one (the bare name) also when it exists without
// data of this type, as CoreDNS does: the client would stop there too (glibc stops at ANCOUNT > 0).
bool accepted(std::span<const uint8_t> msg, bool last) {
  const wire::HeaderView h(msg);
  return h.valid() && h.rcode() == static_cast<uint8_t>(wire::Rcode::NoError) && (h.ancount() > 0 || last);
}

std::vector<uint8_t>& buffer(int which) {
  thread_local std::vector<uint8_t> buffers[2] = {std::vector<uint8_t>(65535), std::vector<uint8_t>(65535)};
  return buffers[which];
}

}  // namespace

struct AutopathWalk : std::enable_shared_from_this<AutopathWalk> {
  // A candidate's answer, coming back from the fallback; dropped counts as "not found".
  struct Reply : dns::PendingReply {
    explicit Reply(std::shared_ptr<AutopathWalk> w) : walk(std::move(w)) {}
    ~Reply() override {
      if (!done) walk->on_reply({});
    }
    void complete(std::span<const uint8_t> msg) override {
      if (done) return;
      done = true;
      walk->on_reply(msg);
    }
    std::shared_ptr<AutopathWalk> walk;
    bool done = false;
  };
  // Hands the fallback a PendingReply that continues this walk.
  struct Hook : dns::Deferrer {
    explicit Hook(AutopathWalk& w, dns::Deferrer* outer) : walk(w), outer_deferrer(outer) {}
    std::unique_ptr<dns::PendingReply> defer() override {
      deferred = true;
      if (!walk.outer) walk.outer = outer_deferrer->defer();
      return std::make_unique<Reply>(walk.shared_from_this());
    }
    AutopathWalk& walk;
    dns::Deferrer* outer_deferrer;
    bool deferred = false;
  };

  // The walk this thread answered its last query with, when nothing holds it any more (a forwarded
  // candidate's Reply does until the fallback answers): its vectors keep their capacity, so a walk answered
  // from the snapshot allocates nothing once the thread has walked once.
  static std::shared_ptr<AutopathWalk> for_this_thread() {
    thread_local std::shared_ptr<AutopathWalk> spare;
    if (!spare || spare.use_count() != 1 || spare->in_answer) spare = std::make_shared<AutopathWalk>();
    return spare;
  }

  // Starts a walk of `x` + each suffix. Copies the query and the NXDOMAIN (`nx`) into memory kept from the
  // last walk: a deferred candidate needs them after answer() returns.
  void start(Responder& r, std::span<const uint8_t> original, const ParsedQuery& parsed, std::string_view x,
             const std::vector<std::string>& suffixes, std::span<const uint8_t> nxdomain) {
    responder = &r;
    query.assign(original.begin(), original.end());
    q = parsed;
    count = 0;
    for (const auto& suffix : suffixes) {
      if (x.size() + suffix.size() > wire::kMaxNameLength) continue;
      if (candidates.size() == count) {
        candidates.emplace_back();
        candidates.back().reserve(wire::kMaxNameLength);
      }
      candidates[count++].assign(x).append(suffix);
    }
    next = 0;
    nx.assign(nxdomain.begin(), nxdomain.end());
    outer.reset();
    running = early = false;
  }

  Responder* responder = nullptr;  // asked about each candidate (it does not walk: only this handler does)
  std::vector<uint8_t> query;      // the original
  ParsedQuery q;
  std::vector<std::string> candidates;  // the first `count` are this walk's
  size_t count = 0;
  size_t next = 0;
  uint32_t ttl = 30;
  size_t limit = 512;
  unsigned worker = 0;
  std::vector<uint8_t> nx;  // the answer when nothing is found: the original NXDOMAIN
  std::unique_ptr<dns::PendingReply> outer;
  bool in_answer = false;  // inside Autopath::answer(): not to be reused by a nested one
  bool running = false;
  bool early = false;  // a reply arrived while run() was still inside the fallback
  std::vector<uint8_t> early_msg;

  size_t finish(std::span<const uint8_t> msg, std::span<uint8_t> out) {
    const size_t n = wire::write_cname_answer(query, q, candidates[next], ttl, msg, limit, out);
    if (n > 0) return n;
    std::memcpy(out.data(), nx.data(), nx.size());
    return nx.size();
  }

  // Asks the candidates from `next` on. Returns the final answer's length in `out`, or nothing when a
  // candidate's answer will come later (then on_reply() carries on).
  std::optional<size_t> run(std::span<uint8_t> out, dns::Deferrer* outer_deferrer) {
    std::vector<uint8_t>& scratch = buffer(0);
    for (; next < count; ++next) {
      uint8_t cq[kQueryMax];
      const size_t len = make_query(q, candidates[next], cq);
      Hook hook(*this, outer_deferrer);
      const bool can_defer = outer != nullptr || outer_deferrer != nullptr;
      // TCP inside: candidates are never truncated; the final answer is fitted to the client's transport.
      const dns::QueryContext ctx{dns::Transport::Tcp,         nullptr, 0,       nullptr,
                                  can_defer ? &hook : nullptr, worker,  nullptr, {}};
      early = false;
      running = true;
      const size_t n = responder->answer({cq, len}, scratch, ctx);
      running = false;
      std::span<const uint8_t> msg(scratch.data(), hook.deferred ? 0 : n);
      if (hook.deferred) {
        if (!early) return std::nullopt;
        msg = early_msg;
      }
      if (accepted(msg, next + 1 == count)) return finish(msg, out);
    }
    std::memcpy(out.data(), nx.data(), nx.size());
    return nx.size();
  }

  void on_reply(std::span<const uint8_t> msg) {
    if (running) {  // completed inside the fallback's answer(): run() picks it up
      early_msg.assign(msg.begin(), msg.end());
      early = true;
      return;
    }
    if (!outer) return;
    std::vector<uint8_t>& out = buffer(1);
    size_t n = 0;
    if (accepted(msg, next + 1 == count)) {
      n = finish(msg, out);
    } else {
      ++next;
      const std::optional<size_t> found = run(out, nullptr);
      if (!found) return;
      n = *found;
    }
    auto reply = std::move(outer);
    reply->complete({out.data(), n});
  }
};

Autopath::Autopath(Responder& inner, AutopathOptions options) : inner_(inner), options_(std::move(options)) {
  suffixes_.push_back(std::string("\3svc", 4) + options_.zone);
  suffixes_.push_back(options_.zone);
  for (const auto& s : options_.search)
    suffixes_.push_back(s);
  suffixes_.push_back(std::string(1, '\0'));
}

size_t Autopath::answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                        const dns::QueryContext& ctx) {
  const size_t nx_len = inner_.answer(query, out, ctx);
  if (nx_len == 0 || nx_len > out.size()) return 0;  // dropped, or deferred (forwarded)
  // Only the Responder's own NXDOMAIN (no answer records: not an ExternalName chased to a missing name).
  const wire::HeaderView h(out.first(nx_len));
  if (h.rcode() != static_cast<uint8_t>(wire::Rcode::NxDomain) || h.ancount() != 0 || !h.has(wire::kFlagAa))
    return nx_len;
  ParsedQuery parsed_here;
  const ParsedQuery& q = dns::parsed_query(query, ctx, parsed_here);
  const Snapshot* snap = inner_.snapshot();
  if (q.status != wire::ParseStatus::Ok || !snap) return nx_len;

  const std::string& zone = options_.zone;
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  // qname = X <ns> "svc" <zone>, X at least one label.
  const size_t svc_zone = 4 + zone.size();
  if (qname.size() <= svc_zone || qname.substr(qname.size() - zone.size()) != zone ||
      qname.substr(qname.size() - svc_zone, 4) != std::string_view("\3svc", 4)) {
    return nx_len;
  }
  const std::string_view rest = qname.substr(0, qname.size() - svc_zone);  // X <ns>, no root
  size_t last = 0, pos = 0, labels = 0;
  while (pos < rest.size()) {
    last = pos;
    pos += 1 + static_cast<uint8_t>(rest[pos]);
    ++labels;
  }
  if (labels < 2 || pos != rest.size()) return nx_len;
  const std::string_view ns = rest.substr(last);
  if (snap->pod_namespace(ctx.peer) != ns) return nx_len;  // not a pod of <ns>: its search list is unknown

  std::shared_ptr<AutopathWalk> walk = AutopathWalk::for_this_thread();
  walk->in_answer = true;
  walk->start(inner_, query, q, rest.substr(0, last), suffixes_, out.first(nx_len));
  walk->ttl = snap->ttl();
  walk->limit = ctx.transport == dns::Transport::Udp ? wire::udp_limit(q) : out.size();
  walk->worker = ctx.worker;
  // From here `snap` may be released by a nested lookup: it is not used again.
  const std::optional<size_t> n = walk->run(out, ctx.deferrer);
  walk->in_answer = false;
  if (!n) return 0;  // walk->outer, the server's PendingReply, carries the answer
  if (!walk->outer) return *n;
  // A candidate deferred, then completed before run() returned: defer() was called, so the answer must
  // go through the PendingReply.
  auto reply = std::move(walk->outer);
  reply->complete(out.first(*n));
  return 0;
}

}  // namespace clusterdns::zones
