// Internal: one worker's TCP acceptor for one listen address, and the connections it accepted (RFC 7766).
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <memory>
#include <unordered_set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/tcp_connection.hpp"
#include "dns/server/worker.hpp"

namespace clusterdns::dns::detail {

// Closes the worker's least recently active connection that may be closed. False when none could be.
// Worker thread.
bool evict_least_active(WorkerContext& worker);

class TcpListener {
 public:
  TcpListener(WorkerContext& worker, boost::asio::ip::tcp::acceptor acceptor);

  void start();  // worker thread (or before the thread runs)
  void close();  // closes the acceptor and drains every connection; worker thread

  WorkerContext& worker() { return worker_; }
  void forget(const std::shared_ptr<TcpConnection>& connection) { connections_.erase(connection); }

 private:
  void accept();
  void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
  // Counts `socket` against the server-wide and per-client caps, evicting near the cap; null when refused.
  std::shared_ptr<TcpConnection> admit(boost::asio::ip::tcp::socket& socket, bool evict);

  WorkerContext& worker_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;  // after EMFILE and the like, so a failing accept does not spin
  std::unordered_set<std::shared_ptr<TcpConnection>> connections_;
  bool closed_ = false;
};

}  // namespace clusterdns::dns::detail
