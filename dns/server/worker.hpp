// Internal: what one worker thread owns and shares between its UDP and TCP listeners.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <span>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "base/counter.hpp"
#include "base/log.hpp"
#include "dns/handler.hpp"
#include "dns/server/memory_trim.hpp"
#include "dns/server/tcp_limits.hpp"

namespace clusterdns::dns::detail {

class TcpConnection;

// Written by the owning worker only, read by Server::stats() from any thread: relaxed and lock-free.
struct alignas(64) WorkerCounters {
  base::Counter udp_queries;
  base::Counter tcp_queries;
  base::Counter dropped;
  base::Counter udp_send_errors;
  base::Counter tcp_accepted;
  base::Counter tcp_rejected;   // at the server-wide or the per-client cap
  base::Counter tcp_evicted;    // closed to make room near the server-wide cap
  base::Counter tcp_timed_out;  // closed idle, or with a message that did not arrive in time
  base::Counter deferred;       // answers the handler promised for later (forwarded queries)
};

// State shared by the listeners of one worker; touched only on that worker's thread unless noted.
struct WorkerContext {
  WorkerContext(unsigned worker_index, QueryHandler& h, std::shared_ptr<spdlog::logger> logger,
                std::chrono::milliseconds idle, std::chrono::milliseconds message, TcpLimits& limits)
      : index(worker_index),
        handler(h),
        log(std::move(logger)),
        tcp_idle_timeout(idle),
        tcp_message_timeout(message),
        tcp_limits(limits) {}

  // Parses the query (the one parse every handler of the chain reads, QueryContext::parsed) and calls the
  // handler, turning an exception or an impossible length into a drop: one bad query must not take the
  // worker down. Returns 0 as well when the handler took a PendingReply (the listener's defer() saw it).
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) {
    wire::ParsedQuery parsed;
    wire::parse_query(query, parsed);
    QueryContext with_parse = ctx;
    with_parse.parsed = &parsed;
    with_parse.parsed_bytes = query;
    size_t n = 0;
    try {
      n = handler.answer(query, out, with_parse);
    } catch (const std::exception& e) {
      warn("query handler threw: {}", e.what());
      return 0;
    }
    if (n > out.size()) {
      warn("query handler returned {} bytes for a {}-byte buffer", n, out.size());
      return 0;
    }
    return n;
  }

  template <typename... Args>
  void warn(spdlog::format_string_t<Args...> format, Args&&... args) {
    limiter.warn(*log, format, std::forward<Args>(args)...);
  }

  static constexpr size_t kMaxMessage = 65535;

  WorkerCounters counters;        // read from any thread; first, as it is cache-line aligned
  const unsigned index;           // QueryContext::worker
  boost::asio::io_context io{1};  // run by exactly one thread
  // TCP answers are written here, then copied behind their length prefix; shared by the worker's
  // connections because the handler runs for one of them at a time.
  std::unique_ptr<uint8_t[]> tcp_scratch{new uint8_t[kMaxMessage]};
  QueryHandler& handler;
  std::shared_ptr<spdlog::logger> log;
  base::RateLimitedLog limiter{5, std::chrono::seconds(1)};  // at most 5 warnings a second per worker
  const std::chrono::milliseconds tcp_idle_timeout;
  const std::chrono::milliseconds tcp_message_timeout;  // from a message's first byte to its last
  TcpLimits& tcp_limits;                                // server-wide
  // This worker's open connections, least recently active first (eviction order).
  std::list<TcpConnection*> tcp_by_activity;
  MemoryTrimmer trimmer{io};
};

}  // namespace clusterdns::dns::detail
