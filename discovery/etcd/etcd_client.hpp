// A small blocking client for etcd's v3 JSON gateway (/v3/kv/*, /v3/watch) with endpoint failover and TLS.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/guarded.hpp"

namespace httplib {
class ClientImpl;
}

namespace clusterdns::discovery::etcd {

// PEM files for https:// endpoints. ca_file empty: the system trust store. cert/key: a client certificate.
struct TlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
};

struct ClientOptions {
  std::vector<std::string> endpoints;  // "http://HOST:PORT" or "https://HOST:PORT" ([v6] in brackets)
  TlsFiles tls;
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds request_timeout{10000};  // read/write timeout of the unary calls
};

struct Endpoint {
  bool tls = false;
  std::string host;  // without brackets
  int port = 0;
  std::string url;  // as given, without a trailing '/'
};

// Parses "http(s)://HOST:PORT"; nullopt and a one-line reason otherwise.
std::optional<Endpoint> parse_endpoint(const std::string& url, std::string& error);

class EtcdError : public std::runtime_error {
 public:
  enum class Kind {
    Unavailable,  // transport failure, timeout, TLS failure, etcd answering "unavailable": try another
                  // endpoint
    Compacted,    // the revision asked for has been compacted away (gRPC OutOfRange)
    Server,       // etcd refused the request (bad request, permission, …)
    Protocol,     // an answer that is not what the gateway sends
    Canceled,     // cancel() was called
    Config,       // unreadable certificate or key
  };
  EtcdError(Kind kind, std::string endpoint, const std::string& message)
      : std::runtime_error(endpoint.empty() ? message : endpoint + ": " + message),
        kind_(kind),
        endpoint_(std::move(endpoint)) {}
  Kind kind() const { return kind_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  Kind kind_;
  std::string endpoint_;
};

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
};

struct RangePage {
  std::vector<KeyValue> kvs;
  bool more = false;
  int64_t revision = 0;  // header.revision: the store revision the page was read at
};

struct WatchRequest {
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;  // 0: from now
  bool progress_notify = true;
};

struct WatchEvent {
  bool is_delete = false;
  KeyValue kv;  // a DELETE carries the key and the deleting revision, no value
};

// One message of the watch stream ({"result":…}). A message with no events, not created and not canceled
// is a progress notification: every change of this watcher up to `revision` has been delivered.
struct WatchResponse {
  int64_t watch_id = 0;
  int64_t revision = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // with canceled: the oldest revision still available
  std::string cancel_reason;
  std::vector<WatchEvent> events;
};

// Decodes one line of the watch stream. An {"error":…} line or an unparsable one throws EtcdError.
WatchResponse parse_watch_line(std::string_view line, const std::string& endpoint);

std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);
// The range_end that makes [prefix, end) cover every key starting with prefix ("\0" for the whole space).
std::string prefix_end(const std::string& prefix);

// Blocking; meant for one thread, except cancel() which any thread may call. Unary calls try the current
// endpoint and, on Unavailable, every other endpoint once, remembering the one that answered.
class Client {
 public:
  // Throws std::invalid_argument when an endpoint does not parse or there is none.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One page of [key, range_end); limit 0 = no limit; revision 0 = the latest.
  RangePage range(const std::string& key, const std::string& range_end, int64_t limit, int64_t revision);
  // Every key of [key, range_end), in pages of page_size keys and then twice as many each time (up to
  // 10,000), all pages read at one revision: *revision when it is
  // not 0 (Compacted if it is gone), else the first page's, which is stored back into *revision.
  std::vector<KeyValue> range_all(const std::string& key, const std::string& range_end, int64_t page_size,
                                  int64_t* revision);
  // Every key of each [key, range_end) of `ranges` in turn, paged as range_all pages, all at one revision
  // (as range_all: *revision when not 0, else the first page's, stored back into *revision on return).
  // Each page goes to on_page(index in ranges, its key-values) on the calling thread while the next page is
  // read on a thread of its own: the etcd member serialises one page while the caller decodes the last
  // (at 100,000 objects each side costs seconds). on_page must not call this client; an exception from
  // it, or a failed read, ends the reading (the reader is joined first) and propagates.
  using PageHandler = std::function<void(std::size_t, std::vector<KeyValue>&)>;
  void range_pages(const std::vector<std::pair<std::string, std::string>>& ranges, int64_t page_size,
                   int64_t* revision, const PageHandler& on_page);
  int64_t put(const std::string& key, const std::string& value);
  // Writes every pair in one transaction (all or nothing). prev receives the value each key held before
  // (nullopt: it did not exist). Returns the revision of the transaction.
  int64_t put_all(const std::vector<std::pair<std::string, std::string>>& kvs,
                  std::vector<std::optional<std::string>>* prev);
  // Creates key only when it does not exist; true when it was created.
  bool put_if_absent(const std::string& key, const std::string& value);
  // Deletes [key, range_end) (range_end "" = key alone); returns how many keys went.
  int64_t delete_range(const std::string& key, const std::string& range_end);
  void compact(int64_t revision);

  // Streams watches (one create_request each, on one connection) from the current endpoint. on_messages gets
  // every complete message of one read; returning false ends the watch. Returns when on_messages says so;
  // throws EtcdError when the stream fails, ends, or sends nothing for read_timeout (Unavailable).
  using MessageHandler = std::function<bool(const std::vector<WatchResponse>&)>;
  void watch(const std::vector<WatchRequest>& requests, std::chrono::milliseconds read_timeout,
             const MessageHandler& on_messages);

  // The endpoint the next call starts with; next_endpoint moves on (after a failed watch).
  const std::string& current_endpoint() const;
  void next_endpoint();
  std::string endpoints_text() const;  // "URL,URL"

  // Any thread: ends the call in flight (and every later one) with EtcdError Canceled.
  void cancel();

 private:
  // One unary POST with failover; returns the parsed JSON body of a 200 answer (an object).
  nlohmann::json call(const std::string& path, const nlohmann::json& body);
  // The same, returning the body of the 200 answer as text.
  std::string call_text(const std::string& path, const std::string& body);
  std::string call_one(const Endpoint& ep, const std::string& path, const std::string& body);
  std::unique_ptr<httplib::ClientImpl> make_http(const Endpoint& ep, std::chrono::milliseconds read_timeout);
  // Registers a client so cancel() can stop it; throws Canceled when cancel() came first.
  void track(httplib::ClientImpl* http);
  void untrack(httplib::ClientImpl* http);

  ClientOptions options_;
  std::vector<Endpoint> endpoints_;
  std::size_t current_ = 0;
  base::Guarded<std::set<httplib::ClientImpl*>> active_;
  std::atomic<bool> canceled_{false};
};

}  // namespace clusterdns::discovery::etcd
