// dns/server FrameReader: RFC 7766 §8 framing without sockets, and a buffer that follows what arrived.
#include "dns/server/tcp_framing.hpp"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace clusterdns::dns::detail {
namespace {

using Bytes = std::vector<uint8_t>;

void deliver(FrameReader& reader, const Bytes& bytes) {
  size_t at = 0;
  while (at < bytes.size()) {
    const std::span<uint8_t> space = reader.read_space();
    ASSERT_FALSE(space.empty());
    const size_t n = std::min(space.size(), bytes.size() - at);
    std::memcpy(space.data(), bytes.data() + at, n);
    reader.commit(n);
    at += n;
  }
}

Bytes frame(size_t length, uint8_t fill) {
  Bytes out(2 + length, fill);
  out[0] = static_cast<uint8_t>(length >> 8);
  out[1] = static_cast<uint8_t>(length);
  return out;
}

TEST(FrameReader, SplitsPipelinedMessagesAcrossReads) {
  FrameReader reader;
  Bytes stream = frame(20, 1);
  const Bytes second = frame(300, 2);
  stream.insert(stream.end(), second.begin(), second.end());
  std::span<const uint8_t> message;
  deliver(reader, Bytes(stream.begin(), stream.begin() + 1));  // half a length prefix
  EXPECT_TRUE(reader.partial());
  EXPECT_EQ(reader.next(message), FrameReader::Status::NeedMore);
  deliver(reader, Bytes(stream.begin() + 1, stream.begin() + 100));
  ASSERT_EQ(reader.next(message), FrameReader::Status::Message);
  EXPECT_EQ(Bytes(message.begin(), message.end()), Bytes(20, 1));
  EXPECT_EQ(reader.next(message), FrameReader::Status::NeedMore);
  deliver(reader, Bytes(stream.begin() + 100, stream.end()));
  ASSERT_EQ(reader.next(message), FrameReader::Status::Message);
  EXPECT_EQ(Bytes(message.begin(), message.end()), Bytes(300, 2));
  EXPECT_FALSE(reader.partial());
}

TEST(FrameReader, ShorterThanAHeaderIsInvalid) {
  FrameReader reader;
  deliver(reader, Bytes{0, 11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  std::span<const uint8_t> message;
  EXPECT_EQ(reader.next(message), FrameReader::Status::Invalid);
}

TEST(FrameReader, AnnouncedSizeIsNotAllocated) {
  FrameReader reader;
  deliver(reader, Bytes{0xff, 0xff, 1, 2, 3});
  EXPECT_EQ(reader.capacity(), FrameReader::kInitialBuffer);
  const Bytes big = frame(65535, 7);
  FrameReader growing;
  size_t sent = 0;
  for (; sent + 1000 < big.size(); sent += 1000) {
    deliver(growing,
            Bytes(big.begin() + static_cast<long>(sent), big.begin() + static_cast<long>(sent + 1000)));
    EXPECT_LE(growing.capacity(), std::max(FrameReader::kInitialBuffer, 2 * growing.buffered())) << sent;
  }
  deliver(growing, Bytes(big.begin() + static_cast<long>(sent), big.end()));
  EXPECT_EQ(growing.capacity(), FrameReader::kMaxFrame);
  std::span<const uint8_t> message;
  ASSERT_EQ(growing.next(message), FrameReader::Status::Message);
  EXPECT_EQ(message.size(), 65535u);
  growing.read_space();  // consumed: the 64 kB go back
  EXPECT_EQ(growing.capacity(), FrameReader::kInitialBuffer);
}

TEST(FrameReader, FullOfCompleteMessagesAsksToAnswerFirst) {
  FrameReader reader;
  Bytes stream;
  for (size_t i = 0; i < FrameReader::kInitialBuffer / 128; ++i) {
    const Bytes f = frame(126, 3);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  deliver(reader, stream);
  EXPECT_TRUE(reader.read_space().empty());  // no read until an answer makes room
  std::span<const uint8_t> message;
  ASSERT_EQ(reader.next(message), FrameReader::Status::Message);
  EXPECT_EQ(reader.read_space().size(), 128u);
  int count = 1;
  while (reader.next(message) == FrameReader::Status::Message)
    ++count;
  EXPECT_EQ(count, static_cast<int>(FrameReader::kInitialBuffer / 128));
}

}  // namespace
}  // namespace clusterdns::dns::detail
