// TcpConnection: RFC 7766 framing, in-order pipelining, bounded output and input, idle and message deadlines.
#include "dns/server/tcp_connection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/write.hpp>

#include "dns/server/tcp_listener.hpp"

namespace clusterdns::dns::detail {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kDrainTimeout = std::chrono::milliseconds(2000);  // stop(): bound on flushing answers
constexpr size_t kMaxQueued = 256;        // answers waiting behind deferred ones: stop reading beyond that
constexpr size_t kKeepOutput = 4 * 1024;  // output buffer capacity an idle connection may keep

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

TcpConnection::TcpConnection(TcpListener& listener, boost::asio::ip::tcp::socket socket,
                             const boost::asio::ip::tcp::endpoint& peer)
    : listener_(listener),
      worker_(listener.worker()),
      socket_(std::move(socket)),
      peer_(peer),
      timer_(worker_.io),
      activity_(worker_.tcp_by_activity.insert(worker_.tcp_by_activity.end(), this)),
      stream_([this](std::span<const uint8_t> message) { append_message(message); }) {
  boost::system::error_code ignored;
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
  update_deadline();
  pump();
}

void TcpConnection::take_sent_bytes() {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return;
  const std::span<uint8_t> space = in_.read_space();
  const size_t n = socket_.read_some(boost::asio::buffer(space.data(), space.size()), ec);
  if (!ec) in_.commit(n);
}

void TcpConnection::close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  worker_.tcp_by_activity.erase(activity_);
  worker_.tcp_limits.release(peer_.address());
  // Freed when the last handler lets go; returned to the kernel with the next batch.
  worker_.trimmer.freed(in_.capacity() + pending_.capacity() + in_flight_.capacity());
  listener_.forget(shared_from_this());  // the pending handlers keep this object alive until they run
}

bool TcpConnection::evict() {
  if (closed_ || !accepting_ || !queued_.empty()) return false;
  worker_.log->debug("closing the least recently active tcp connection, from {}:{}, to make room",
                     peer_.address().to_string(), peer_.port());
  worker_.counters.tcp_evicted.add(1);
  close();
  return true;
}

void TcpConnection::touch() {
  last_active_ = Clock::now();
  if (!closed_)
    worker_.tcp_by_activity.splice(worker_.tcp_by_activity.end(), worker_.tcp_by_activity, activity_);
  update_deadline();
}

void TcpConnection::update_deadline() {
  // Only while waiting for the client: when its unread answers stopped us reading, the rest of the message
  // may well be in our socket buffer.
  const bool partial = in_.partial() && may_answer();
  if (!partial) {
    partial_since_ = Clock::time_point::max();
  } else if (partial_since_ == Clock::time_point::max()) {
    partial_since_ = Clock::now();
  }
  deadline_ = std::min(last_active_ + worker_.tcp_idle_timeout, drain_deadline_);
  if (partial) deadline_ = std::min(deadline_, partial_since_ + worker_.tcp_message_timeout);
  if (deadline_ < armed_for_) timer_.cancel();  // its handler re-arms for the earlier deadline
}

void TcpConnection::arm_timer() {
  armed_for_ = deadline_;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
    self->armed_for_ = Clock::time_point::max();
    if (self->closed_) return;
    if (Clock::now() >= self->deadline_) {
      const bool partial = self->in_.partial();
      self->worker_.log->debug("closing tcp connection from {}:{}: {}", self->peer_.address().to_string(),
                               self->peer_.port(), partial ? "message incomplete in time" : "idle");
      self->worker_.counters.tcp_timed_out.add(1);
      self->close();
      return;
    }
    self->arm_timer();  // the deadline moved (activity) or was cancelled to move closer
  });
}

bool TcpConnection::may_answer() const {
  // Output is bounded: a client that does not read its answers is not read either (its queries stay in the
  // kernel's buffers, and then in its own).
  return accepting_ && pending_.size() + in_flight_.size() < kMaxOutput && queued_.size() < kMaxQueued;
}

void TcpConnection::pump() {
  if (closed_) return;
  answer_buffered();
  if (!writing_ && !pending_.empty()) start_write();
  if ((!accepting_ || peer_done_) && !writing_ && pending_.empty() && queued_.empty()) {
    close();
    return;
  }
  if (!peer_done_ && !reading_ && may_answer()) start_read();
}

void TcpConnection::answer_buffered() {
  const std::span<uint8_t> scratch(worker_.tcp_scratch.get(), WorkerContext::kMaxMessage);
  uint64_t queries = 0;
  uint64_t dropped = 0;
  while (may_answer()) {
    std::span<const uint8_t> query;
    const FrameReader::Status status = in_.next(query);
    if (status == FrameReader::Status::NeedMore) break;
    if (status == FrameReader::Status::Invalid) {
      worker_.log->debug("tcp message shorter than a header from {}:{}; closing", peer_.address().to_string(),
                         peer_.port());
      accepting_ = false;
      break;
    }
    ++queries;
    const QueryContext ctx{Transport::Tcp,
                           peer_.data(),
                           static_cast<socklen_t>(peer_.size()),
                           &stream_,
                           this,
                           worker_.index,
                           nullptr,
                           {}};
    current_seq_ = next_seq_++;
    current_deferred_ = false;
    if (!queued_.empty()) queued_.push_back(Slot{current_seq_, false, {}});  // behind a deferred answer
    in_answer_ = true;
    const size_t answer = worker_.answer(query, scratch, ctx);
    in_answer_ = false;
    if (current_deferred_) continue;  // its PendingReply fills the slot defer() made
    if (answer == 0) {
      ++dropped;
    } else {
      append_message(scratch.first(answer));
    }
    if (!queued_.empty() && queued_.back().seq == current_seq_) queued_.back().done = true;
  }
  flush_ready();
  if (queries > 0) {
    touch();
    worker_.counters.tcp_queries.add(queries);
  } else {
    update_deadline();  // a partial message may have begun
  }
  if (dropped > 0) worker_.counters.dropped.add(dropped);
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
    worker_.counters.deferred.add(1);
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
    worker_.counters.dropped.add(1);
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
  const std::span<uint8_t> space = in_.read_space();
  if (space.empty()) return;  // only complete, not yet answered messages here: answer them first
  reading_ = true;
  socket_.async_read_some(
      boost::asio::buffer(space.data(), space.size()),
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
    in_.commit(n);
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
  if (pending_.empty()) release_output();
  touch();
  pump();
}

void TcpConnection::release_output() {
  const size_t held = pending_.capacity() + in_flight_.capacity();
  if (held <= kKeepOutput) return;
  std::vector<uint8_t>().swap(pending_);
  std::vector<uint8_t>().swap(in_flight_);
  worker_.trimmer.freed(held);
}

}  // namespace clusterdns::dns::detail
