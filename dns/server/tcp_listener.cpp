// TCP (RFC 7766): accept with a connection cap, 2-byte framing, in-order pipelining, idle timeouts.
#include "dns/server/tcp_listener.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/write.hpp>

namespace clusterdns::dns::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kHeaderSize = 12;                    // RFC 1035 §4.1.1: shorter is not a DNS message
constexpr size_t kInitialReadBuffer = 4096;           // grows up to one full frame (2 + 65535) when needed
constexpr size_t kMaxPending = size_t{256} * 1024;    // stop answering (and reading) until the client reads
constexpr size_t kShrinkAbove = size_t{1024} * 1024;  // give back an AXFR-sized write buffer once it is sent
constexpr auto kDrainTimeout = std::chrono::milliseconds(2000);  // stop(): bound on flushing answers
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr unsigned kMaxAcceptedAtClose = 64;  // close(): backlog connections still answered
constexpr size_t kMaxQueued = 256;  // answers waiting behind deferred ones: stop reading beyond that

bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
         ec == boost::asio::error::no_memory || ec.value() == ENFILE;
}

// A deferred answer's place in its connection's pipeline.
class TcpPendingReply : public PendingReply {
 public:
  TcpPendingReply(std::shared_ptr<TcpConnection> connection, uint64_t seq)
      : connection_(std::move(connection)), seq_(seq) {}
  ~TcpPendingReply() override {
    if (connection_) connection_->complete(seq_, {});  // dropped: later answers must not wait for it
  }
  void complete(std::span<const uint8_t> message) override {
    if (!connection_) return;
    auto connection = std::move(connection_);
    connection->complete(seq_, message);
  }

 private:
  std::shared_ptr<TcpConnection> connection_;
  uint64_t seq_;
};

}  // namespace

TcpConnection::TcpConnection(TcpListener& listener, boost::asio::ip::tcp::socket socket)
    : listener_(listener),
      worker_(listener.worker()),
      socket_(std::move(socket)),
      timer_(worker_.io),
      stream_([this](std::span<const uint8_t> message) { append_message(message); }),
      in_(kInitialReadBuffer) {
  boost::system::error_code ignored;
  peer_ = socket_.remote_endpoint(ignored);
  // Answers are whole messages written at once; Nagle would only delay pipelined ones behind an ACK.
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

void TcpConnection::start() {
  touch();
  arm_timer();
  pump();
}

void TcpConnection::drain() {
  if (closed_) return;
  answer_buffered();  // queries that fully arrived before the stop still get their answers
  accepting_ = false;
  drain_deadline_ = Clock::now() + std::min<Clock::duration>(worker_.tcp_idle_timeout, kDrainTimeout);
  deadline_ = std::min(deadline_, drain_deadline_);
  timer_.cancel();  // its handler re-arms for the earlier deadline
  pump();
}

void TcpConnection::take_sent_bytes() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return;
  const size_t n = socket_.read_some(boost::asio::buffer(in_.data() + in_end_, in_.size() - in_end_), ec);
  if (!ec) in_end_ += n;
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  worker_.tcp_open.fetch_sub(1, std::memory_order_relaxed);
  listener_.forget(shared_from_this());  // the pending handlers keep this object alive until they run
}

void TcpConnection::touch() {
  deadline_ = std::min(Clock::now() + worker_.tcp_idle_timeout, drain_deadline_);
}

void TcpConnection::arm_timer() {
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    if (self->closed_) return;
    if (Clock::now() >= self->deadline_) {
      self->worker_.log->debug("closing idle tcp connection from {}:{}", self->peer_.address().to_string(),
                               self->peer_.port());
      self->close();
      return;
    }
    self->arm_timer();  // the deadline moved (activity) or was cancelled to move closer (drain)
  });
}

void TcpConnection::pump() {
  if (closed_) return;
  answer_buffered();
  if (!writing_ && !pending_.empty()) start_write();
  if ((!accepting_ || peer_done_) && !writing_ && pending_.empty() && queued_.empty()) {
    close();
    return;
  }
  if (!peer_done_ && !reading_ && pending_.size() < kMaxPending && queued_.size() < kMaxQueued) start_read();
}

void TcpConnection::answer_buffered() {
  const std::span<uint8_t> scratch(worker_.tcp_scratch.get(), WorkerContext::kMaxMessage);
  uint64_t queries = 0;
  uint64_t dropped = 0;
  while (accepting_ && pending_.size() < kMaxPending && queued_.size() < kMaxQueued) {
    const size_t available = in_end_ - in_begin_;
    if (available < 2) break;
    const size_t length = size_t{in_[in_begin_]} << 8 | in_[in_begin_ + 1];  // RFC 7766 §8
    if (length < kHeaderSize) {
      worker_.log->debug("tcp message of {} bytes from {}:{}; closing", length, peer_.address().to_string(),
                         peer_.port());
      accepting_ = false;
      break;
    }
    if (available < 2 + length) break;
    ++queries;
    touch();
    const QueryContext ctx{Transport::Tcp, peer_.data(), static_cast<socklen_t>(peer_.size()),
                           &stream_,       this,         worker_.index};
    current_seq_ = next_seq_++;
    current_deferred_ = false;
    if (!queued_.empty()) queued_.push_back(Slot{current_seq_, false, {}});  // behind a deferred answer
    in_answer_ = true;
    const size_t answer = worker_.answer({in_.data() + in_begin_ + 2, length}, scratch, ctx);
    in_answer_ = false;
    in_begin_ += 2 + length;
    if (current_deferred_) continue;  // its PendingReply fills the slot defer() made
    if (answer == 0 || answer == kDeferred) {
      ++dropped;
    } else {
      append_message(scratch.first(answer));
    }
    if (!queued_.empty() && queued_.back().seq == current_seq_) queued_.back().done = true;
  }
  flush_ready();
  // Rewind only while no read is writing behind in_end_.
  if (!reading_ && in_begin_ == in_end_) in_begin_ = in_end_ = 0;
  if (queries > 0) WorkerCounters::add(worker_.counters.tcp_queries, queries);
  if (dropped > 0) WorkerCounters::add(worker_.counters.dropped, dropped);
}

void TcpConnection::append_message(std::span<const uint8_t> message) {
  if (output_closed_) return;  // after an unframeable message nothing more of this answer may follow
  if (message.size() > WorkerContext::kMaxMessage) {
    // Cannot be framed. Sending the rest of a transfer without it would be wrong, so end the connection.
    worker_.warn("query handler produced a {}-byte tcp message; closing the connection", message.size());
    accepting_ = false;
    output_closed_ = true;
    return;
  }
  std::vector<uint8_t>& out = output_for(current_seq_);
  const uint8_t prefix[2] = {static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
  out.insert(out.end(), prefix, prefix + 2);
  out.insert(out.end(), message.begin(), message.end());
}

std::vector<uint8_t>& TcpConnection::output_for(uint64_t seq) {
  if (queued_.empty() || seq < queued_.front().seq) return pending_;
  const uint64_t at = seq - queued_.front().seq;
  return at < queued_.size() ? queued_[at].framed : pending_;
}

void TcpConnection::flush_ready() {
  while (!queued_.empty() && queued_.front().done) {
    const std::vector<uint8_t>& framed = queued_.front().framed;
    pending_.insert(pending_.end(), framed.begin(), framed.end());
    queued_.pop_front();
  }
}

std::unique_ptr<PendingReply> TcpConnection::defer() {
  if (!current_deferred_) {
    current_deferred_ = true;
    WorkerCounters::add(worker_.counters.deferred, 1);
    if (queued_.empty() || queued_.back().seq != current_seq_)
      queued_.push_back(Slot{current_seq_, false, {}});
  }
  return std::make_unique<TcpPendingReply>(shared_from_this(), current_seq_);
}

void TcpConnection::complete(uint64_t seq, std::span<const uint8_t> message) {
  if (closed_ || queued_.empty() || seq < queued_.front().seq) return;
  const uint64_t at = seq - queued_.front().seq;
  if (at >= queued_.size() || queued_[at].done) return;
  if (message.empty()) {
    WorkerCounters::add(worker_.counters.dropped, 1);
  } else {
    const uint64_t saved = current_seq_;
    current_seq_ = seq;
    append_message(message);
    current_seq_ = saved;
  }
  queued_[at].done = true;
  flush_ready();
  if (!in_answer_) pump();
}

void TcpConnection::start_read() {
  if (in_begin_ > 0) {  // keep the partial message at the front so one frame always fits
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  if (in_end_ >= 2) {
    const size_t frame = 2 + (size_t{in_[0]} << 8 | in_[1]);
    if (in_.size() < frame) in_.resize(frame);
  }
  if (in_end_ == in_.size()) return;  // only complete, not yet answered frames here: answer them first
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t n) { self->on_read(ec, n); });
}

void TcpConnection::on_read(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec != boost::asio::error::eof) {
      worker_.log->debug("tcp read from {}:{}: {}", peer_.address().to_string(), peer_.port(), ec.message());
      close();
      return;
    }
    peer_done_ = true;  // a half-close after the last query: answer what arrived, then close
  } else if (accepting_) {
    in_end_ += n;
  }  // else: draining, the bytes are discarded so that closing does not reset the connection
  pump();
}

void TcpConnection::start_write() {
  in_flight_.swap(pending_);
  pending_.clear();
  writing_ = true;
  boost::asio::async_write(
      socket_, boost::asio::buffer(in_flight_),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) { self->on_write(ec); });
}

void TcpConnection::on_write(const boost::system::error_code& ec) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    worker_.log->debug("tcp write to {}:{}: {}", peer_.address().to_string(), peer_.port(), ec.message());
    close();
    return;
  }
  in_flight_.clear();
  if (in_flight_.capacity() > kShrinkAbove) in_flight_.shrink_to_fit();
  touch();
  pump();
}

TcpListener::TcpListener(WorkerContext& worker, boost::asio::ip::tcp::acceptor acceptor)
    : worker_(worker), acceptor_(std::move(acceptor)), backoff_(worker.io) {}

void TcpListener::start() {
  accept();
}

void TcpListener::close() {
  if (closed_) return;
  closed_ = true;
  // Connections the kernel completed but we had not accepted yet came to a server that was serving: answer
  // what their clients already sent instead of letting the close reset them (bounded).
  boost::system::error_code ec;
  acceptor_.non_blocking(true, ec);
  for (unsigned i = 0; i < kMaxAcceptedAtClose && !ec; ++i) {
    boost::asio::ip::tcp::socket socket(worker_.io);
    acceptor_.accept(socket, ec);
    if (ec) break;
    if (worker_.tcp_open.fetch_add(1, std::memory_order_relaxed) >= worker_.max_tcp_connections) {
      worker_.tcp_open.fetch_sub(1, std::memory_order_relaxed);
      break;
    }
    WorkerCounters::add(worker_.counters.tcp_accepted, 1);
    auto connection = std::make_shared<TcpConnection>(*this, std::move(socket));
    connections_.insert(connection);
    connection->take_sent_bytes();
    connection->start();
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
  const std::vector<std::shared_ptr<TcpConnection>> open(connections_.begin(), connections_.end());
  for (const auto& connection : open)
    connection->drain();
}

void TcpListener::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void TcpListener::on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
  if (closed_ || ec == boost::asio::error::operation_aborted) return;
  if (ec) {
    if (!is_resource_exhaustion(ec)) {  // e.g. the client reset before we accepted: its problem only
      worker_.log->debug("tcp accept: {}", ec.message());
      accept();
      return;
    }
    worker_.warn("tcp accept: {}; pausing accepts for {} ms", ec.message(), kAcceptBackoff.count());
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!closed_ && !wait_ec) accept();
    });
    return;
  }
  accept();
  if (worker_.tcp_open.fetch_add(1, std::memory_order_relaxed) >= worker_.max_tcp_connections) {
    worker_.tcp_open.fetch_sub(1, std::memory_order_relaxed);
    WorkerCounters::add(worker_.counters.tcp_rejected, 1);
    worker_.warn("tcp connection limit ({}) reached; closing a new connection", worker_.max_tcp_connections);
    return;  // `socket` closes here
  }
  WorkerCounters::add(worker_.counters.tcp_accepted, 1);
  auto connection = std::make_shared<TcpConnection>(*this, std::move(socket));
  connections_.insert(connection);
  connection->start();
}

}  // namespace clusterdns::dns::detail
