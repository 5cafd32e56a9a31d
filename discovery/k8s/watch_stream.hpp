// Splitting a watch response into events: chunks are not messages (cpp-httplib's ContentReceiver
// hands over pieces of about 4 KiB), lines are (the API's watch protocol: one JSON event per line).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace clusterdns::discovery::k8s {

// Buffers body pieces and hands out complete '\n'-terminated lines ('\r' and blank lines dropped).
// A partial line left when the stream ends is never handed out: discard() drops it.
class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}
  // Calls on_line for each completed line; stops early (returning false) when on_line returns false or
  // a line grows past max_line (then overflowed() is true).
  bool feed(const char* data, std::size_t n, const std::function<bool(std::string&)>& on_line);
  // Bytes of an incomplete line held back.
  std::size_t pending() const { return buffer_.size(); }
  bool overflowed() const { return overflowed_; }
  void discard() { buffer_.clear(); }

 private:
  std::size_t max_line_;
  std::string buffer_;
  bool overflowed_ = false;
};

}  // namespace clusterdns::discovery::k8s
