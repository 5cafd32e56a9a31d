// ApiClient: one httplib connection per request, TLS set up from ClusterAccess, token file tracking.
#include "discovery/k8s/api_client.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/log.hpp"

namespace clusterdns::discovery::k8s {

namespace {

constexpr std::size_t kMaxErrorBody = 64 * 1024;

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  ok = static_cast<bool>(in) || in.eof();
  return text.str();
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(s.find_last_not_of(ws) + 1);
  s.erase(0, s.find_first_not_of(ws));
  return s;
}

bool same_file_version(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

// PEM text from memory or a file (re-read on every connection, so rotated client certificates apply).
std::string pem_of(const std::string& pem, const std::string& file, std::string& error) {
  if (!pem.empty()) return pem;
  bool ok = false;
  std::string text = read_file(file, ok);
  if (!ok || text.empty()) error = "cannot read " + file;
  return text;
}

}  // namespace

std::string HttpResult::describe() const {
  if (!transport_ok) return "connection failed: " + transport;
  std::string out = "HTTP " + std::to_string(status);
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    out += ": " + j["message"].get<std::string>();
  } else if (!body.empty()) {
    out += ": " + body.substr(0, 200);
  }
  return out;
}

int HttpResult::status_code() const {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"].is_number_integer()) return j["code"].get<int>();
  return status;
}

void Cancel::cancel() {
  cancelled_.store(true, std::memory_order_release);
  std::lock_guard lock(mutex_);
  if (client_ != nullptr) client_->stop();
}

bool Cancel::attach(httplib::ClientImpl* client) {
  std::lock_guard lock(mutex_);
  client_ = client;
  return !cancelled();
}

void Cancel::detach() {
  std::lock_guard lock(mutex_);
  client_ = nullptr;
}

std::string url_encode(const std::string& value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

ApiClient::ApiClient(ClusterAccess access, std::chrono::seconds connect_timeout)
    : access_(std::move(access)), connect_timeout_(connect_timeout) {
  std::string rest;
  if (access_.server.rfind("https://", 0) == 0) {
    tls_ = true;
    rest = access_.server.substr(8);
  } else if (access_.server.rfind("http://", 0) == 0) {
    rest = access_.server.substr(7);
  } else {
    throw std::invalid_argument("server '" + access_.server + "' is not an http(s) URL");
  }
  std::size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    prefix_ = rest.substr(slash);
    rest.erase(slash);
    while (!prefix_.empty() && prefix_.back() == '/')
      prefix_.pop_back();
  }
  std::string port_text;
  if (!rest.empty() && rest[0] == '[') {  // [v6]:port
    std::size_t close = rest.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument("server '" + access_.server + "': bad IPv6 host");
    host_ = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] == ':') port_text = rest.substr(close + 2);
  } else {
    std::size_t colon = rest.rfind(':');
    host_ = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  port_ = tls_ ? 443 : 80;
  if (!port_text.empty()) {
    char* end = nullptr;
    long p = std::strtol(port_text.c_str(), &end, 10);
    if (*end != '\0' || p < 1 || p > 65535) {
      throw std::invalid_argument("server '" + access_.server + "': bad port '" + port_text + "'");
    }
    port_ = static_cast<int>(p);
  }
  if (host_.empty()) throw std::invalid_argument("server '" + access_.server + "' names no host");
  ca_path_ = access_.ca_file;
  if (!access_.ca_pem.empty()) {
    // httplib trusts the system roots as well when given an in-memory store; a file trusts only itself.
    const char* tmp = std::getenv("TMPDIR");
    std::string templ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/clusterdns-ca-XXXXXX";
    int fd = mkstemp(templ.data());
    if (fd < 0)
      throw std::invalid_argument("cannot store certificate-authority-data: " +
                                  std::string(std::strerror(errno)));
    ssize_t n = write(fd, access_.ca_pem.data(), access_.ca_pem.size());
    close(fd);
    if (n != static_cast<ssize_t>(access_.ca_pem.size())) {
      unlink(templ.c_str());
      throw std::invalid_argument("cannot store certificate-authority-data");
    }
    ca_path_ = templ;
    ca_is_temp_ = true;
  }
}

ApiClient::~ApiClient() {
  if (ca_is_temp_) unlink(ca_path_.c_str());
}

void ApiClient::token_rejected() {
  std::lock_guard lock(token_mutex_);
  token_stale_ = true;
}

std::string ApiClient::current_token() {
  std::lock_guard lock(token_mutex_);
  if (access_.token_file.empty()) return access_.token;
  struct stat st {};
  bool have_stat = stat(access_.token_file.c_str(), &st) == 0;
  if (!token_stale_ && have_stat && same_file_version(st, token_stat_)) return token_;
  bool ok = false;
  std::string text = have_stat ? read_file(access_.token_file, ok) : std::string();
  std::string token = trim(text);
  if (!ok || token.empty()) {
    std::string reason = "cannot read token file " + access_.token_file + (ok ? " (empty)" : "");
    if (reason != token_error_)
      base::logger("discovery")->warn("{}: {}; keeping the previous token", access_.origin, reason);
    token_error_ = reason;
    return token_.empty() ? access_.token : token_;
  }
  if (!token_.empty() && token != token_)
    base::logger("discovery")->info("{}: token file changed; using the new token", access_.origin);
  token_error_.clear();
  token_ = std::move(token);
  token_stat_ = st;
  token_stale_ = false;
  return token_;
}

std::unique_ptr<httplib::ClientImpl> ApiClient::connect(std::chrono::seconds read_timeout,
                                                        std::string& error) {
  std::unique_ptr<httplib::ClientImpl> cli;
  if (!tls_) {
    cli = std::make_unique<httplib::ClientImpl>(host_, port_);
  } else {
    std::unique_ptr<httplib::SSLClient> ssl;
    bool has_cert = !access_.client_cert_pem.empty() || !access_.client_cert_file.empty();
    if (has_cert) {
      std::string cert = pem_of(access_.client_cert_pem, access_.client_cert_file, error);
      std::string key = pem_of(access_.client_key_pem, access_.client_key_file, error);
      if (!error.empty()) return nullptr;
      BIO* cb = BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size()));
      BIO* kb = BIO_new_mem_buf(key.data(), static_cast<int>(key.size()));
      X509* x = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
      EVP_PKEY* k = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
      if (x != nullptr && k != nullptr) ssl = std::make_unique<httplib::SSLClient>(host_, port_, x, k);
      X509_free(x);  // the SSL_CTX holds its own references
      EVP_PKEY_free(k);
      BIO_free(cb);
      BIO_free(kb);
      if (!ssl || !ssl->is_valid()) {
        error = "client certificate or key is not valid PEM, or they do not match";
        return nullptr;
      }
    } else {
      ssl = std::make_unique<httplib::SSLClient>(host_, port_);
    }
    if (!ca_path_.empty()) ssl->set_ca_cert_path(ca_path_);
    ssl->enable_server_certificate_verification(true);
    cli = std::move(ssl);
  }
  cli->set_connection_timeout(connect_timeout_);
  cli->set_read_timeout(read_timeout);
  cli->set_write_timeout(std::chrono::seconds(10));
  cli->set_keep_alive(false);
  cli->set_url_encode(false);
  cli->set_tcp_nodelay(true);
  // TCP keepalive finds an API server that vanished (host down, a NAT dropping the flow) even while a
  // watch is quiet: ~60 s, where a half-open connection would otherwise wait for the read timeout.
  cli->set_socket_options([](socket_t sock) {
    int yes = 1, idle = 30, interval = 10, count = 3;
    setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  });
  return cli;
}

HttpResult ApiClient::get(const std::string& path_and_query, std::chrono::seconds read_timeout,
                          const std::function<bool(const char*, std::size_t)>& on_data, Cancel& cancel) {
  HttpResult r;
  std::string error;
  std::unique_ptr<httplib::ClientImpl> cli = connect(read_timeout, error);
  if (!cli) {
    r.transport = error;
    return r;
  }
  if (!cancel.attach(cli.get())) {
    cancel.detach();
    r.transport = "Canceled";
    r.cancelled = true;
    return r;
  }
  httplib::Headers headers = {{"Accept", "application/json"}, {"User-Agent", "clusterdns"}};
  std::string token = current_token();
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto result = cli->Get(
      prefix_ + path_and_query, headers,
      [&r](const httplib::Response& res) {
        r.status = res.status;
        if (res.has_header("Retry-After"))
          r.retry_after = std::atoi(res.get_header_value("Retry-After").c_str());
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (cancel.cancelled()) return false;
        if (r.status == 200) return on_data(data, n);
        if (r.body.size() < kMaxErrorBody) r.body.append(data, std::min(n, kMaxErrorBody - r.body.size()));
        return true;
      });
  cancel.detach();
  r.cancelled = result.error() == httplib::Error::Canceled || cancel.cancelled();
  r.transport_ok = result.error() == httplib::Error::Success;
  if (!r.transport_ok) {
    r.transport = httplib::to_string(result.error());
    if (auto* ssl = dynamic_cast<httplib::SSLClient*>(cli.get());
        ssl != nullptr && result.error() == httplib::Error::SSLServerVerification) {
      r.transport +=
          " (" + std::string(X509_verify_cert_error_string(ssl->get_openssl_verify_result())) + ")";
    }
  }
  return r;
}

}  // namespace clusterdns::discovery::k8s
