// etcd v3 JSON gateway client: unary KV calls with failover, and the streaming watch (cpp-httplib send()).
#include "discovery/etcd/etcd_client.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <iterator>
#include <thread>

#include <httplib.h>

#include "discovery/etcd/etcd_json.hpp"
#include "discovery/objects/json_text.hpp"

namespace clusterdns::discovery::etcd {

namespace {

using nlohmann::json;

// TCP keepalive finds a peer that vanished (host down, cable cut) even on an idle watch: ~60 s.
void keepalive_socket_options(socket_t sock) {
  int yes = 1, idle = 30, interval = 10, count = 3;
  setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  setsockopt(sock, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

// OpenSSL writes to a peer that has closed the connection (etcd rejecting a client certificate, a restart)
// raise SIGPIPE, whose default action ends the process; httplib sends MSG_NOSIGNAL only on plain sockets.
// Blocks SIGPIPE on the calling thread for one call and discards one raised meanwhile, whatever the
// process's own SIGPIPE disposition.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    timespec zero{0, 0};
    if (!was_pending_) {
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

// httplib's error names are terse ("Connection"); say what happened, keeping the name for searching.
std::string describe(httplib::Error e) {
  const char* what = "request failed";
  switch (e) {
    case httplib::Error::Connection:
      what = "cannot connect";
      break;
    case httplib::Error::ConnectionTimeout:
      what = "connect timed out";
      break;
    case httplib::Error::Read:
      what = "read failed or timed out";
      break;
    case httplib::Error::Write:
      what = "write failed";
      break;
    case httplib::Error::SSLConnection:
      what = "TLS handshake failed";
      break;
    case httplib::Error::SSLServerVerification:
      what = "server certificate not trusted";
      break;
    case httplib::Error::SSLLoadingCerts:
      what = "cannot load the CA file";
      break;
    default:
      break;
  }
  return std::string(what) + " (" + httplib::to_string(e) + ")";
}

json create_request(const WatchRequest& w) {
  json c = {{"key", base64_encode(w.key)}, {"range_end", base64_encode(w.range_end)}};
  if (w.start_revision > 0) c["start_revision"] = std::to_string(w.start_revision);
  if (w.progress_notify) c["progress_notify"] = true;
  return json{{"create_request", std::move(c)}};
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  for (const std::string& url : options_.endpoints) {
    std::string error;
    std::optional<Endpoint> ep = parse_endpoint(url, error);
    if (!ep) throw std::invalid_argument(error);
    endpoints_.push_back(std::move(*ep));
  }
  if (endpoints_.empty()) throw std::invalid_argument("no etcd endpoint given");
}

Client::~Client() = default;

const std::string& Client::current_endpoint() const {
  return endpoints_[current_].url;
}

void Client::next_endpoint() {
  current_ = (current_ + 1) % endpoints_.size();
}

std::string Client::endpoints_text() const {
  std::string out;
  for (const Endpoint& ep : endpoints_)
    out += (out.empty() ? "" : ",") + ep.url;
  return out;
}

void Client::cancel() {
  auto active = active_.lock();
  canceled_.store(true);
  for (httplib::ClientImpl* http : *active)
    http->stop();
}

void Client::track(httplib::ClientImpl* http) {
  auto active = active_.lock();
  if (canceled_.load()) throw EtcdError(EtcdError::Kind::Canceled, "", "canceled");
  active->insert(http);
}

void Client::untrack(httplib::ClientImpl* http) {
  active_.lock()->erase(http);
}

std::unique_ptr<httplib::ClientImpl> Client::make_http(const Endpoint& ep,
                                                       std::chrono::milliseconds read_timeout) {
  std::unique_ptr<httplib::ClientImpl> http;
  if (ep.tls) {
    const TlsFiles& tls = options_.tls;
    std::unique_ptr<httplib::SSLClient> ssl;
    if (!tls.cert_file.empty() || !tls.key_file.empty()) {
      ssl = std::make_unique<httplib::SSLClient>(ep.host, ep.port, tls.cert_file, tls.key_file);
    } else {
      ssl = std::make_unique<httplib::SSLClient>(ep.host, ep.port);
    }
    if (!ssl->is_valid()) {
      throw EtcdError(
          EtcdError::Kind::Config, ep.url,
          "cannot load the client certificate '" + tls.cert_file + "' and key '" + tls.key_file + "'");
    }
    if (!tls.ca_file.empty() && access(tls.ca_file.c_str(), R_OK) != 0) {
      throw EtcdError(EtcdError::Kind::Config, ep.url, "cannot read the CA file '" + tls.ca_file + "'");
    }
    if (!tls.ca_file.empty()) ssl->set_ca_cert_path(tls.ca_file);
    ssl->enable_server_certificate_verification(true);
    http = std::move(ssl);
  } else {
    http = std::make_unique<httplib::ClientImpl>(ep.host, ep.port);
  }
  http->set_connection_timeout(options_.connect_timeout);
  http->set_read_timeout(read_timeout);
  http->set_write_timeout(options_.request_timeout);
  http->set_keep_alive(false);
  http->set_tcp_nodelay(true);
  http->set_socket_options(keepalive_socket_options);
  return http;
}

std::string Client::call_one(const Endpoint& ep, const std::string& path, const std::string& body) {
  SigpipeGuard no_sigpipe;  // outlives http: its destructor may still write a TLS close_notify
  std::unique_ptr<httplib::ClientImpl> http = make_http(ep, options_.request_timeout);
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.body = body;
  req.set_header("Content-Type", "application/json");
  // The answer lands in a buffer with room for simdjson's padding: a range page is parsed where it is.
  std::string answer;
  req.content_receiver = [&answer](const char* data, size_t n, uint64_t, uint64_t) {
    reserve_json_padding(answer, n);
    answer.append(data, n);
    return true;
  };
  track(http.get());
  httplib::Result res = http->send(req);
  untrack(http.get());
  if (!res) {
    if (canceled_.load()) throw EtcdError(EtcdError::Kind::Canceled, ep.url, "canceled");
    std::string what = describe(res.error());
    if (res.error() == httplib::Error::SSLServerVerification) {
      auto* ssl = static_cast<httplib::SSLClient*>(http.get());
      what += " (verify result " + std::to_string(ssl->get_openssl_verify_result()) + ")";
    }
    if (ep.tls && options_.tls.cert_file.empty() && res.error() != httplib::Error::Connection &&
        res.error() != httplib::Error::ConnectionTimeout) {
      what += "; if etcd requires client certificates (--client-cert-auth), give one";
    }
    throw EtcdError(EtcdError::Kind::Unavailable, ep.url, what);
  }
  if (res->status != 200)
    detail::throw_gateway_error(json::parse(answer, nullptr, false), res->status, ep.url);
  return answer;
}

std::string Client::call_text(const std::string& path, const std::string& body) {
  std::string failures;
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    std::size_t at = (current_ + i) % endpoints_.size();
    try {
      std::string answer = call_one(endpoints_[at], path, body);
      current_ = at;
      return answer;
    } catch (const EtcdError& e) {
      if (e.kind() != EtcdError::Kind::Unavailable || endpoints_.size() == 1) throw;
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw EtcdError(EtcdError::Kind::Unavailable, "", "no etcd endpoint answered: " + failures);
}

json Client::call(const std::string& path, const json& body) {
  json answer = json::parse(call_text(path, body.dump()), nullptr, false);
  if (answer.is_discarded() || !answer.is_object()) {
    throw EtcdError(EtcdError::Kind::Protocol, current_endpoint(),
                    "answer to " + path + " is not a JSON object");
  }
  return answer;
}

RangePage Client::range(const std::string& key, const std::string& range_end, int64_t limit,
                        int64_t revision) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  if (limit > 0) body["limit"] = std::to_string(limit);
  if (revision > 0) body["revision"] = std::to_string(revision);
  // The bulk of a start-up: read with simdjson, each value decoded with room for its own parse.
  const std::string answer = call_text("/v3/kv/range", body.dump());
  return detail::parse_range(answer, current_endpoint());
}

std::vector<KeyValue> Client::range_all(const std::string& key, const std::string& range_end,
                                        int64_t page_size, int64_t* revision) {
  std::vector<KeyValue> out;
  range_pages({{key, range_end}}, page_size, revision, [&out](std::size_t, std::vector<KeyValue>& kvs) {
    if (out.empty()) {
      out = std::move(kvs);
      return;
    }
    out.insert(out.end(), std::make_move_iterator(kvs.begin()), std::make_move_iterator(kvs.end()));
  });
  return out;
}

void Client::range_pages(const std::vector<std::pair<std::string, std::string>>& ranges, int64_t page_size,
                         int64_t* revision, const PageHandler& on_page) {
  // What the reading thread hands over. It reads at most one page beyond the one waiting in `pages`.
  struct Handover {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::pair<std::size_t, std::vector<KeyValue>>> pages;
    bool done = false;     // the reader has finished (failure set if it failed)
    bool abandon = false;  // the caller stopped taking pages
    std::exception_ptr failure;
    int64_t revision = 0;
  } h;
  h.revision = *revision;
  std::thread reader([this, &ranges, page_size, &h] {
    int64_t rev = h.revision;
    try {
      for (std::size_t i = 0; i < ranges.size(); ++i) {
        std::string from = ranges[i].first;
        // etcd 3.4 walks every key left in the range to count it, for each page: pages of a fixed size
        // make a range of n keys cost O(n²) in etcd (100,000 Services in pages of 500: 200 walks, ~20 s of
        // etcd CPU). Doubling the page each time keeps the walks to O(log n) and a page's response bounded.
        constexpr int64_t kLargestPage = 10000;
        int64_t limit = page_size;
        bool more = true;
        while (more) {
          RangePage page = range(from, ranges[i].second, limit, rev);
          if (limit > 0) limit = std::max(limit, std::min(limit * 2, kLargestPage));
          if (rev == 0) rev = page.revision;
          more = page.more && !page.kvs.empty();
          if (more) from = page.kvs.back().key + std::string(1, '\0');  // the next key after the last one
          std::unique_lock lock(h.mutex);
          h.changed.wait(lock, [&h] { return h.pages.empty() || h.abandon; });
          if (h.abandon) return;
          h.pages.emplace_back(i, std::move(page.kvs));
          h.changed.notify_all();
        }
      }
    } catch (...) {
      std::lock_guard lock(h.mutex);
      h.failure = std::current_exception();
    }
    std::lock_guard lock(h.mutex);
    h.revision = rev;
    h.done = true;
    h.changed.notify_all();
  });
  try {
    while (true) {
      std::pair<std::size_t, std::vector<KeyValue>> page;
      {
        std::unique_lock lock(h.mutex);
        h.changed.wait(lock, [&h] { return !h.pages.empty() || h.done; });
        if (h.pages.empty()) break;
        page = std::move(h.pages.front());
        h.pages.pop_front();
        h.changed.notify_all();
      }
      on_page(page.first, page.second);
    }
  } catch (...) {
    {
      std::lock_guard lock(h.mutex);
      h.abandon = true;
      h.changed.notify_all();
    }
    reader.join();
    throw;
  }
  reader.join();
  if (h.failure) std::rethrow_exception(h.failure);
  *revision = h.revision;
}

int64_t Client::put(const std::string& key, const std::string& value) {
  json answer = call("/v3/kv/put", {{"key", base64_encode(key)}, {"value", base64_encode(value)}});
  return detail::json_int(answer.value("header", json::object()), "revision", current_endpoint());
}

int64_t Client::put_all(const std::vector<std::pair<std::string, std::string>>& kvs,
                        std::vector<std::optional<std::string>>* prev) {
  json ops = json::array();
  for (const auto& [key, value] : kvs) {
    ops.push_back(
        {{"request_put",
          {{"key", base64_encode(key)}, {"value", base64_encode(value)}, {"prev_kv", prev != nullptr}}}});
  }
  json answer = call("/v3/kv/txn", {{"success", std::move(ops)}});
  const std::string& ep = current_endpoint();
  if (prev) {
    prev->assign(kvs.size(), std::nullopt);
    const json responses = answer.value("responses", json::array());
    for (std::size_t i = 0; i < responses.size() && i < kvs.size(); ++i) {
      const json put = responses[i].value("response_put", json::object());
      if (put.contains("prev_kv")) (*prev)[i] = detail::decode_kv(put["prev_kv"], ep).value;
    }
  }
  return detail::json_int(answer.value("header", json::object()), "revision", ep);
}

bool Client::put_if_absent(const std::string& key, const std::string& value) {
  const std::string k = base64_encode(key);
  json body = {
      {"compare", {{{"key", k}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}}}},
      {"success", {{{"request_put", {{"key", k}, {"value", base64_encode(value)}}}}}}};
  return detail::json_bool(call("/v3/kv/txn", body), "succeeded");
}

int64_t Client::delete_range(const std::string& key, const std::string& range_end) {
  json body = {{"key", base64_encode(key)}};
  if (!range_end.empty()) body["range_end"] = base64_encode(range_end);
  return detail::json_int(call("/v3/kv/deleterange", body), "deleted", current_endpoint());
}

void Client::compact(int64_t revision) {
  call("/v3/kv/compaction", {{"revision", std::to_string(revision)}, {"physical", true}});
}

void Client::watch(const std::vector<WatchRequest>& requests, std::chrono::milliseconds read_timeout,
                   const MessageHandler& on_messages) {
  SigpipeGuard no_sigpipe;  // outlives http: its destructor may still write a TLS close_notify
  const Endpoint& ep = endpoints_[current_];
  std::unique_ptr<httplib::ClientImpl> http = make_http(ep, read_timeout);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v3/watch";
  req.set_header("Content-Type", "application/json");
  // The gateway reads one WatchRequest after another from the body: several watchers share the stream.
  for (const WatchRequest& w : requests)
    req.body += create_request(w).dump() + "\n";
  int status = 0;
  bool handler_done = false;
  std::exception_ptr failure;
  std::string buffer;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  // Chunks are not messages (cpp-httplib's ContentReceiver hands over pieces of about 4 KiB): buffer and
  // split on '\n'.
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    if (status != 200) return buffer.size() < (1u << 20);
    std::vector<WatchResponse> batch;
    std::size_t start = 0;
    try {
      for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(buffer.data() + start, nl - start);
        if (line.find_first_not_of(" \r\t") != std::string_view::npos)
          batch.push_back(parse_watch_line(line, ep.url));
      }
      buffer.erase(0, start);
      if (!batch.empty() && !on_messages(batch)) {
        handler_done = true;
        return false;
      }
    } catch (...) {
      failure = std::current_exception();
      return false;
    }
    return true;
  };
  track(http.get());
  httplib::Result res = http->send(req);
  untrack(http.get());
  if (failure) std::rethrow_exception(failure);
  if (handler_done) return;
  if (canceled_.load()) throw EtcdError(EtcdError::Kind::Canceled, ep.url, "canceled");
  if (status != 0 && status != 200) {
    detail::throw_gateway_error(json::parse(buffer, nullptr, false), status, ep.url);
  }
  if (!res) {
    std::string what = describe(res.error());
    if (res.error() == httplib::Error::Read)
      what += ": nothing received within the read timeout, or connection lost";
    throw EtcdError(EtcdError::Kind::Unavailable, ep.url, "watch stream failed: " + what);
  }
  throw EtcdError(EtcdError::Kind::Unavailable, ep.url, "watch stream ended");
}

}  // namespace clusterdns::discovery::etcd
