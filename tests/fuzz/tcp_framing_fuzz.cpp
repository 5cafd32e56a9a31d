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

// RFC 7766 §8 over the whole stream at once: the complete messages, and whether a too-short one ends it.
std::vector<Bytes> reference(const Bytes& stream, bool& invalid) {
  std::vector<Bytes> out;
  size_t at = 0;
  invalid = false;
  while (stream.size() - at >= 2) {
    const size_t length = size_t{stream[at]} << 8 | stream[at + 1];
    if (length < FrameReader::kHeaderSize) {
      invalid = true;
      break;
    }
    if (stream.size() - at - 2 < length) break;
    out.emplace_back(stream.begin() + static_cast<long>(at + 2),
                     stream.begin() + static_cast<long>(at + 2 + length));
    at += 2 + length;
  }
  return out;
}

}  // namespace

// Input: operations. An operation byte with the high bit set takes every complete message (as an answering
// connection does); otherwise it delivers a chunk: (op & 0x3f) + 1 bytes copied from the input, or with
// 0x40 that many times 64 copies of the next input byte (large messages from a small input).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FrameReader reader;
  Bytes stream;  // every byte committed
  std::vector<Bytes> got;
  bool invalid = false;
  const auto take_messages = [&] {
    for (;;) {
      std::span<const uint8_t> message;
      const FrameReader::Status status = reader.next(message);
      if (status == FrameReader::Status::NeedMore) return;
      if (status == FrameReader::Status::Invalid) {
        invalid = true;
        return;
      }
      check(message.size() >= FrameReader::kHeaderSize);
      got.emplace_back(message.begin(), message.end());
    }
  };
  size_t i = 0;
  while (i < size && !invalid) {
    const uint8_t op = data[i++];
    if (op & 0x80) {
      take_messages();
      continue;
    }
    Bytes chunk;
    const size_t n = (op & 0x3f) + 1u;
    if (op & 0x40) {
      if (i >= size) break;
      chunk.assign(n * 64, data[i++]);
    } else {
      const size_t len = n < size - i ? n : size - i;
      chunk.assign(data + i, data + i + len);
      i += len;
    }
    size_t offset = 0;
    while (offset < chunk.size() && !invalid) {
      std::span<uint8_t> space = reader.read_space();
      check(reader.capacity() <= FrameReader::kInitialBuffer || reader.capacity() <= 2 * reader.buffered());
      if (space.empty()) {  // only when a complete message fills the buffer
        check(!reader.partial() && reader.buffered() > 0);
        take_messages();
        continue;
      }
      const size_t len = space.size() < chunk.size() - offset ? space.size() : chunk.size() - offset;
      std::memcpy(space.data(), chunk.data() + offset, len);
      reader.commit(len);
      stream.insert(stream.end(), chunk.begin() + static_cast<long>(offset),
                    chunk.begin() + static_cast<long>(offset + len));
      offset += len;
    }
  }
  if (!invalid) take_messages();
  bool want_invalid = false;
  const std::vector<Bytes> want = reference(stream, want_invalid);
  check(got == want);
  check(invalid == want_invalid);
  if (!invalid) check(reader.partial() == (reader.buffered() > 0));
  return 0;
}
