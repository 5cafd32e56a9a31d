// A small HTTP/1.1 server on Boost.Beast for the operations ports: one event-loop thread per port serves
// every connection (so a slow or idle client holds an entry in a table, never a thread), cheap routes (the
// probes) are answered on that thread, costly ones (/metrics, /v1/env, /mutate) run on a small pool of
// their own with a bounded queue. Limits: a deadline for the whole request (TLS handshake, head and body),
// header and body sizes, a memory budget for the bodies being read, and connection caps per client and
// per port that evict the oldest idle connection, so that a new probe is always let in.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/server/server.hpp"

namespace clusterdns::ops {

class TlsCertificate;

struct HttpRequest {
  std::string method;  // "GET"
  std::string path;    // "/v1/env" (the target up to '?')
  std::string query;   // "namespace=default" (after '?', still percent-encoded)
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
};

struct HttpRoute {
  std::string method, path;
  bool pooled = false;  // false: answered on the event loop (must be cheap and never block)
  std::function<HttpResponse(const HttpRequest&)> handler;  // may throw: 500 and a log line
};

struct HttpLimits {
  std::chrono::milliseconds request_deadline{10'000};  // per request, from when the server waits for it
  std::chrono::milliseconds write_deadline{10'000};
  size_t header_bytes = 16 << 10;
  size_t body_bytes = 4 << 20;
  size_t body_budget = 16 << 20;  // bytes of all request bodies announced (Content-Length) at once
  size_t max_connections = 256;
  size_t max_per_client = 16;
  size_t pool_threads = 2;
  size_t pool_queue = 8;  // pooled requests waiting or running; over it: 503
};

class HttpTransport {
 public:
  // `name` is for the log ("http", "webhook"); `tls` non-null: HTTPS with tls->current() per connection.
  HttpTransport(std::string name, std::vector<HttpRoute> routes, HttpLimits limits,
                std::shared_ptr<TlsCertificate> tls = nullptr);
  ~HttpTransport();  // stop()
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Binds and listens (port 0: the kernel's choice); returns the port. Throws std::runtime_error "cannot
  // listen on NAME HOST:PORT: why".
  uint16_t bind(const dns::ListenAddress& address);
  // Starts the event-loop thread and the pool. Call once, after bind().
  void start();
  // Closes the listener and every connection, joins the threads. Idempotent.
  void stop();

  // Connections open now (any thread; for tests).
  size_t connections() const;

  // What the limits did, since start (any thread; /metrics).
  struct Stats {
    uint64_t refused = 0;    // connections closed on accept: a cap reached and nothing idle to evict
    uint64_t evicted = 0;    // idle connections closed to let a new one in (per-client or per-port cap)
    uint64_t timed_out = 0;  // requests cut off by request_deadline or write_deadline
    uint64_t too_large = 0;  // 413 and 431: a body or header over its limit
    uint64_t bad = 0;        // 400: not HTTP
    uint64_t busy = 0;       // 503: the body budget or the pool queue was full
  };
  Stats stats() const;

  struct Impl;  // the Asio state, defined in the .cpp (its sessions refer to it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace clusterdns::ops
