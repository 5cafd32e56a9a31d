// HTTP(S) GETs against the Kubernetes API: TLS always verified, bearer token re-read when it changes.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <sys/stat.h>

#include "discovery/k8s/cluster_access.hpp"

namespace httplib {
class ClientImpl;
}

namespace clusterdns::discovery::k8s {

// What one GET came to.
struct HttpResult {
  bool transport_ok = false;  // a response arrived (any status) and was read to its end
  std::string transport;   // why not, when !transport_ok ("Connection", "Read", "SSLServerVerification …")
  bool cancelled = false;  // stopped by the receiver or by Cancel::cancel()
  int status = 0;          // HTTP status, 0 when none arrived
  std::string body;        // the body of a non-200 response, at most 64 KiB
  int retry_after = 0;     // seconds, from Retry-After (429, 503)
  // One line for logs: "HTTP 410: too old resource version: 5 (10)" or "connection failed: Connection".
  std::string describe() const;
  // The Status object's code in a non-200 body, else the HTTP status.
  int status_code() const;
};

// Lets another thread end the GET in flight (httplib's Client::stop, repeated until the request ends).
class Cancel {
 public:
  void cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  friend class ApiClient;
  bool attach(httplib::ClientImpl* client);
  void detach();
  std::mutex mutex_;
  httplib::ClientImpl* client_ = nullptr;  // guarded by mutex_
  std::atomic<bool> cancelled_{false};
};

// Thread-safe: every call builds its own connection, so one instance serves all reflector threads.
class ApiClient {
 public:
  // Throws std::invalid_argument when access.server is not an http(s) URL or a PEM cannot be stored.
  ApiClient(ClusterAccess access, std::chrono::seconds connect_timeout);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // GET path_and_query (already URL-encoded, relative to the server's path prefix). A 200 body goes to
  // on_data piece by piece (pieces are not messages); returning false stops the request. read_timeout
  // bounds every silent gap while reading.
  HttpResult get(const std::string& path_and_query, std::chrono::seconds read_timeout,
                 const std::function<bool(const char*, std::size_t)>& on_data, Cancel& cancel);

  // A 401 arrived: the next request re-reads the token file even if it looks unchanged.
  void token_rejected();
  const std::string& origin() const { return access_.origin; }
  const std::string& server() const { return access_.server; }

 private:
  std::unique_ptr<httplib::ClientImpl> connect(std::chrono::seconds read_timeout, std::string& error);
  std::string current_token();

  ClusterAccess access_;
  std::chrono::seconds connect_timeout_;
  bool tls_ = false;
  std::string host_;
  int port_ = 0;
  std::string prefix_;   // path prefix of the server URL ("" or "/k8s/clusters/x")
  std::string ca_path_;  // the file handed to OpenSSL (access_.ca_file or a private copy of ca_pem)
  bool ca_is_temp_ = false;

  std::mutex token_mutex_;
  std::string token_;          // guarded by token_mutex_
  struct stat token_stat_ {};  // of the token file when last read
  bool token_stale_ = true;
  std::string token_error_;  // last logged read error
};

// Percent-encodes a query value (RFC 3986 unreserved characters pass).
std::string url_encode(const std::string& value);

}  // namespace clusterdns::discovery::k8s
