// Internal: one worker thread's forwarding state (channels, cache, IDs) and its queries in flight.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <cstdint>
#include <memory>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "base/log.hpp"
#include "dns/forward/forwarder.hpp"
#include "dns/forward/id_map.hpp"
#include "dns/wire/query.hpp"

namespace clusterdns::dns::forward::detail {

class ForwardWorker;
enum class PendingKind { Client, Prefetch, Probe };

// One query waiting for an upstream. Owned by itself: exactly one of finish()/fail() deletes it.
struct Pending {
  ForwardWorker* worker = nullptr;
  PendingKind kind = PendingKind::Client;
  std::unique_ptr<PendingReply> reply;  // Client only
  Transport transport = Transport::Udp;
  wire::ParsedQuery q;         // q.id is the client's ID
  std::vector<uint8_t> query;  // as sent upstream: our ID
  CacheKey key;
  uint16_t upstream_id = 0;
  uint64_t loop_tag = 0;
  std::shared_ptr<const Routes> routes;  // keeps `group` alive
  const Group* group = nullptr;
  uint32_t tried = 0;  // bit i: group->servers[i] was tried
  unsigned attempts = 0;
  std::shared_ptr<UpstreamHealth> current;  // the upstream being asked
  uint64_t probe_seq = 0;                   // Probe only
  bool counted = false;                     // holds one unit of Forwarder::inflight_
};

class ForwardWorker {
 public:
  ForwardWorker(Forwarder& f, unsigned index, boost::asio::io_context& io);
  ~ForwardWorker();  // fails every query in flight (SERVFAIL), cancels timers, closes sockets

  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx);
  void stop();
  // A route with servers covers `qname` (lower-cased wire form).
  bool has_route(std::string_view qname);
  // Its state may be touched only from the worker thread that created it.
  bool on_this_thread() const { return std::this_thread::get_id() == thread_; }

 private:
  const Routes* current_routes();
  int64_t now_ms() const;
  size_t reply_now(std::span<const uint8_t> query, const wire::ParsedQuery& q, uint8_t rcode,
                   std::span<uint8_t> out);
  size_t from_cache(uint32_t entry, std::span<const uint8_t> query, const wire::ParsedQuery& q,
                    const QueryContext& ctx, std::span<uint8_t> out, bool stale);
  bool is_loop(const wire::ParsedQuery& q);
  bool refill(const CacheKey& key, int64_t now);  // from the shared cache into ours
  template <typename... Args>
  void warn_limited(spdlog::format_string_t<Args...> fmt, Args&&... args);
  void start_prefetch(std::span<const uint8_t> query, const wire::ParsedQuery& q, const CacheKey& key);
  Pending* make_pending(PendingKind kind, std::span<const uint8_t> query, const wire::ParsedQuery& q);

  // forward_worker.cpp
  void send(Pending* p);                    // to the next usable upstream, or fail(p)
  int next_server(const Pending* p) const;  // index into p->group->servers, or -1
  Channel& channel_for(const UpstreamHealth& h);
  static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  void handle_answer(Pending* p, int status, const uint8_t* abuf, size_t alen);
  void finish(Pending* p, const uint8_t* answer, size_t len);
  void fail(Pending* p);
  void respond(Pending* p, std::span<const uint8_t> message);
  void release(Pending* p);
  void note_failure(UpstreamHealth& h, int status);
  void arm_health_timer(std::chrono::milliseconds delay);
  void health_check();
  void send_probe(const std::shared_ptr<UpstreamHealth>& h);
  void handle_probe(Pending* p, int status);

  Forwarder& f_;
  const unsigned index_;
  const std::thread::id thread_ = std::this_thread::get_id();
  boost::asio::io_context& io_;
  Forwarder::Counters& counters_;
  std::shared_ptr<spdlog::logger> log_;
  Cache cache_;
  IdAllocator ids_;
  std::unordered_map<uint32_t, std::unique_ptr<Channel>> channels_;  // by UpstreamHealth::id
  base::Local<Routes> routes_;
  std::vector<uint8_t> scratch_;
  std::vector<uint8_t> refill_;
  boost::asio::steady_timer health_timer_;
  uint64_t probe_seq_ = 0;
  bool stopping_ = false;
  // The health timer's handler checks it: one already queued may run after the worker is destroyed.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  base::RateLimitedLog warnings_{1, std::chrono::seconds(5)};  // per-query warnings: one per 5 s
};

// At most one warning per 5 s per worker; the number suppressed in between goes with the next one.
template <typename... Args>
void ForwardWorker::warn_limited(spdlog::format_string_t<Args...> fmt, Args&&... args) {
  warnings_.warn(*log_, fmt, std::forward<Args>(args)...);
}

// Loop detection shared by the workers (forwarder.cpp).
uint64_t loop_tag(const wire::ParsedQuery& q, uint32_t upstream_id);
void remember_sent(uint16_t id, uint64_t tag);
void forget_sent(uint16_t id, uint64_t tag);
// The loop probe's name for upstream `id` and probe `seq`: <nonce>.<id>-<seq>.clusterdns-loop-probe.invalid.
std::vector<uint8_t> probe_name(uint32_t id, uint64_t seq);
std::string_view process_nonce();

}  // namespace clusterdns::dns::forward::detail
