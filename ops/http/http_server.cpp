// The operations endpoints on two HttpTransports: probes on the event loop, everything costly on the pools.
#include "ops/http/http_server.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <utility>

#include "base/log.hpp"
#include "base/memory.hpp"
#include "ops/http/http_query.hpp"
#include "ops/http/webhook_tls.hpp"
#include "ops/metrics/metric_families.hpp"
#include "ops/metrics/prometheus_text.hpp"

namespace clusterdns::ops {

namespace {

HttpResponse from_reply(HttpReply r) {
  return {r.status, r.content_type, std::move(r.body)};
}

HttpResponse from_probe(const Probe& p) {
  return {p.status, "text/plain", p.body};
}

}  // namespace

HttpLimits HttpConfig::default_http_limits() {
  HttpLimits l;
  l.body_bytes = 64 << 10;  // nothing here takes a body
  l.body_budget = 1 << 20;
  return l;
}

HttpLimits HttpConfig::default_webhook_limits() {
  HttpLimits l;
  l.body_bytes = AdmissionLimits{}.max_body_bytes;
  // The memory budget: a parsed review takes about 15 times its size (a 2.4 MB review: ~40 MB), so the
  // bodies in flight are bounded to one review of the largest size (or many ordinary ones, a few kB each);
  // over it a request gets 503 and the API server applies the webhook's failurePolicy.
  l.body_budget = 4 << 20;
  l.pool_threads = 2;
  l.pool_queue = 8;
  return l;
}

HttpServer::HttpServer(HttpRoutes routes) : routes_(std::move(routes)) {}

HttpServer::~HttpServer() {
  stop();
}

std::vector<HttpRoute> HttpServer::http_routes() {
  std::vector<HttpRoute> r;
  r.push_back({"GET", "/metrics", true, [this](const HttpRequest&) {
                 return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                                     routes_.metrics ? routes_.metrics->render() : ""};
               }});
  r.push_back({"GET", "/health", false, [](const HttpRequest&) {
                 return HttpResponse{200, "text/plain", "OK"};
               }});
  const auto ready = [this](const HttpRequest&) {
    return from_probe(routes_.readiness ? routes_.readiness->ready() : Probe{});
  };
  r.push_back({"GET", "/ready", false, ready});
  r.push_back({"GET", "/readiness", false, ready});
  // The probe asks the in-process responder for a cluster name: a hash lookup, no I/O.
  r.push_back({"GET", "/healthcheck/kubedns", false, [this](const HttpRequest&) {
                 return from_probe(routes_.kubedns_probe ? routes_.kubedns_probe() : Probe{});
               }});
  r.push_back({"GET", "/v1/env", true, [this](const HttpRequest& req) {
                 const auto state = routes_.registry ? routes_.registry() : nullptr;
                 HttpReply reply = env_reply(query_param(req.query, "namespace"),
                                             query_param(req.query, "enableServiceLinks"), state.get());
                 for (const auto& line : reply.log)
                   base::logger("ops")->debug("{}", line);
                 return from_reply(std::move(reply));
               }});
  return r;
}

std::vector<HttpRoute> HttpServer::webhook_routes(const AdmissionLimits& limits) {
  std::vector<HttpRoute> r;
  r.push_back({"POST", "/mutate", true, [this, limits](const HttpRequest& req) {
                 const auto state = routes_.registry ? routes_.registry() : nullptr;
                 HttpReply reply = admission_reply(req.body, state.get(), limits);
                 for (const auto& line : reply.log)
                   base::logger("ops")->warn("{}", line);
                 // The tree of a large review (~15 times its size) is freed by now: give the pages back
                 // rather than keep them in this pool thread's malloc arena for good.
                 if (req.body.size() > (256u << 10)) base::release_free_memory();
                 return from_reply(std::move(reply));
               }});
  return r;
}

void HttpServer::start(const HttpConfig& config) {
  std::unique_ptr<HttpTransport> http, webhook;
  uint16_t http_port = 0, webhook_port = 0;
  if (config.webhook) {
    auto tls = std::make_shared<TlsCertificate>(config.tls_cert, config.tls_key);
    HttpLimits limits = config.webhook_limits;
    limits.body_bytes = std::min(limits.body_bytes, config.admission.max_body_bytes);
    webhook =
        std::make_unique<HttpTransport>("https", webhook_routes(config.admission), limits, std::move(tls));
    webhook_port = webhook->bind(*config.webhook);
  }
  if (config.http) {
    http = std::make_unique<HttpTransport>("http", http_routes(), config.http_limits);
    http_port = http->bind(*config.http);
  }
  http_ = std::move(http);
  webhook_ = std::move(webhook);
  http_port_ = http_port;
  webhook_port_ = webhook_port;
  if (http_) http_->start();
  if (webhook_) webhook_->start();
}

void HttpServer::stop() {
  if (http_) http_->stop();
  if (webhook_) webhook_->stop();
}

void start_http(HttpServer& server, HttpConfig& config, bool http_given) {
  try {
    server.start(config);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (http_given || !config.http || what.rfind("cannot listen on http ", 0) != 0) throw;
    base::logger("ops")->warn(
        "{}: the default --http address is taken, so /metrics, /health and /ready are off; set "
        "--http ADDR:PORT (or --http none)",
        what);
    config.http.reset();
    server.start(config);
  }
}

MetricsPage::Collector http_collector(const HttpServer& server) {
  return [&server](PromWriter& w) {
    const std::pair<const char*, HttpTransport::Stats> ports[] = {{"http", server.http_stats()},
                                                                  {"webhook", server.webhook_stats()}};
    w.family(metric::clusterdns_http_connections_refused_total);
    for (const auto& [port, s] : ports)
      w.sample(metric::clusterdns_http_connections_refused_total, {{"server", port}}, s.refused);
    w.family(metric::clusterdns_http_connections_evicted_total);
    for (const auto& [port, s] : ports)
      w.sample(metric::clusterdns_http_connections_evicted_total, {{"server", port}}, s.evicted);
    w.family(metric::clusterdns_http_requests_timed_out_total);
    for (const auto& [port, s] : ports)
      w.sample(metric::clusterdns_http_requests_timed_out_total, {{"server", port}}, s.timed_out);
    w.family(metric::clusterdns_http_requests_refused_total);
    for (const auto& [port, s] : ports) {
      w.sample(metric::clusterdns_http_requests_refused_total, {{"server", port}, {"reason", "too_large"}},
               s.too_large);
      w.sample(metric::clusterdns_http_requests_refused_total, {{"server", port}, {"reason", "bad"}}, s.bad);
      w.sample(metric::clusterdns_http_requests_refused_total, {{"server", port}, {"reason", "busy"}},
               s.busy);
    }
  };
}

}  // namespace clusterdns::ops
