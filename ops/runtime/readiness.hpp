// The /ready answer: every source synced and heard from, lameduck included.
#pragma once

#include <atomic>
#include <string>

#include "ops/runtime/sources.hpp"

namespace clusterdns::ops {

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
