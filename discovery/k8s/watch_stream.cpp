// LineSplitter: newline framing for watch streams.
#include "discovery/k8s/watch_stream.hpp"

namespace clusterdns::discovery::k8s {

bool LineSplitter::feed(const char* data, std::size_t n, const std::function<bool(std::string&)>& on_line) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (data[i] != '\n') continue;
    buffer_.append(data + start, i - start);
    start = i + 1;
    if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
    if (buffer_.empty()) continue;
    std::string line;
    line.swap(buffer_);
    if (!on_line(line)) return false;
  }
  buffer_.append(data + start, n - start);
  if (buffer_.size() > max_line_) {
    overflowed_ = true;
    buffer_.clear();
    return false;
  }
  return true;
}

}  // namespace clusterdns::discovery::k8s
