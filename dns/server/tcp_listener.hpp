// Internal: one worker's TCP acceptor for one listen address, and the connections it accepted (RFC 7766).
#pragma once

#include <utility>  // before Asio in C++20 (STACK.md G2)

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/worker.hpp"

namespace clusterdns::dns::detail {

class TcpListener;

// One client connection: reads 2-byte-framed queries, answers them in order (pipelining), writes every
// answer produced so far in one write, closes when idle. Lives on its worker's thread only.
// A deferred answer (forwarding) holds its place: answers behind it wait in `queued_` until it completes.
class TcpConnection : public std::enable_shared_from_this<TcpConnection>, public Deferrer {
 public:
  TcpConnection(TcpListener& listener, boost::asio::ip::tcp::socket socket);

  void start();
  // Stop reading, finish answering what was already received, flush, then close (bounded by a deadline).
  void drain();
  // Before start(), for a connection accepted while closing: takes the bytes its client already sent
  // (without waiting) so that drain() answers them.
  void take_sent_bytes();
  void close();

  // Deferrer, for the query being answered.
  std::unique_ptr<PendingReply> defer() override;
  // The deferred answer to query `seq` arrived (empty: dropped). Worker thread.
  void complete(uint64_t seq, std::span<const uint8_t> message);

 private:
  // An answer that must wait for a deferred one ahead of it, or the deferred one itself.
  struct Slot {
    uint64_t seq = 0;
    bool done = false;
    std::vector<uint8_t> framed;
  };

  std::vector<uint8_t>& output_for(uint64_t seq);  // the slot of `seq`, or pending_ when none waits
  void flush_ready();                              // moves completed head slots to pending_
  void pump();  // answers complete messages, starts the write and the read that the state calls for
  void answer_buffered();
  void append_message(std::span<const uint8_t> message);
  void start_read();
  void on_read(const boost::system::error_code& ec, size_t n);
  void start_write();
  void on_write(const boost::system::error_code& ec);
  void arm_timer();
  void touch();  // a message arrived or a write completed: push the idle deadline out

  TcpListener& listener_;
  WorkerContext& worker_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::endpoint peer_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point deadline_;  // idle (or drain) deadline; the timer checks it
  std::chrono::steady_clock::time_point drain_deadline_ = std::chrono::steady_clock::time_point::max();
  std::function<void(std::span<const uint8_t>)> stream_;  // built once; handed to the handler as ctx.stream

  std::vector<uint8_t> in_;  // received bytes in [in_begin_, in_end_)
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::vector<uint8_t> pending_;    // framed answers not yet handed to the socket
  std::vector<uint8_t> in_flight_;  // framed answers being written
  bool reading_ = false;
  bool writing_ = false;
  bool accepting_ = true;   // false after a framing error or drain(): bytes read from now on are discarded
  bool peer_done_ = false;  // EOF or a read error: never read again
  bool closed_ = false;
  bool output_closed_ = false;  // an answer could not be framed: nothing more may be sent
  std::deque<Slot> queued_;     // from the oldest deferred answer not yet sent; empty on the fast path
  uint64_t next_seq_ = 0;       // sequence number of the next query read
  uint64_t current_seq_ = 0;    // the query whose answer() is running
  bool current_deferred_ = false;
  bool in_answer_ = false;  // inside answer_buffered(): complete() must not re-enter pump()
};

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

  WorkerContext& worker_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;  // after EMFILE and the like, so a failing accept does not spin
  std::unordered_set<std::shared_ptr<TcpConnection>> connections_;
  bool closed_ = false;
};

}  // namespace clusterdns::dns::detail
