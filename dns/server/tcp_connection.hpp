// Internal: one accepted TCP connection (RFC 7766): framing, pipelining, bounded buffers and deadlines.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <span>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/server/tcp_framing.hpp"
#include "dns/server/worker.hpp"

namespace clusterdns::dns::detail {

class TcpListener;

// Reads 2-byte-framed queries, answers them in order (pipelining), writes every answer produced so far in one
// write, closes when idle. Lives on its worker's thread only.
// A deferred answer (forwarding) holds its place: answers behind it wait in `queued_` until it completes.
// Bounded: at most kMaxOutput bytes of answers wait for a client that does not read (then nothing more is
// read from it), the receive buffer grows only with what arrived, and a message must arrive whole within
// the worker's tcp_message_timeout of its first byte.
class TcpConnection final : public std::enable_shared_from_this<TcpConnection>, public Deferrer {
 public:
  // `peer` was admitted by the worker's TcpLimits; close() releases it.
  TcpConnection(TcpListener& listener, boost::asio::ip::tcp::socket socket,
                const boost::asio::ip::tcp::endpoint& peer);

  void start();
  // Stop reading, finish answering what was already received, flush, then close (bounded by a deadline).
  void drain();
  // Before start(), for a connection accepted while closing: takes the bytes its client already sent
  // (without waiting) so that drain() answers them.
  void take_sent_bytes();
  void close();
  // Closed to make room (RFC 7766 §6.2.3). False when it owes a deferred answer or is already closing.
  bool evict();

  // Deferrer, for the query being answered.
  std::unique_ptr<PendingReply> defer() override;
  // The deferred answer to query `seq` arrived (empty: dropped). Worker thread.
  void complete(uint64_t seq, std::span<const uint8_t> message);

  static constexpr size_t kMaxOutput = 16 * 1024;

 private:
  // An answer that must wait for a deferred one ahead of it, or the deferred one itself.
  struct Slot {
    uint64_t seq = 0;
    bool done = false;
    std::vector<uint8_t> framed;
  };

  std::vector<uint8_t>& output_for(uint64_t seq);  // the slot of `seq`, or pending_ when none waits
  void flush_ready();                              // moves completed head slots to pending_
  bool may_answer() const;
  void pump();  // answers complete messages, starts the write and the read that the state calls for
  void answer_buffered();
  void append_message(std::span<const uint8_t> message);
  void start_read();
  void on_read(const boost::system::error_code& ec, size_t n);
  void start_write();
  void on_write(const boost::system::error_code& ec);
  void arm_timer();
  void touch();            // a message arrived or a write completed: the least recently active moves
  void update_deadline();  // the earliest of the idle, partial-message and drain deadlines
  void release_output();   // gives back the output buffers' memory when nothing waits in them

  TcpListener& listener_;
  WorkerContext& worker_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::ip::tcp::endpoint peer_;
  boost::asio::steady_timer timer_;
  std::list<TcpConnection*>::iterator activity_;  // in worker_.tcp_by_activity while open
  std::chrono::steady_clock::time_point last_active_;
  std::chrono::steady_clock::time_point partial_since_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point drain_deadline_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point deadline_;  // the earliest of the three; the timer checks it
  std::chrono::steady_clock::time_point armed_for_ = std::chrono::steady_clock::time_point::max();
  std::function<void(std::span<const uint8_t>)> stream_;  // built once; handed to the handler as ctx.stream

  FrameReader in_;
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

}  // namespace clusterdns::dns::detail
