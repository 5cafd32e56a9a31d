// The operations HTTP server (cpp-httplib, on its own threads, never the query threads): /metrics, /health,
// /ready, kube-dns's /readiness and /healthcheck/kubedns, /v1/env; and the HTTPS admission webhook /mutate.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "discovery/model.hpp"
#include "dns/server/server.hpp"
#include "ops/metrics_page.hpp"
#include "ops/readiness.hpp"

namespace httplib {
class Server;
}

namespace clusterdns::ops {

struct HttpConfig {
  std::optional<dns::ListenAddress> http;     // nullopt: no HTTP port
  std::optional<dns::ListenAddress> webhook;  // nullopt: no webhook
  std::string tls_cert, tls_key;              // PEM files of the webhook
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
  // on its own thread. Throws std::runtime_error with one line ("cannot listen on http 0.0.0.0:9153: Address
  // already in use", "--tls-cert /x.pem: ...") and leaves nothing open. Call once.
  void start(const HttpConfig& config);
  // Stops accepting, finishes the requests in progress, joins. Idempotent.
  void stop();
  uint16_t http_port() const { return http_port_; }
  uint16_t webhook_port() const { return webhook_port_; }

 private:
  void route_http(httplib::Server& s);
  void route_webhook(httplib::Server& s);

  HttpRoutes routes_;
  std::unique_ptr<httplib::Server> http_, webhook_;
  std::thread http_thread_, webhook_thread_;
  uint16_t http_port_ = 0, webhook_port_ = 0;
};

// HttpServer::start, except that when the HTTP address is only the default (--http not given) and cannot be
// bound — a second server on one machine, tests in parallel — it logs a warning and starts without the HTTP
// port (answering DNS matters more than its metrics); config.http is then reset. An address given
// explicitly, or a webhook problem, still throws.
void start_http(HttpServer& server, HttpConfig& config, bool http_given);

}  // namespace clusterdns::ops
