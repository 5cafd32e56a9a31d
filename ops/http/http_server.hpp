// The operations HTTP server (ops/http/http_transport.hpp, on its own threads, never the query threads):
// /metrics, /health, /ready, kube-dns's /readiness and /healthcheck/kubedns, /v1/env; and the HTTPS admission
// webhook /mutate. The two ports share nothing: each has its event loop, its pool and its limits, and the
// probes are answered on the event loop, never queued behind /metrics, /v1/env or a webhook review.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "discovery/model.hpp"
#include "dns/server/server.hpp"
#include "ops/http/admission.hpp"
#include "ops/http/http_transport.hpp"
#include "ops/metrics/metrics_page.hpp"
#include "ops/runtime/readiness.hpp"

namespace clusterdns::ops {

struct HttpConfig {
  std::optional<dns::ListenAddress> http;     // nullopt: no HTTP port
  std::optional<dns::ListenAddress> webhook;  // nullopt: no webhook
  std::string tls_cert, tls_key;              // PEM files of the webhook, re-read when they change
  HttpLimits http_limits = default_http_limits();
  HttpLimits webhook_limits = default_webhook_limits();
  AdmissionLimits admission = {};

  static HttpLimits default_http_limits();
  static HttpLimits default_webhook_limits();
};

struct HttpRoutes {
  const MetricsPage* metrics = nullptr;
  const Readiness* readiness = nullptr;
  // kube-dns's /healthcheck/kubedns: does the query path answer? (200 or 503 and why)
  std::function<Probe()> kubedns_probe;
  // The registry /v1/env and /mutate read (null before the first sync).
  std::function<std::shared_ptr<const discovery::RegistryState>()> registry;
};

class HttpServer {
 public:
  explicit HttpServer(HttpRoutes routes);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the webhook's certificate and key, binds both ports (port 0: the kernel's choice), then serves each
  // on its own threads. Throws std::runtime_error with one line ("cannot listen on http 0.0.0.0:9153: Address
  // already in use", "--tls-cert /x.pem: ...") and leaves nothing open. Call once (again only after a throw).
  void start(const HttpConfig& config);
  // Stops accepting, closes every connection (a request being handled finishes, unanswered), joins.
  // Idempotent.
  void stop();
  uint16_t http_port() const { return http_port_; }
  uint16_t webhook_port() const { return webhook_port_; }
  // Open connections per port (tests).
  size_t http_connections() const { return http_ ? http_->connections() : 0; }
  size_t webhook_connections() const { return webhook_ ? webhook_->connections() : 0; }
  // What each port's limits did (zero for a port not serving).
  HttpTransport::Stats http_stats() const { return http_ ? http_->stats() : HttpTransport::Stats{}; }
  HttpTransport::Stats webhook_stats() const { return webhook_ ? webhook_->stats() : HttpTransport::Stats{}; }

 private:
  std::vector<HttpRoute> http_routes();
  std::vector<HttpRoute> webhook_routes(const AdmissionLimits& limits);

  HttpRoutes routes_;
  std::unique_ptr<HttpTransport> http_, webhook_;
  uint16_t http_port_ = 0, webhook_port_ = 0;
};

// HttpServer::start, except that when the HTTP address is only the default (--http not given) and cannot be
// bound — a second server on one machine, tests in parallel — it logs a warning and starts without the HTTP
// port (answering DNS matters more than its metrics); config.http is then reset. An address given
// explicitly, or a webhook problem, still throws.
void start_http(HttpServer& server, HttpConfig& config, bool http_given);

// clusterdns_http_*: the operations ports' limits at work (refused, evicted and timed-out connections,
// requests answered 400/413/431/503), by port ("http", "webhook").
MetricsPage::Collector http_collector(const HttpServer& server);

}  // namespace clusterdns::ops
