// Registry state (+ static zones) → a published snapshot, on one builder thread that coalesces bursts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "discovery/model.hpp"
#include "zones/cluster_records.hpp"
#include "zones/holder.hpp"
#include "zones/zone_file.hpp"

namespace clusterdns::zones {

struct BuildConfig {
  ClusterOptions cluster;
  std::vector<ZoneFile> static_zones;
  bool keep_transfer_data = false;  // --allow-transfer given
};

// Null `state` means the registry has not synced: cluster names answer SERVFAIL, static zones serve.
// `previous`, the snapshot this one replaces, lends every answer the change did not touch. `spent`, when
// given, receives the draft the snapshot was compiled from, for the caller to free once it has published:
// freeing a large draft is a sixth of a rebuild, and no query needs to wait for it.
std::shared_ptr<const Snapshot> build_snapshot(const discovery::RegistryState* state,
                                               const BuildConfig& config, uint32_t serial,
                                               const Snapshot* previous = nullptr,
                                               std::shared_ptr<const ZoneDraft>* spent = nullptr);

struct BuildStats {
  uint64_t builds = 0;
  double last_build_seconds = 0;
  size_t last_nodes = 0;
  size_t last_reused = 0;  // names whose answers the last build copied from the snapshot before
  size_t last_bytes = 0;
};

class Rebuilder {
 public:
  using StateFn = std::function<std::shared_ptr<const discovery::RegistryState>()>;
  // Called on the rebuilder's thread right after a snapshot built from `state` was published.
  using PublishedFn = std::function<void(const discovery::RegistryState& state)>;
  Rebuilder(SnapshotHolder& holder, BuildConfig config, StateFn state, PublishedFn published = {});
  ~Rebuilder();
  // Builds once synchronously (so the server starts with a snapshot), then starts the thread.
  void start();
  // Cheap; callable from any thread. Bursts of calls coalesce into one rebuild.
  void notify();
  void stop();
  BuildStats stats() const;

 private:
  void build_now();
  void run();
  SnapshotHolder& holder_;
  BuildConfig config_;
  StateFn state_;
  PublishedFn published_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool dirty_ = false, stopping_ = false;
  uint32_t serial_ = 0;
  BuildStats stats_;
  std::thread thread_;
};

}  // namespace clusterdns::zones
