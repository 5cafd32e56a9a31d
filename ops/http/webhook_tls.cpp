// Loading and re-loading the webhook's TLS certificate.
#include "ops/http/webhook_tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <stdexcept>

#include "base/log.hpp"

namespace clusterdns::ops {

namespace {

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> load_tls_context(const std::string& cert, const std::string& key) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1)
    throw std::runtime_error("--tls-cert " + cert + ": " + openssl_error());
  if (SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    const std::string why = openssl_error();
    throw std::runtime_error(mismatch ? "--tls-key " + key + " does not match --tls-cert " + cert
                                      : "--tls-key " + key + ": " + why);
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    throw std::runtime_error("--tls-key " + key + " does not match --tls-cert " + cert);
  }
  return ctx;
}

TlsCertificate::TlsCertificate(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
  // Stamp first: a change between the stamp and the load is then seen at the next check.
  loaded_ = {stamp(cert_file_), stamp(key_file_)};
  context_ = load_tls_context(cert_file_, key_file_);
  checked_ = std::chrono::steady_clock::now();
}

TlsCertificate::Stamp TlsCertificate::stamp(const std::string& file) const {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return Stamp{};
  return {static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
          static_cast<unsigned long long>(st.st_size),
          static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<long long>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

std::shared_ptr<boost::asio::ssl::context> TlsCertificate::current() {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - checked_ < check_interval) return context_;
  checked_ = now;
  const std::pair<Stamp, Stamp> seen{stamp(cert_file_), stamp(key_file_)};
  if (seen == loaded_ || seen == failed_) return context_;
  try {
    context_ = load_tls_context(cert_file_, key_file_);
    loaded_ = seen;
    ++reloads_;
    base::logger("ops")->info("webhook certificate {} reloaded (rotation {})", cert_file_, reloads_);
  } catch (const std::exception& e) {
    failed_ = seen;
    base::logger("ops")->warn(
        "webhook certificate changed but cannot be loaded, still serving the previous one: {}", e.what());
  }
  return context_;
}

uint64_t TlsCertificate::reloads() const {
  std::lock_guard lock(mutex_);
  return reloads_;
}

}  // namespace clusterdns::ops
