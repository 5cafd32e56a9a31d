// Internal: splits a TCP byte stream into 2-byte-length-prefixed DNS messages (RFC 7766 §8), with no socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace clusterdns::dns::detail {

// Holds the bytes received and not yet consumed. Its buffer grows only as bytes arrive, never to the size a
// length prefix announces (a client announcing 65,535 bytes and sending 3 costs a few kB, not 64), and
// shrinks back once a large message is consumed. Not thread-safe; one per connection.
//
// The span read_space() returns stays valid (is never moved) until commit(); next() may run meanwhile.
class FrameReader {
 public:
  enum class Status {
    Message,   // `message` is the next complete message; it stays valid until read_space()
    NeedMore,  // the next message has not fully arrived
    Invalid,   // its length is below a DNS header: the stream cannot be trusted any more
  };

  static constexpr size_t kHeaderSize = 12;       // RFC 1035 §4.1.1: shorter is not a DNS message
  static constexpr size_t kInitialBuffer = 4096;  // one read of many pipelined queries
  static constexpr size_t kMaxFrame = 2 + 65535;

  // Where the next read may write `n > 0` bytes. Empty when a complete message is buffered and the buffer is
  // full of it: answer it (next()) first. Moves the unconsumed bytes to the front, grows or shrinks:
  // afterwards capacity() <= max(kInitialBuffer, 2 * buffered()).
  std::span<uint8_t> read_space();
  // `n` bytes were written at the start of the last read_space().
  void commit(size_t n);
  // The next complete message, consuming it.
  Status next(std::span<const uint8_t>& message);

  size_t buffered() const { return end_ - begin_; }
  // Some but not all bytes of the next message are here (what a slow or hostile client leaves behind).
  bool partial() const;
  size_t capacity() const { return capacity_; }

 private:
  void reallocate(size_t capacity);

  std::unique_ptr<uint8_t[]> buffer_;
  size_t capacity_ = 0;
  size_t begin_ = 0;  // received bytes are [begin_, end_)
  size_t end_ = 0;
};

}  // namespace clusterdns::dns::detail
