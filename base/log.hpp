// One registry of named loggers ("dns", "zones", "discovery", "ops", "query", "main", …) and a rate-limited
// warning for paths a client can drive.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace clusterdns::base {

// The logger called `name`: the registered one, else a new one on stderr with the process's format and
// level (spdlog's global formatter and level, which ops::setup_logging and a reload set). Any thread; never
// null. Takes spdlog's registry lock: keep the pointer rather than calling this per query.
std::shared_ptr<spdlog::logger> logger(const std::string& name);

// At most `burst` messages per `window`; the rest are counted and the count goes out with the next message
// allowed. One per thread (not thread-safe).
class RateLimitedLog {
 public:
  RateLimitedLog(unsigned burst, std::chrono::steady_clock::duration window)
      : burst_(burst), window_(window) {}

  // True when a message may be written now; `suppressed` is then how many were dropped since the last one.
  bool allow(uint64_t& suppressed) {
    const auto now = std::chrono::steady_clock::now();
    if (!started_ || now - window_start_ >= window_) {
      started_ = true;
      window_start_ = now;
      in_window_ = 0;
    }
    if (++in_window_ > burst_) {
      ++suppressed_;
      return false;
    }
    suppressed = std::exchange(suppressed_, 0);
    return true;
  }

  template <typename... Args>
  void warn(spdlog::logger& log, spdlog::format_string_t<Args...> format, Args&&... args) {
    uint64_t suppressed = 0;
    if (!allow(suppressed)) return;
    log.warn(format, std::forward<Args>(args)...);
    if (suppressed > 0) log.warn("({} similar messages suppressed)", suppressed);
  }

 private:
  const unsigned burst_;
  const std::chrono::steady_clock::duration window_;
  bool started_ = false;
  std::chrono::steady_clock::time_point window_start_{};
  unsigned in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace clusterdns::base
