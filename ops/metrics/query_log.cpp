// The logger thread of the sampled query log.
#include "ops/metrics/query_log.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string_view>

#include "base/log.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns::ops {

namespace {

std::string type_text(uint16_t t) {
  const size_t slot = type_slot(t);
  if (slot + 1 < kTypeSlots) return type_label(slot);
  return "TYPE" + std::to_string(t);
}

}  // namespace

std::string format_query_log(const QueryLogEntry& e) {
  const std::string addr = e.peer ? e.peer->text() : "-";
  const bool v6 = e.peer && e.peer->is_v6();
  const std::string name =
      e.qname_len
          ? dns::wire::name_to_text(std::string_view(reinterpret_cast<const char*>(e.qname), e.qname_len))
          : "-";
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.6fs", static_cast<double>(e.duration_ns) / 1e9);
  std::string out;
  out.reserve(128);
  out += v6 ? "[" : "";
  out += addr;
  out += v6 ? "]:" : ":";
  out += std::to_string(e.port) + " - " + std::to_string(e.id) + " \"" + type_text(e.qtype) + " IN " + name +
         " " + (e.tcp ? "tcp" : "udp") + " " + std::to_string(e.request_size) + "\" ";
  if (e.answered) {
    out += rcode_label(e.rcode) + " " + std::to_string(e.response_size) + " " + duration;
  } else {
    out += "- 0 " + std::string(duration) + " (no answer yet: dropped or deferred)";
  }
  return out;
}

void QueryLog::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock held(mutex_);
    while (!stopping_) {
      cv_.wait_for(held, std::chrono::milliseconds(100), [this] { return stopping_; });
      held.unlock();
      drain();
      held.lock();
    }
  });
}

void QueryLog::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  drain();
}

size_t QueryLog::drain() {
  std::lock_guard drain_lock(drain_mutex_);
  auto log = base::logger("query");
  size_t n = 0;
  std::lock_guard lock(owner_.mutex_);  // the block list; the query threads never take it after registering
  for (auto& [thread, block] : owner_.blocks_) {
    n += block->ring.drain([&](const QueryLogEntry& e) { log->info("{}", format_query_log(e)); });
  }
  logged_.fetch_add(n, std::memory_order_relaxed);
  return n;
}

}  // namespace clusterdns::ops
