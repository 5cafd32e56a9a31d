// The DNS transport: UDP and TCP listeners on one io_context per worker thread, feeding a QueryHandler.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/handler.hpp"

namespace clusterdns::dns {

// An IP literal ("0.0.0.0", "::", "127.0.0.1", "::1") and a port; port 0 lets the kernel choose.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// "127.0.0.1:5353", "[::1]:5353", "[::]:53". Host names are refused: a DNS server must not need DNS to start.
// On failure returns nullopt and sets `error` to one line naming the problem.
std::optional<ListenAddress> parse_listen_address(const std::string& text, std::string& error);

// "127.0.0.1:53" or "[::1]:53", the form parse_listen_address accepts.
std::string to_string(const ListenAddress& address);

struct ServerOptions {
  std::vector<ListenAddress> listen;
  unsigned threads = 0;  // 0 = std::thread::hardware_concurrency()
  std::chrono::milliseconds tcp_idle_timeout{10000};
  size_t max_tcp_connections = 1024;  // server-wide; connections beyond it are closed on accept
  // Per client address: one client cannot take every connection (0: no cap). Near the server-wide cap the
  // accepting worker closes its least recently active connection to make room (RFC 7766 §6.2.3); workers
  // share connections evenly (SO_REUSEPORT), so that is close to the server's least recently active.
  size_t max_tcp_per_client = 128;
  // From a message's first byte to its last; a client slower than that is disconnected (slowloris).
  std::chrono::milliseconds tcp_message_timeout{1000};
};

// Totals over every worker thread; each counter is read with relaxed loads, so the sum is approximate
// while the server runs.
struct ServerStats {
  uint64_t udp_queries = 0;      // datagrams received
  uint64_t tcp_queries = 0;      // framed TCP messages received
  uint64_t dropped = 0;          // the handler returned 0 (or threw), or a datagram was truncated on receipt
  uint64_t udp_send_errors = 0;  // answers the kernel refused (full send buffer, unreachable peer)
  uint64_t tcp_accepted = 0;     // connections accepted and served
  uint64_t tcp_rejected = 0;     // closed on accept: max_tcp_connections or max_tcp_per_client reached
  uint64_t tcp_evicted = 0;      // closed near max_tcp_connections to make room (least recently active)
  uint64_t tcp_timed_out = 0;    // closed idle, or because a message did not arrive in time
  uint64_t deferred = 0;         // queries whose answer the handler sent later (forwarded)
};

// Owns the worker threads and every socket. The handler must outlive the Server.
class Server {
 public:
  Server(ServerOptions options, QueryHandler& handler);
  ~Server();  // calls stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Per-thread state to start on each worker thread before it answers, and to stop when it shuts down
  // (WorkerHooks), in the order added. Before start(); `hooks` must outlive the Server.
  void add_worker_hooks(WorkerHooks& hooks);

  // Binds every address for UDP and TCP on every worker (SO_REUSEPORT), then starts the threads.
  // Throws std::runtime_error("cannot listen on udp 127.0.0.1:53: Permission denied") and leaves nothing
  // open. Call once.
  void start();

  // Closes the listening sockets, lets TCP responses already produced finish (bounded by a short drain
  // deadline), then joins the workers. Idempotent and thread-safe (e.g. from a signal_set thread), but
  // must not be called from a worker thread, i.e. from inside the handler.
  void stop();

  // The addresses as bound, with the kernel's port where 0 was asked; one port per address for UDP, TCP
  // and every worker. Valid after start().
  std::vector<ListenAddress> bound() const;

  ServerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace clusterdns::dns
