// Boost.Beast sessions behind HttpTransport (the shape of Beast's advanced_server example: a session
// object per connection, do_read/on_read, expires_after deadlines), plus connection accounting.
#include <utility>  // before Asio in C++20 (libstdc++ 12 + Boost 1.74: asio/awaitable.hpp needs std::exchange)

#include "ops/http/http_transport.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <list>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "base/log.hpp"
#include "ops/http/webhook_tls.hpp"

namespace clusterdns::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void close() = 0;
  bool busy = false;  // a handler runs or a response is being written: not evicted
  bool listed = false;
  std::list<SessionBase*>::iterator position;
  asio::ip::address client;
};

}  // namespace

struct HttpTransport::Impl {
  std::string name;
  std::vector<HttpRoute> routes;
  HttpLimits limits;
  std::shared_ptr<TlsCertificate> tls;

  // Touched only on the event-loop thread.
  std::list<SessionBase*> sessions;  // oldest first
  std::map<asio::ip::address, size_t> per_client;
  size_t body_in_use = 0;
  size_t pooled = 0;
  std::atomic<size_t> open{0};
  std::atomic<uint64_t> refused{0}, evicted{0}, timed_out{0}, too_large{0}, bad{0}, busy{0};
  static void add(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

  asio::io_context ioc{1};
  std::optional<asio::thread_pool> pool;  // after ioc: destroyed first, while sockets can still close
  tcp::acceptor acceptor{ioc};
  std::thread loop;
  bool started = false, stopped = false;

  const HttpRoute* find(const std::string& method, const std::string& path) const {
    for (const auto& r : routes) {
      if (r.method == method && r.path == path) return &r;
    }
    return nullptr;
  }

  HttpResponse call(const HttpRoute& route, const HttpRequest& req) const {
    try {
      return route.handler(req);
    } catch (const std::exception& e) {
      base::logger("ops")->error("{} {} {}: {}", name, req.method, req.path, e.what());
    } catch (...) {
      base::logger("ops")->error("{} {} {}: unknown exception", name, req.method, req.path);
    }
    return {500, "text/plain", "internal error\n"};
  }

  void enlist(SessionBase& s) {
    s.position = sessions.insert(sessions.end(), &s);
    s.listed = true;
    ++per_client[s.client];
    ++open;
  }

  void delist(SessionBase& s) {
    if (!s.listed) return;
    s.listed = false;
    sessions.erase(s.position);
    if (auto it = per_client.find(s.client); it != per_client.end() && --it->second == 0)
      per_client.erase(it);
    --open;
  }

  // Closes the oldest connection not being answered (of `client`, or of anyone when null). False if none.
  bool evict_oldest(const asio::ip::address* client) {
    for (SessionBase* s : sessions) {
      if (s->busy || (client && s->client != *client)) continue;
      add(evicted);
      delist(*s);
      s->close();
      return true;
    }
    return false;
  }

  void accept();
  void admit(tcp::socket socket);
};

namespace {

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(HttpTransport::Impl& server, Stream stream, std::shared_ptr<asio::ssl::context> tls)
      : server_(server), stream_(std::move(stream)), tls_(std::move(tls)) {}
  ~Session() override {
    server_.delist(*this);
    server_.body_in_use -= reserved_;
  }

  void start() {
    lowest().expires_after(server_.limits.request_deadline);
    if constexpr (kTls) {
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec == beast::error::timeout)
                                  HttpTransport::Impl::add(self->server_.timed_out);
                                if (!ec) self->read_header(false);
                              });
    } else {
      read_header(false);
    }
  }

  void close() override { lowest().close(); }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read_header(bool renew_deadline) {
    busy = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.limits.header_bytes));
    parser_->body_limit(server_.limits.body_bytes);
    // One deadline for the whole request: a client trickling a header line every few seconds is cut off.
    if (renew_deadline) lowest().expires_after(server_.limits.request_deadline);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::header_limit) return fail(431, "request header fields too large");
    if (ec == http::error::body_limit) return fail(413, "request body too large");  // by Content-Length
    if (ec.category() == http::make_error_code(http::error::bad_method).category())
      return fail(400, "bad request: " + ec.message());
    if (ec == beast::error::timeout) HttpTransport::Impl::add(server_.timed_out);
    if (ec) return;  // closed, timed out or evicted: nobody to answer
    const auto length = parser_->content_length();
    size_t reserve = 0;
    if (length) {
      if (*length > server_.limits.body_bytes) return fail(413, "request body too large");
      reserve = static_cast<size_t>(*length);
    } else if (parser_->chunked()) {
      reserve = server_.limits.body_bytes;
    }
    if (server_.body_in_use + reserve > server_.limits.body_budget) return fail(503, "busy, try again");
    server_.body_in_use += reserve;
    reserved_ = reserve;
    if (parser_->is_done()) return on_read({});
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // RFC 9110 §10.1.1: the client (curl above 1 MiB) waits for this before it sends the body.
      continue_.emplace(http::status::continue_, parser_->get().version());
      return http::async_write(stream_, *continue_,
                               [self = this->shared_from_this()](beast::error_code e, size_t) {
                                 self->continue_.reset();
                                 if (!e) self->read_body();
                               });
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code e, size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit) return fail(413, "request body too large");
    if (ec == beast::error::timeout) HttpTransport::Impl::add(server_.timed_out);
    if (ec) return;
    busy = true;
    lowest().expires_never();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    const std::string_view target(msg.target().data(), msg.target().size());
    const size_t q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.body = std::move(msg.body());
    parser_.reset();
    const HttpRoute* route = server_.find(req.method, req.path);
    if (!route) return respond({404, "text/plain", "not found\n"});
    if (!route->pooled) return respond(server_.call(*route, req));
    if (server_.pooled >= server_.limits.pool_queue) return fail(503, "busy, try again");
    ++server_.pooled;
    asio::post(*server_.pool, [self = this->shared_from_this(), route, req = std::move(req)] {
      HttpResponse res = self->server_.call(*route, req);
      asio::post(self->server_.ioc, [self, res = std::move(res)]() mutable {
        --self->server_.pooled;
        self->respond(std::move(res));
      });
    });
  }

  void fail(int status, const std::string& why) {
    HttpTransport::Impl::add(status == 503 ? server_.busy : status == 400 ? server_.bad : server_.too_large);
    keep_alive_ = false;
    respond({status, "text/plain", why + "\n"});
  }

  void respond(HttpResponse r) {
    busy = true;
    server_.body_in_use -= reserved_;
    reserved_ = 0;
    response_.emplace(static_cast<http::status>(r.status), version_);
    response_->set(http::field::content_type, r.content_type);
    response_->keep_alive(keep_alive_);
    response_->body() = std::move(r.body);
    response_->prepare_payload();
    lowest().expires_after(server_.limits.write_deadline);
    http::async_write(stream_, *response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    if (ec == beast::error::timeout) HttpTransport::Impl::add(server_.timed_out);
    if (ec) return;
    const bool again = keep_alive_;
    response_.reset();
    if (again) return read_header(true);
    if constexpr (kTls) {
      lowest().expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  HttpTransport::Impl& server_;
  Stream stream_;
  std::shared_ptr<asio::ssl::context> tls_;  // keeps the context of this connection alive over a rotation
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> continue_;
  size_t reserved_ = 0;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

}  // namespace

void HttpTransport::Impl::accept() {
  acceptor.async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) admit(std::move(socket));
    accept();
  });
}

void HttpTransport::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  if (ec) return;
  const auto client = peer.address();
  if (auto it = per_client.find(client); it != per_client.end() && it->second >= limits.max_per_client) {
    if (!evict_oldest(&client)) {
      base::logger("ops")->debug("{}: {} has {} connections open, refused", name, client.to_string(),
                                 it->second);
      add(refused);
      return;  // the socket closes here
    }
  }
  if (sessions.size() >= limits.max_connections && !evict_oldest(nullptr)) {
    base::logger("ops")->debug("{}: {} connections open, refused {}", name, sessions.size(),
                               client.to_string());
    add(refused);
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (tls) {
    auto context = tls->current();
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;
    auto s = std::make_shared<Session<TlsStream>>(
        *this, TlsStream(beast::tcp_stream(std::move(socket)), *context), context);
    s->client = client;
    enlist(*s);
    s->start();
  } else {
    auto s =
        std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)), nullptr);
    s->client = client;
    enlist(*s);
    s->start();
  }
}

HttpTransport::HttpTransport(std::string name, std::vector<HttpRoute> routes, HttpLimits limits,
                             std::shared_ptr<TlsCertificate> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->routes = std::move(routes);
  impl_->limits = limits;
  impl_->tls = std::move(tls);
}

HttpTransport::~HttpTransport() {
  stop();
}

uint16_t HttpTransport::bind(const dns::ListenAddress& address) {
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("cannot listen on " + impl_->name + " " + dns::to_string(address) + ": " + why);
  };
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address.host, ec);
  if (ec) fail("not an IP address");
  const tcp::endpoint endpoint(ip, address.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);  // a quick restart past TIME_WAIT
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    a.close(ignored);
    fail(ec.message());
  }
  return a.local_endpoint().port();
}

void HttpTransport::start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->pool.emplace(impl_->limits.pool_threads);
  impl_->accept();
  impl_->loop = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

void HttpTransport::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (!impl_->started) {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    return;
  }
  asio::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    const std::vector<SessionBase*> all(impl->sessions.begin(), impl->sessions.end());
    for (SessionBase* s : all) {
      impl->delist(*s);
      s->close();
    }
  });
  impl_->pool->join();  // the handlers running finish; their answers go nowhere
  impl_->ioc.stop();
  if (impl_->loop.joinable()) impl_->loop.join();
}

size_t HttpTransport::connections() const {
  return impl_->open.load();
}

HttpTransport::Stats HttpTransport::stats() const {
  const auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  const Impl& i = *impl_;
  return {get(i.refused), get(i.evicted), get(i.timed_out), get(i.too_large), get(i.bad), get(i.busy)};
}

}  // namespace clusterdns::ops
