// libFuzzer target: the TCP framing of dns/server (FrameReader) fed a stream in arbitrary chunks, checked
// against a reference splitter: the same messages in the same order, and a buffer that follows what arrived.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dns/server/tcp_framing.hpp"

using clusterdns::dns::detail::FrameReader;

namespace {

using Bytes = std::vector<uint8_t>;

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

// Input: operations. An operation byte with the high bit set takes every complete message (as an answering
// connection does); otherwise it delivers a chunk: (op & 0x3f) + 1 bytes copied from the input, or with
// 0x40 that many times 64 copies of the next input byte (large messages from a small input).
// Every message taken is checked against the bytes delivered so far (RFC 7766 §8 applied to the whole
// stream at once); at the end, no complete message may be left behind and a too-short one must have been
// reported.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FrameReader reader;
  Bytes stream;      // every byte committed
  size_t taken = 0;  // the stream offset of the next message
  bool invalid = false;
  const auto take_messages = [&] {
    for (;;) {
      std::span<const uint8_t> message;
      const FrameReader::Status status = reader.next(message);
      const size_t left = stream.size() - taken;
      const size_t length = left >= 2 ? (size_t{stream[taken]} << 8 | stream[taken + 1]) : 0;
      if (status == FrameReader::Status::NeedMore) {
        check(left < 2 || (length >= FrameReader::kHeaderSize && left < 2 + length));
        check(reader.buffered() == left);
        return;
      }
      if (status == FrameReader::Status::Invalid) {
        check(left >= 2 && length < FrameReader::kHeaderSize);
        invalid = true;
        return;
      }
      check(left >= 2 + length && message.size() == length);
      check(std::memcmp(message.data(), stream.data() + taken + 2, length) == 0);
      taken += 2 + length;
    }
  };
  // One largest message and a few after it are enough; more would only slow every execution (and the
  // replays).
  constexpr size_t kMaxStream = FrameReader::kMaxFrame + 2 * FrameReader::kInitialBuffer;
  size_t i = 0;
  while (i < size && !invalid && stream.size() < kMaxStream) {
    const uint8_t op = data[i++];
    if (op & 0x80) {
      take_messages();
      continue;
    }
    const size_t n = (op & 0x3f) + 1u;
    size_t len = 0;
    uint8_t fill = 0;
    const uint8_t* copy = nullptr;
    if (op & 0x40) {
      if (i >= size) break;
      fill = data[i++];
      len = n * 64;
    } else {
      len = n < size - i ? n : size - i;
      copy = data + i;
      i += len;
    }
    size_t offset = 0;
    while (offset < len && !invalid) {
      std::span<uint8_t> space = reader.read_space();
      check(reader.capacity() <= FrameReader::kInitialBuffer || reader.capacity() <= 2 * reader.buffered());
      if (space.empty()) {  // only when a complete message fills the buffer
        check(!reader.partial() && reader.buffered() > 0);
        take_messages();
        continue;
      }
      const size_t part = space.size() < len - offset ? space.size() : len - offset;
      if (copy != nullptr) {
        std::memcpy(space.data(), copy + offset, part);
      } else {
        std::memset(space.data(), fill, part);
      }
      stream.insert(stream.end(), space.begin(), space.begin() + static_cast<long>(part));
      reader.commit(part);
      offset += part;
    }
  }
  if (!invalid) take_messages();
  if (!invalid) check(reader.partial() == (reader.buffered() > 0));
  return 0;
}
