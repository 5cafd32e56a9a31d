// Registry state (+ static zones) → a published snapshot, on one builder thread that coalesces bursts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "discovery/model.hpp"
#include "zones/cluster_records.hpp"
#include "zones/clusterset_records.hpp"
#include "zones/external_records.hpp"
#include "zones/holder.hpp"
#include "zones/zone_file.hpp"

namespace clusterdns::zones {

struct BuildConfig {
  ClusterOptions cluster;
  std::vector<ZoneFile> static_zones;
  bool keep_transfer_data = false;  // --allow-transfer given
};

// The registry compiled into snapshots, one change at a time (builder thread only). Keeps the draft and the
// registry state of the last update: the next update diffs the new state against it (ObjectTable::diff
// skips every chunk the two share), rewrites the records of the objects that changed, and compiles the
// names whose records changed. A change costs what it touched, not the size of the cluster.
class ZoneBuilder {
 public:
  explicit ZoneBuilder(BuildConfig config);
  // Null `state`: the registry has not synced; cluster names answer SERVFAIL, static zones serve.
  std::shared_ptr<const Snapshot> update(std::shared_ptr<const discovery::RegistryState> state,
                                         uint32_t serial);
  // How long the last update spent diffing the states and rewriting the records (the rest: compiling).
  double records_seconds() const { return records_seconds_; }

 private:
  using Sets = std::vector<std::shared_ptr<const discovery::EndpointSet>>;
  // Writes (adding) or erases (removing) the records of one service, pod or namespace as `state` has it.
  void write_service(const discovery::RegistryState& state, discovery::ObjectKey key, bool adding);
  void write_namespace(const discovery::RegistryState& state, const std::string& ns, bool adding);
  void write_pod(const discovery::RegistryState& state, discovery::ObjectKey key, bool adding);
  void write_import(const discovery::RegistryState& state, discovery::ObjectKey key, bool adding);
  void write_service(const discovery::Service& svc, bool adding);
  void write_service(const discovery::Service& svc, const std::vector<const discovery::EndpointSet*>& sets,
                     bool adding);
  // Indexes one endpoint set under the service (and multicluster service) it names.
  void index_set(const discovery::RegistryState& state, const discovery::EndpointSet& set);
  // Rewrites the records of what moved from `before` to `after` (ObjectTable::diff skips the chunks they
  // share) and appends the pod index's changes; true when pods moved.
  bool write_changes(const discovery::RegistryState& before, const discovery::RegistryState& after,
                     std::vector<PodAddress>& addresses);
  // The first update: every object of `state` written once, in table order. Nothing to diff or undo, and
  // no key to look up again (a build from nothing at 100,000 Services spent ~7% of its records part
  // collecting, merging and finding them).
  void write_all(const discovery::RegistryState& state, std::vector<PodAddress>& addresses);
  // "ns/service", written into a buffer reused for every lookup (a copy only where a map keeps it).
  const std::string& set_key(std::string_view ns, std::string_view service);
  // Appends the addresses autopath's pod index holds for `pod` (none when null, done or terminating).
  static void pod_addresses(const discovery::Pod* pod, bool released, std::vector<PodAddress>& out);

  BuildConfig config_;
  ClusterRecords records_;
  ExternalRecords external_;
  ClustersetRecords clusterset_;
  ZoneDraft draft_;
  SnapshotCompiler compiler_;
  std::shared_ptr<const discovery::RegistryState> last_;  // what the draft holds
  std::unordered_map<std::string, Sets> sets_;            // "ns/service" -> the endpoint sets naming it
  std::unordered_map<std::string, Sets> import_sets_;     // "ns/import" -> the multicluster slices naming it
  std::string set_key_;
  std::vector<const discovery::EndpointSet*> sets_scratch_;  // write_service's, reused
  bool first_ = true;
  double records_seconds_ = 0;
};

// A snapshot built from nothing (tests, tools): ZoneBuilder(config).update(state, serial).
std::shared_ptr<const Snapshot> build_snapshot(const discovery::RegistryState* state,
                                               const BuildConfig& config, uint32_t serial);

struct BuildStats {
  uint64_t builds = 0;
  double last_build_seconds = 0;
  size_t last_nodes = 0;
  size_t last_compiled = 0;  // names the last build compiled (the rest it shared with the snapshot before)
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
  ZoneBuilder builder_;
  StateFn state_;
  PublishedFn published_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool dirty_ = false, stopping_ = false;
  bool synced_once_ = false, first_synced_trim_ = false;  // builder thread only
  uint32_t serial_ = 0;
  BuildStats stats_;
  std::thread thread_;
};

}  // namespace clusterdns::zones
