// Server: binds every listen address on every worker (SO_REUSEPORT), runs one io_context per thread.
#include "dns/server/server.hpp"

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <pthread.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "base/log.hpp"
#include "dns/server/tcp_listener.hpp"
#include "dns/server/udp_listener.hpp"
#include "dns/server/worker.hpp"

namespace clusterdns::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Port 0: how many kernel-chosen TCP ports to try before giving up on finding one whose UDP twin is free.
constexpr int kEphemeralPortAttempts = 32;

// IPv6 sockets are V6ONLY so that 0.0.0.0:53 and [::]:53 can be bound side by side. SO_REUSEADDR is for
// TCP only: a restart must not wait for TIME_WAIT, while on UDP it would let another socket take the port.
template <typename Socket, typename Endpoint>
boost::system::error_code open_and_bind(Socket& socket, const Endpoint& endpoint, bool reuse_port,
                                        bool reuse_address = false) {
  boost::system::error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6()) socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec && reuse_address) socket.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && reuse_port) socket.set_option(ReusePort(true), ec);
  if (!ec) socket.bind(endpoint, ec);
  return ec;
}

boost::system::error_code open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  boost::system::error_code ec = open_and_bind(acceptor, endpoint, true, true);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

struct Failure {
  const char* protocol;
  boost::system::error_code ec;
};

}  // namespace

namespace detail {

struct Worker {
  Worker(unsigned index, QueryHandler& handler, const std::vector<WorkerHooks*>& worker_hooks,
         std::shared_ptr<spdlog::logger> log, const ServerOptions& options, detail::TcpLimits& limits)
      : ctx(index, handler, std::move(log), options.tcp_idle_timeout, options.tcp_message_timeout, limits),
        hooks(worker_hooks) {}

  void shutdown() {  // worker thread
    for (auto& listener : udp_listeners)
      listener->close();
    for (auto& listener : tcp_listeners)
      listener->close();
    ctx.trimmer.close();
    // After the listeners: the handler fails or drops what it still owes, which lets draining TCP
    // connections finish, and cancels its timers and sockets so that io.run() returns.
    for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) {
      try {
        (*it)->stop_worker(ctx.index);
      } catch (const std::exception& e) {
        ctx.log->error("stopping the query handler on worker {}: {}", ctx.index, e.what());
      }
    }
  }

  void start() {  // worker thread, before io.run()
    for (WorkerHooks* h : hooks) {
      try {
        h->start_worker(ctx.index, ctx.io);
      } catch (const std::exception& e) {
        ctx.log->error("dns-worker-{}: starting the query handler: {}", ctx.index, e.what());
      }
    }
  }

  detail::WorkerContext ctx;  // first: its io_context must outlive every socket below
  detail::UdpBatch batch;
  std::vector<std::unique_ptr<detail::UdpListener>> udp_listeners;
  std::vector<std::unique_ptr<detail::TcpListener>> tcp_listeners;
  std::thread thread;
  const std::vector<WorkerHooks*>& hooks;  // the server's, fixed before start()
};

}  // namespace detail

using detail::Worker;

struct Server::Impl {
  // One address's sockets, one per worker, before they are handed to listeners.
  struct Sockets {
    std::vector<udp::socket> udp_sockets;
    std::vector<tcp::acceptor> acceptors;
  };

  Impl(ServerOptions o, QueryHandler& h)
      : options(std::move(o)),
        handler(h),
        log(base::logger("dns")),
        tcp_limits(options.max_tcp_connections, options.max_tcp_per_client) {}

  std::optional<Failure> open_all(const asio::ip::address& ip, uint16_t port, Sockets& out);
  uint16_t bind_address(const ListenAddress& address);
  void start_threads();

  ServerOptions options;
  QueryHandler& handler;
  std::vector<WorkerHooks*> hooks;
  std::shared_ptr<spdlog::logger> log;
  detail::TcpLimits tcp_limits;                  // before the workers, whose connections release into it
  std::vector<std::unique_ptr<Worker>> workers;  // fixed once start() returns
  std::vector<ListenAddress> bound;
  std::mutex lifecycle;  // serialises start() and stop()
  bool started = false;
  bool stopped = false;
};

// Opens whatever `out` still lacks: UDP then TCP, one socket per worker.
std::optional<Failure> Server::Impl::open_all(const asio::ip::address& ip, uint16_t port, Sockets& out) {
  while (out.udp_sockets.size() < workers.size()) {
    udp::socket socket(workers[out.udp_sockets.size()]->ctx.io);
    if (auto ec = open_and_bind(socket, udp::endpoint(ip, port), true)) return Failure{"udp", ec};
    out.udp_sockets.push_back(std::move(socket));
  }
  while (out.acceptors.size() < workers.size()) {
    tcp::acceptor acceptor(workers[out.acceptors.size()]->ctx.io);
    if (auto ec = open_acceptor(acceptor, tcp::endpoint(ip, port))) return Failure{"tcp", ec};
    out.acceptors.push_back(std::move(acceptor));
  }
  return std::nullopt;
}

uint16_t Server::Impl::bind_address(const ListenAddress& address) {
  const auto fail = [&](const char* protocol, const std::string& why) {
    return std::runtime_error("cannot listen on " + std::string(protocol) + " " + to_string(address) + ": " +
                              why);
  };
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (ec) throw fail("udp", "not an IP address");

  Sockets sockets;
  uint16_t port = address.port;
  if (port != 0) {
    if (auto failure = open_all(ip, port, sockets)) throw fail(failure->protocol, failure->ec.message());
  } else {
    // The kernel picks a TCP port no other TCP socket holds (port 0 ignores SO_REUSEPORT sharing); the
    // same number must then be free for UDP too, which a probe without SO_REUSEPORT checks, since a
    // reuseport UDP bind would silently join another process's group.
    bool done = false;
    for (int attempt = 0; attempt < kEphemeralPortAttempts && !done; ++attempt) {
      sockets = {};
      tcp::acceptor first(workers[0]->ctx.io);
      if (auto first_ec = open_acceptor(first, tcp::endpoint(ip, 0))) throw fail("tcp", first_ec.message());
      port = first.local_endpoint().port();
      udp::socket probe(workers[0]->ctx.io);
      if (auto probe_ec = open_and_bind(probe, udp::endpoint(ip, port), false)) {
        if (probe_ec == asio::error::address_in_use) continue;
        throw fail("udp", probe_ec.message());
      }
      probe.close();
      sockets.acceptors.push_back(std::move(first));
      const auto failure = open_all(ip, port, sockets);
      if (failure && failure->ec != asio::error::address_in_use) {
        throw fail(failure->protocol, failure->ec.message());
      }
      done = !failure;
    }
    if (!done) throw fail("udp", "no ephemeral port was free for both udp and tcp");
  }

  const bool wildcard = ip.is_unspecified();
  for (size_t w = 0; w < workers.size(); ++w) {
    Worker& worker = *workers[w];
    sockets.udp_sockets[w].non_blocking(true);
    worker.udp_listeners.push_back(std::make_unique<detail::UdpListener>(
        worker.ctx, worker.batch, std::move(sockets.udp_sockets[w]), wildcard));
    worker.tcp_listeners.push_back(
        std::make_unique<detail::TcpListener>(worker.ctx, std::move(sockets.acceptors[w])));
  }
  return port;
}

void Server::Impl::start_threads() {
  for (size_t w = 0; w < workers.size(); ++w) {
    Worker* worker = workers[w].get();
    worker->thread = std::thread([worker, w, log = log] {
      const std::string name = "dns-worker-" + std::to_string(w);
      pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
      worker->start();
      for (;;) {
        try {
          worker->ctx.io.run();  // returns once stop() closed everything and the last answer is flushed
          return;
        } catch (const std::exception& e) {
          log->error("{}: unexpected exception, continuing: {}", name, e.what());
        }
      }
    });
  }
}

Server::Server(ServerOptions options, QueryHandler& handler)
    : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() {
  stop();
}

void Server::add_worker_hooks(WorkerHooks& hooks) {
  std::lock_guard lock(impl_->lifecycle);
  if (impl_->started) throw std::logic_error("Server::add_worker_hooks after start()");
  impl_->hooks.push_back(&hooks);
}

void Server::start() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle);
  if (s.started) throw std::logic_error("Server::start() called twice");
  if (s.options.listen.empty()) throw std::runtime_error("no listen address configured");
  unsigned threads = s.options.threads != 0 ? s.options.threads : std::thread::hardware_concurrency();
  threads = std::max(threads, 1u);
  try {
    for (unsigned i = 0; i < threads; ++i) {
      s.workers.push_back(std::make_unique<Worker>(i, s.handler, s.hooks, s.log, s.options, s.tcp_limits));
      s.tcp_limits.evict_on.push_back([w = s.workers.back().get()] {
        asio::post(w->ctx.io, [w] { detail::evict_least_active(w->ctx); });
      });
    }
    for (const ListenAddress& address : s.options.listen) {
      s.bound.push_back({address.host, s.bind_address(address)});
    }
  } catch (...) {
    s.workers.clear();  // no thread ran yet: closing every socket is all there is to undo
    s.tcp_limits.evict_on.clear();
    s.bound.clear();
    throw;
  }
  for (auto& worker : s.workers) {
    for (auto& listener : worker->udp_listeners)
      listener->start();
    for (auto& listener : worker->tcp_listeners)
      listener->start();
  }
  s.started = true;
  s.start_threads();
  for (const ListenAddress& address : s.bound) {
    s.log->info("listening on udp+tcp {} with {} worker threads", to_string(address), threads);
  }
}

void Server::stop() {
  Impl& s = *impl_;
  std::lock_guard lock(s.lifecycle);
  if (!s.started || s.stopped) return;
  s.stopped = true;
  for (auto& worker : s.workers) {
    asio::post(worker->ctx.io, [w = worker.get()] { w->shutdown(); });
  }
  for (auto& worker : s.workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

std::vector<ListenAddress> Server::bound() const {
  return impl_->bound;
}

ServerStats Server::stats() const {
  ServerStats total;
  const auto read = [](const base::Counter& c) { return c.load(); };
  for (const auto& worker : impl_->workers) {
    const detail::WorkerCounters& c = worker->ctx.counters;
    total.udp_queries += read(c.udp_queries);
    total.tcp_queries += read(c.tcp_queries);
    total.dropped += read(c.dropped);
    total.udp_send_errors += read(c.udp_send_errors);
    total.tcp_accepted += read(c.tcp_accepted);
    total.tcp_rejected += read(c.tcp_rejected);
    total.tcp_evicted += read(c.tcp_evicted);
    total.tcp_timed_out += read(c.tcp_timed_out);
    total.deferred += read(c.deferred);
  }
  return total;
}

}  // namespace clusterdns::dns
