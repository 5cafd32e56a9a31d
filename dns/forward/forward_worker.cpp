// The forwarding QueryHandler's upstream side: server choice, c-ares callbacks, failover, serve-stale,
// upstream health checks and loop probes. Everything here runs on one worker thread.
#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <cstring>

#include "dns/forward/forward_worker.hpp"
#include "dns/wire/response.hpp"

namespace clusterdns::dns::forward::detail {

namespace wire = dns::wire;
using wire::Rcode;

namespace {
constexpr size_t kMaxGroup = 32;  // servers per group that failover considers (bit mask)

const char* status_text(int status) {
  return status == ARES_ETIMEOUT ? "timeout" : ares_strerror(status);
}
}  // namespace

int ForwardWorker::next_server(const Pending* p) const {
  if (p->group == nullptr || p->attempts >= std::max(1u, f_.options_.attempts)) return -1;
  const auto& servers = p->group->servers;
  for (size_t i = 0; i < servers.size() && i < kMaxGroup; ++i) {
    if ((p->tried & (1u << i)) == 0 && servers[i]->usable()) return static_cast<int>(i);
  }
  return -1;
}

Channel& ForwardWorker::channel_for(const UpstreamHealth& h) {
  auto& slot = channels_[h.id];
  if (!slot) slot = std::make_unique<Channel>(io_, h.upstream, f_.options_.channel);
  return *slot;
}

void ForwardWorker::send(Pending* p) {
  const int i = stopping_ ? -1 : next_server(p);
  if (i < 0) {
    fail(p);
    return;
  }
  p->tried |= 1u << i;
  if (++p->attempts > 1) counters_.retries.add();
  p->current = p->group->servers[static_cast<size_t>(i)];
  p->current->sent.fetch_add(1, std::memory_order_relaxed);
  // The first query to an upstream goes with a loop probe (CoreDNS's loop plugin, but lazily: an upstream
  // nobody needs never sees a query from us). If the probe comes back, the upstream loops.
  if (!p->current->probed.load(std::memory_order_relaxed) && !p->current->probed.exchange(true)) {
    send_probe(p->current);
  }
  p->loop_tag = loop_tag(p->q, p->current->id);
  remember_sent(p->upstream_id, p->loop_tag);
  Channel* channel = nullptr;
  try {
    channel = &channel_for(*p->current);
  } catch (const std::exception& e) {
    warn_limited("cannot forward to {}: {}", p->current->upstream.text, e.what());
    forget_sent(p->upstream_id, p->loop_tag);
    send(p);
    return;
  }
  channel->send(p->query.data(), p->query.size(), &ForwardWorker::on_answer, p);
}

void ForwardWorker::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* p = static_cast<Pending*>(arg);
  p->worker->handle_answer(p, status, abuf, alen > 0 && abuf ? static_cast<size_t>(alen) : 0);
}

void ForwardWorker::handle_answer(Pending* p, int status, const uint8_t* abuf, size_t alen) {
  forget_sent(p->upstream_id, p->loop_tag);
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || stopping_) {
    fail(p);
    return;
  }
  if (p->kind == PendingKind::Probe) {
    handle_probe(p, status);
    return;
  }
  UpstreamHealth& h = *p->current;
  if (status == ARES_SUCCESS && alen >= wire::kHeaderSize) {
    if (h.looping.load(std::memory_order_relaxed)) {  // this answer is our own REFUSED, come round
      send(p);
      return;
    }
    h.failures.store(0, std::memory_order_relaxed);
    const auto rcode = static_cast<Rcode>(wire::HeaderView(abuf).rcode());
    // A server that refuses or fails may be alone in doing so: ask the next one while tries are left.
    if ((rcode == Rcode::ServFail || rcode == Rcode::Refused) && next_server(p) >= 0) {
      send(p);
      return;
    }
    finish(p, abuf, alen);
    return;
  }
  note_failure(h, status);
  send(p);
}

void ForwardWorker::note_failure(UpstreamHealth& h, int status) {
  h.failed.fetch_add(1, std::memory_order_relaxed);
  counters_.upstream_failures.add();
  const uint32_t failures = h.failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (failures >= f_.options_.down_after && !h.down.exchange(true)) {
    log_->warn(
        "upstream {} is down after {} failures in a row (last: {}); skipping it until it answers a "
        "health check",
        h.upstream.text, failures, status_text(status));
  }
}

void ForwardWorker::finish(Pending* p, const uint8_t* answer, size_t len) {
  std::memcpy(scratch_.data(), answer, len);
  wire::Header(scratch_.data()).set_id(p->q.id);  // the client's ID, restored
  const std::span<const uint8_t> msg(scratch_.data(), len);
  const int64_t now = now_ms();
  const bool servfail = wire::HeaderView(msg).rcode() == static_cast<uint8_t>(Rcode::ServFail);
  const bool stored = cache_.store(p->key, msg, now);
  if (stored) f_.shared_.store(p->key, msg, now);
  if (p->kind == PendingKind::Prefetch && !stored) cache_.prefetch_done(p->key);
  if (p->kind == PendingKind::Client) {
    if (servfail && !stored && cache_.find_stale(p->key, now).kind != Freshness::Miss) {
      fail(p);  // SERVFAIL from upstream, but we still hold an answer: RFC 8767 prefers it
      return;
    }
    respond(p, msg);
  }
  release(p);
}

void ForwardWorker::fail(Pending* p) {
  if (p->kind == PendingKind::Prefetch) cache_.prefetch_done(p->key);
  if (p->kind == PendingKind::Client && p->reply) {
    const int64_t now = now_ms();
    CacheHit hit = stopping_ ? CacheHit{} : cache_.find_stale(p->key, now);
    if (hit.kind == Freshness::Miss && !stopping_ && refill(p->key, now))
      hit = cache_.find_stale(p->key, now);
    size_t n = 0;
    if (hit.kind != Freshness::Miss) {
      counters_.stale_answers.add();
      n = cache_.write(hit.entry, p->query, p->q, scratch_, now, hit.kind == Freshness::Stale);
    }
    if (n == 0) {
      counters_.servfail.add();
      n = wire::write_empty_response(p->query, p->q, static_cast<uint16_t>(Rcode::ServFail), wire::kFlagRa,
                                     scratch_);
    }
    respond(p, {scratch_.data(), n});
  }
  release(p);
}

void ForwardWorker::respond(Pending* p, std::span<const uint8_t> message) {
  if (!p->reply) return;
  if (p->transport == Transport::Udp && message.size() > wire::udp_limit(p->q)) {
    // Larger than the client takes over UDP (an answer c-ares fetched over TCP): TC, so that it asks
    // again over TCP and gets the whole answer from the cache.
    uint8_t small[wire::kHeaderSize + wire::kMaxNameLength + 4 + wire::kOptRecordSize];
    const uint8_t rcode = wire::HeaderView(message).rcode();
    const size_t n = wire::write_empty_response(p->query, p->q, rcode, wire::kFlagTc | wire::kFlagRa, small);
    p->reply->complete({small, n});
  } else {
    p->reply->complete(message);
  }
  p->reply.reset();
}

void ForwardWorker::release(Pending* p) {
  if (p->counted) f_.inflight_.fetch_sub(1, std::memory_order_relaxed);
  ids_.release(p->upstream_id);
  delete p;
}

void ForwardWorker::arm_health_timer(std::chrono::milliseconds delay) {
  health_timer_.expires_after(delay);
  health_timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive || stopping_) return;
    health_check();
    arm_health_timer(
        std::min<std::chrono::milliseconds>(f_.options_.health_interval, std::chrono::seconds(1)));
  });
}

void ForwardWorker::health_check() {
  const Routes* routes = current_routes();
  if (!routes) return;
  const int64_t now = now_ms();
  for (const auto& h : routes->all()) {
    const int64_t since = now - h->last_probe_ms.load(std::memory_order_relaxed);
    if (h->looping.load(std::memory_order_relaxed)) {
      if (since >= std::chrono::milliseconds(f_.options_.loop_recheck).count()) send_probe(h);
    } else if (h->down.load(std::memory_order_relaxed) && since >= f_.options_.health_interval.count()) {
      send_probe(h);
    }
  }
}

void ForwardWorker::send_probe(const std::shared_ptr<UpstreamHealth>& h) {
  const auto id = ids_.allocate();
  if (!id) return;
  auto* p = new Pending;
  p->worker = this;
  p->kind = PendingKind::Probe;
  p->upstream_id = *id;
  p->probe_seq = ++probe_seq_;
  p->current = h;
  const std::vector<uint8_t> name = probe_name(h->id, p->probe_seq);
  p->query.assign(wire::kHeaderSize + name.size() + 4, 0);
  p->query.resize(wire::write_query(p->query, *id, wire::kFlagRd,
                                    {reinterpret_cast<const char*>(name.data()), name.size()},
                                    wire::rrtype::A, wire::kClassIn, nullptr));
  wire::parse_query(p->query, p->q);
  p->loop_tag = loop_tag(p->q, h->id);
  h->last_probe_ms.store(now_ms(), std::memory_order_relaxed);
  remember_sent(p->upstream_id, p->loop_tag);
  try {
    channel_for(*h).send(p->query.data(), p->query.size(), &ForwardWorker::on_answer, p);
  } catch (const std::exception& e) {
    log_->warn("cannot probe upstream {}: {}", h->upstream.text, e.what());
    forget_sent(p->upstream_id, p->loop_tag);
    release(p);
  }
}

void ForwardWorker::handle_probe(Pending* p, int status) {
  UpstreamHealth& h = *p->current;
  if (status == ARES_SUCCESS) {
    if (h.loop_seen_probe.load(std::memory_order_relaxed) == p->probe_seq) {
      h.looping.store(true, std::memory_order_relaxed);  // reported when the probe came in
    } else {
      if (h.looping.exchange(false))
        log_->info("upstream {} no longer loops back to us: using it again", h.upstream.text);
      h.failures.store(0, std::memory_order_relaxed);
      if (h.down.exchange(false)) log_->info("upstream {} answers again: back in use", h.upstream.text);
    }
  } else if (!h.down.load(std::memory_order_relaxed)) {
    note_failure(h, status);
  }
  release(p);
}

void ForwardWorker::stop() {
  if (stopping_) return;
  stopping_ = true;
  *alive_ = false;
  health_timer_.cancel();
  // ares_destroy runs every pending callback with ARES_EDESTRUCTION: clients get SERVFAIL, the rest is
  // released. Move the map out first: callbacks must not find half-destroyed channels.
  auto channels = std::move(channels_);
  channels_.clear();
  channels.clear();
}

}  // namespace clusterdns::dns::forward::detail
