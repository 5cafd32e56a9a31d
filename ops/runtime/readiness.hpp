// Source tracking (synced, generation, age of the last event) and the /ready answer, lameduck included.
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

struct Probe {
  int status = 200;
  std::string body;
};

// /ready: 200 "OK" once every source has synced; otherwise 503 naming the sources not ready, then 503 naming
// the sources whose watch went silent beyond its idle timeout (Health::silent: the API server or etcd is
// gone or half-open), until they are heard again; 503 "lameduck" from the moment SIGTERM arrives.
// Thread-safe.
class Readiness {
 public:
  explicit Readiness(const Sources& sources) : sources_(sources) {}
  Probe ready() const;
  void enter_lameduck() { lameduck_.store(true, std::memory_order_release); }
  bool lameduck() const { return lameduck_.load(std::memory_order_acquire); }

 private:
  const Sources& sources_;
  std::atomic<bool> lameduck_{false};
};

}  // namespace clusterdns::ops
