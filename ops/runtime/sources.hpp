// The registry sources the server depends on, tracked: synced, generation, age of the last event, health.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/source.hpp"

namespace clusterdns::ops {

struct SourceStatus {
  std::string name;
  bool synced = false;
  uint64_t generation = 0;
  double seconds_since_event = -1;  // since the source last announced a change; -1 before the first one
  discovery::RegistrySource::Restarts restarts;
  discovery::RegistrySource::Health health;
};

// The registry sources the server depends on. Add every source before any of them starts.
class Sources {
 public:
  void add(discovery::RegistrySource& source);
  // A listener for the source added as number `index`: stamps the event time, then calls `next` (e.g. the
  // rebuilder's notify). Runs on the source's thread; lock-free.
  discovery::RegistrySource::Listener listener(size_t index, std::function<void()> next);
  std::vector<SourceStatus> status() const;
  // The registry state of the first source (the server's registry); null before it synced.
  std::shared_ptr<const discovery::RegistryState> state() const;

 private:
  struct Entry {
    discovery::RegistrySource* source;
    std::unique_ptr<std::atomic<int64_t>> last_event_ns;  // steady_clock; 0 = never
  };
  std::vector<Entry> entries_;
};

}  // namespace clusterdns::ops
