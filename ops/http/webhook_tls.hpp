// The webhook's certificate and key, re-read when the files change (cert-manager rotates them in place, or
// the kubelet swaps a Secret volume's ..data symlink) so that a rotation needs no restart.
#pragma once

#include <utility>  // before Asio in C++20 (libstdc++ 12 + Boost 1.74: asio/awaitable.hpp needs std::exchange)

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

namespace clusterdns::ops {

class TlsCertificate {
 public:
  // Loads both files (TLS 1.2 or later). Throws std::runtime_error with one line: "--tls-cert /x.pem: …",
  // "--tls-key /k.pem does not match --tls-cert /x.pem".
  TlsCertificate(std::string cert_file, std::string key_file);

  // The context for a new connection. At most once per `check_interval` it compares both files' identity
  // (device, inode, size, modification time; symlinks followed) with those loaded; on a change it loads the
  // new pair, and when that fails (a half-written pair, a key that does not match yet) it logs once and
  // keeps the previous one, trying again at the next change. Any thread.
  std::shared_ptr<boost::asio::ssl::context> current();

  // How many times a changed pair was loaded (for tests and the log).
  uint64_t reloads() const;

  std::chrono::milliseconds check_interval{1000};

 private:
  struct Stamp {  // all zero: the file could not be read
    unsigned long long dev, ino, size;
    long long mtime_ns, ctime_ns;
    bool operator==(const Stamp&) const = default;
  };
  Stamp stamp(const std::string& file) const;

  const std::string cert_file_, key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::pair<Stamp, Stamp> loaded_{}, failed_{};
  std::chrono::steady_clock::time_point checked_;
  uint64_t reloads_ = 0;
};

// A server TLS context from PEM files; throws as TlsCertificate's constructor.
std::shared_ptr<boost::asio::ssl::context> load_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

}  // namespace clusterdns::ops
