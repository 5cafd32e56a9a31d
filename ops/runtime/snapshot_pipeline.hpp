// The snapshot rebuilder, reconfigurable at run time (--domain, --ttl, --pods, --zone-file on reload).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "zones/builder.hpp"

namespace clusterdns::ops {

// Owns a zones::Rebuilder; reconfigure() replaces it with one for the new BuildConfig. The query threads keep
// answering from the published snapshot throughout: the new one replaces it atomically when built.
class SnapshotPipeline {
 public:
  SnapshotPipeline(zones::SnapshotHolder& holder, zones::BuildConfig config, zones::Rebuilder::StateFn state,
                   zones::Rebuilder::PublishedFn published = {});
  ~SnapshotPipeline();
  // Builds once (published before it returns), then follows notify(). Call once.
  void start();
  // Any thread (the sources' listeners): a rebuild soon; bursts coalesce.
  void notify();
  // Stops the current rebuilder (finishing a build in progress), then builds and publishes with `config`
  // before returning; changes announced meanwhile are covered by that build. Any thread but a listener's.
  void reconfigure(zones::BuildConfig config);
  void stop();
  // Builds are counted across reconfigurations; the rest describes the last build.
  zones::BuildStats stats() const;
  uint64_t generation() const { return holder_.generation(); }
  zones::BuildConfig config() const;

 private:
  zones::SnapshotHolder& holder_;
  const zones::Rebuilder::StateFn state_;
  const zones::Rebuilder::PublishedFn published_;
  std::shared_ptr<zones::Rebuilder> current() const;

  mutable std::mutex lifecycle_;  // start/reconfigure/stop; held through a build
  zones::BuildConfig config_;     // guarded by lifecycle_
  bool started_ = false, stopped_ = false;
  mutable std::mutex pointer_;  // guards current_ and builds_before_ only: never held through a build
  std::shared_ptr<zones::Rebuilder> current_;
  uint64_t builds_before_ = 0;
  std::atomic<uint64_t> notifies_{0};
};

}  // namespace clusterdns::ops
