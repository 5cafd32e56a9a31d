// FrameReader: RFC 7766 §8 framing with a buffer that follows what arrived, not what was announced.
#include "dns/server/tcp_framing.hpp"

#include <algorithm>
#include <cstring>

namespace clusterdns::dns::detail {
namespace {

size_t frame_size(const uint8_t* prefix) {
  return 2 + (size_t{prefix[0]} << 8 | prefix[1]);
}

}  // namespace

bool FrameReader::partial() const {
  const size_t available = buffered();
  if (available == 0) return false;
  return available < 2 || available < frame_size(buffer_.get() + begin_);
}

std::span<uint8_t> FrameReader::read_space() {
  const size_t available = buffered();
  if (begin_ > 0) {  // keep the next message at the front so that it always fits
    if (available > 0) std::memmove(buffer_.get(), buffer_.get() + begin_, available);
    begin_ = 0;
    end_ = available;
  }
  // What the next message needs; unknown before its prefix, so one ordinary read's worth.
  const size_t needed = available >= 2 ? std::max(frame_size(buffer_.get()), kInitialBuffer) : kInitialBuffer;
  if (capacity_ < kInitialBuffer) {
    reallocate(kInitialBuffer);
  } else if (end_ == capacity_ && capacity_ < needed) {
    // Full of a message that has not fully arrived: double, bounded by what it announced.
    reallocate(std::min(needed, capacity_ * 2));
  } else if (capacity_ > kInitialBuffer && capacity_ > 2 * available) {
    // A large message was consumed: give the memory back, keeping what is buffered.
    reallocate(std::max({kInitialBuffer, available, std::min(needed, 2 * available)}));
  }
  // Either way the buffer now holds at most twice what the client actually sent (or kInitialBuffer).
  return {buffer_.get() + end_, capacity_ - end_};
}

void FrameReader::commit(size_t n) {
  end_ += std::min(n, capacity_ - end_);
}

FrameReader::Status FrameReader::next(std::span<const uint8_t>& message) {
  const size_t available = buffered();
  if (available < 2) return Status::NeedMore;
  const size_t frame = frame_size(buffer_.get() + begin_);
  if (frame - 2 < kHeaderSize) return Status::Invalid;
  if (available < frame) return Status::NeedMore;
  message = {buffer_.get() + begin_ + 2, frame - 2};
  begin_ += frame;  // never rewound here: a read may be writing behind end_ (read_space() compacts)
  return Status::Message;
}

void FrameReader::reallocate(size_t capacity) {
  if (capacity == capacity_) return;
  std::unique_ptr<uint8_t[]> bigger(new uint8_t[capacity]);  // default-initialised: no page touched yet
  if (end_ > begin_) std::memcpy(bigger.get(), buffer_.get() + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  buffer_ = std::move(bigger);
  capacity_ = capacity;
}

}  // namespace clusterdns::dns::detail
