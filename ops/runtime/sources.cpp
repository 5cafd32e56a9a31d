// Source tracking: event stamps and status.
#include "ops/runtime/sources.hpp"

#include <chrono>

namespace clusterdns::ops {

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void Sources::add(discovery::RegistrySource& source) {
  entries_.push_back({&source, std::make_unique<std::atomic<int64_t>>(0)});
}

discovery::RegistrySource::Listener Sources::listener(size_t index, std::function<void()> next) {
  std::atomic<int64_t>* stamp = entries_.at(index).last_event_ns.get();
  return [stamp, next = std::move(next)] {
    stamp->store(now_ns(), std::memory_order_relaxed);
    if (next) next();
  };
}

std::vector<SourceStatus> Sources::status() const {
  std::vector<SourceStatus> out;
  const int64_t now = now_ns();
  for (const auto& e : entries_) {
    SourceStatus s;
    s.name = e.source->name();
    s.synced = e.source->has_synced();
    s.generation = e.source->generation();
    s.restarts = e.source->restarts();
    s.health = e.source->health();
    const int64_t t = e.last_event_ns->load(std::memory_order_relaxed);
    if (t != 0) s.seconds_since_event = static_cast<double>(now - t) / 1e9;
    out.push_back(std::move(s));
  }
  return out;
}

std::shared_ptr<const discovery::RegistryState> Sources::state() const {
  if (entries_.empty()) return nullptr;
  return entries_.front().source->state();
}

}  // namespace clusterdns::ops
