// cpp-httplib wiring of the operations endpoints. (STACK.md §2: a compiled .so with OpenSSL; the task
// queue is set at run time; listen backlog 5, fine for probes and scrapes.)
#include "ops/http_server.hpp"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "ops/admission.hpp"

namespace clusterdns::ops {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  if (auto l = spdlog::get("ops")) return l;
  auto l = spdlog::default_logger()->clone("ops");
  try {
    spdlog::register_logger(l);
  } catch (const spdlog::spdlog_ex&) {
    if (auto existing = spdlog::get("ops")) return existing;
  }
  return l;
}

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

void configure(httplib::Server& s, size_t threads) {
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default is SO_REUSEPORT, which lets a second server share the port and receive half of the
  // scrapes and probes; SO_REUSEADDR alone still allows a quick restart past TIME_WAIT.
  s.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_read_timeout(std::chrono::seconds(5));
  s.set_write_timeout(std::chrono::seconds(5));
  s.set_keep_alive_max_count(100);
  s.set_payload_max_length(4 << 20);  // an AdmissionReview for a large pod fits; nothing bigger is useful
  s.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    logger()->error("{} {}: {}", req.method, req.path, what);
    res.status = 500;
    res.set_content("internal error\n", "text/plain");
  });
}

uint16_t bind(httplib::Server& s, const dns::ListenAddress& a, const char* what) {
  errno = 0;
  int port = a.port;
  bool ok = false;
  if (a.port == 0) {
    port = s.bind_to_any_port(a.host);
    ok = port > 0;
  } else {
    ok = s.bind_to_port(a.host, a.port);
  }
  if (!ok) {
    const int err = errno;
    throw std::runtime_error(std::string("cannot listen on ") + what + " " + dns::to_string(a) + ": " +
                             (err ? std::strerror(err) : "bind failed"));
  }
  return static_cast<uint16_t>(port);
}

}  // namespace

HttpServer::HttpServer(HttpRoutes routes) : routes_(std::move(routes)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::route_http(httplib::Server& s) {
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(routes_.metrics ? routes_.metrics->render() : "",
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/health",
        [](const httplib::Request&, httplib::Response& res) { res.set_content("OK", "text/plain"); });
  const auto ready = [this](const httplib::Request&, httplib::Response& res) {
    const Probe p = routes_.readiness ? routes_.readiness->ready() : Probe{};
    res.status = p.status;
    res.set_content(p.body, "text/plain");
  };
  s.Get("/ready", ready);
  s.Get("/readiness", ready);
  s.Get("/healthcheck/kubedns", [this](const httplib::Request&, httplib::Response& res) {
    const Probe p = routes_.kubedns_probe ? routes_.kubedns_probe() : Probe{};
    res.status = p.status;
    res.set_content(p.body, "text/plain");
  });
  s.Get("/v1/env", [this](const httplib::Request& req, httplib::Response& res) {
    const auto state = routes_.registry ? routes_.registry() : nullptr;
    HttpReply r =
        env_reply(req.get_param_value("namespace"), req.get_param_value("enableServiceLinks"), state.get());
    for (const auto& line : r.log)
      logger()->debug("{}", line);
    res.status = r.status;
    res.set_content(r.body, r.content_type);
  });
}

void HttpServer::route_webhook(httplib::Server& s) {
  s.Post("/mutate", [this](const httplib::Request& req, httplib::Response& res) {
    const auto state = routes_.registry ? routes_.registry() : nullptr;
    HttpReply r = admission_reply(req.body, state.get());
    for (const auto& line : r.log)
      logger()->warn("{}", line);
    res.status = r.status;
    res.set_content(r.body, r.content_type);
  });
}

void HttpServer::start(const HttpConfig& config) {
  std::unique_ptr<httplib::Server> http, webhook;
  uint16_t http_port = 0, webhook_port = 0;
  if (config.webhook) {
    std::string error;
    auto ssl = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, config.tls_cert.c_str()) != 1) {
        error = "--tls-cert " + config.tls_cert + ": " + openssl_error();
        return false;
      }
      if (SSL_CTX_use_PrivateKey_file(&ctx, config.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
        const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        const std::string why = openssl_error();
        error = mismatch ? "--tls-key " + config.tls_key + " does not match --tls-cert " + config.tls_cert
                         : "--tls-key " + config.tls_key + ": " + why;
        return false;
      }
      if (SSL_CTX_check_private_key(&ctx) != 1) {
        error = "--tls-key " + config.tls_key + " does not match --tls-cert " + config.tls_cert;
        return false;
      }
      return true;
    });
    if (!ssl->is_valid()) throw std::runtime_error(error.empty() ? "cannot set up TLS" : error);
    configure(*ssl, 4);
    route_webhook(*ssl);
    webhook_port = bind(*ssl, *config.webhook, "https");
    webhook = std::move(ssl);
  }
  if (config.http) {
    http = std::make_unique<httplib::Server>();
    configure(*http, 4);
    route_http(*http);
    http_port = bind(*http, *config.http, "http");
  }
  http_ = std::move(http);
  webhook_ = std::move(webhook);
  http_port_ = http_port;
  webhook_port_ = webhook_port;
  if (http_) http_thread_ = std::thread([s = http_.get()] { s->listen_after_bind(); });
  if (webhook_) webhook_thread_ = std::thread([s = webhook_.get()] { s->listen_after_bind(); });
}

void HttpServer::stop() {
  for (auto* s : {http_.get(), webhook_.get()}) {
    if (!s) continue;
    // stop() only reaches a server whose thread is already in its accept loop: wait for it (bounded).
    for (int i = 0; i < 200 && !s->is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s->stop();
  }
  if (http_thread_.joinable()) http_thread_.join();
  if (webhook_thread_.joinable()) webhook_thread_.join();
}

void start_http(HttpServer& server, HttpConfig& config, bool http_given) {
  try {
    server.start(config);
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (http_given || !config.http || what.rfind("cannot listen on http ", 0) != 0) throw;
    logger()->warn(
        "{}: the default --http address is taken, so /metrics, /health and /ready are off; set "
        "--http ADDR:PORT (or --http none)",
        what);
    config.http.reset();
    server.start(config);
  }
}

}  // namespace clusterdns::ops
