// The etcd registry (--source etcd:URL[,URL…]): objects the way kube-apiserver stores them, ranged then
// watched.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/guarded.hpp"
#include "discovery/etcd/etcd_client.hpp"
#include "discovery/etcd/etcd_objects.hpp"
#include "discovery/published_state.hpp"
#include "discovery/source.hpp"

namespace clusterdns::discovery {

struct EtcdSourceOptions {
  etcd::ClientOptions client;
  std::string prefix = "/registry/";
  // A watch that hears nothing (no event, no progress notification) for this long is taken as dead.
  // etcd sends progress notifications every 10 min by default
  // (--experimental-watch-progress-notify-interval).
  std::chrono::milliseconds read_timeout = std::chrono::minutes(20);
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
  int64_t page_size = 500;
};

// Parses what follows "etcd:" in --source:
//   URL[,URL…][?prefix=/registry/&cacert=FILE&cert=FILE&key=FILE&read_timeout=20m&connect_timeout=3s]
// (durations: 500ms, 10s, 20m or plain seconds). False and a one-line reason when it does not parse.
bool parse_etcd_spec(const std::string& spec, EtcdSourceOptions& out, std::string& error);

// Ranges the five resource prefixes (Services, EndpointSlices, Pods, Namespaces, ServiceImports) page by
// page at one revision, publishes the registry (selector endpoints included; has_synced from then on), then
// watches the five prefixes on one stream from the next revision, with progress notifications, applying each
// PUT/DELETE to per-key slim objects and to one RegistryState (an upsert or erase per event), republishing
// a copy of it (O(chunks)) after every read that changed something.
// - A value that does not decode is logged with its key and reason and ignored: the key keeps its last good
//   version (if any); every other key still applies. One object is never half-applied.
// - Losing etcd never clears the state: the last good state keeps serving. The watch resumes from the last
//   revision it saw (on the next endpoint, if several), with exponential back-off and jitter once every
//   endpoint failed; a resumed watch whose revision was compacted is canceled by etcd, and the source then
//   ranges everything again. Logs once per change between connected and not.
class EtcdSource final : public RegistrySource {
 public:
  explicit EtcdSource(EtcdSourceOptions options);  // throws std::invalid_argument on a bad endpoint
  ~EtcdSource() override;
  EtcdSource(const EtcdSource&) = delete;
  EtcdSource& operator=(const EtcdSource&) = delete;

  // Starts the watcher thread and returns at once; the listener runs on that thread.
  void start(Listener on_change) override;
  // Cancels the calls in flight and joins the thread. Idempotent; also done by the destructor.
  void stop() override;
  bool has_synced() const override;
  std::shared_ptr<const RegistryState> state() const override;
  uint64_t generation() const override;
  std::string name() const override;  // "etcd:URL[,URL…]"
  Restarts restarts() const override;
  // rejected: values that did not decode (Stats::malformed); stale: no watch stream is up, or none heard
  // anything within read_timeout (then silent as well).
  Health health() const override;

  struct Stats {
    uint64_t full_ranges = 0;       // complete re-reads (1 after the first sync)
    uint64_t watches_started = 0;   // watch streams whose every watcher was created
    uint64_t compactions_seen = 0;  // watches canceled because their revision was compacted
    uint64_t malformed = 0;         // values ignored
    int64_t revision = 0;           // the lowest revision every watcher has seen
    bool connected = false;         // a watch stream is established now
  };
  Stats stats() const;  // Thread-safe.

 private:
  void run();
  // Reads everything at one revision and publishes. Throws etcd::EtcdError.
  void full_range();
  // One watch stream; returns when it ended because a revision was compacted (re-range), throws otherwise.
  void watch_once();
  bool on_messages(const std::vector<etcd::WatchResponse>& batch);
  // Builds state_'s tables and namespace_refs_ afresh from objects_ (each table sorted once into full
  // chunks), without selector endpoints.
  void rebuild_state();
  // Applies one event; true when the registry changed.
  bool apply(const etcd::KeyValue& kv, bool is_delete);
  // Decodes kv into slim; false (and a log line, once per key revision) when the value is malformed.
  bool decode(const etcd::ObjectKey& key, const etcd::KeyValue& kv, etcd::SlimObject& slim);
  // Sets (object non-null) or removes the object under etcd key `key` in objects_ and state_.
  void set_object(const std::string& key, std::shared_ptr<const etcd::SlimObject> object);
  void count_namespace(const std::string& ns, int delta);
  // Publishes a copy of state_ (O(chunks)) with selector endpoints.
  void publish();
  void note_failure(const std::string& what);
  // Sleeps (interrupted by stop); false when stopping.
  bool pause(std::chrono::milliseconds d);
  bool stopping() const;

  const EtcdSourceOptions options_;
  const etcd::Layout layout_;
  std::unique_ptr<etcd::Client> client_;
  Listener listener_;
  std::thread thread_;
  std::mutex lifecycle_mutex_;
  std::atomic<bool> finished_{false};

  mutable std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by wake_mutex_

  // Watcher thread only.
  std::map<std::string, std::shared_ptr<const etcd::SlimObject>> objects_;  // by etcd key
  RegistryState state_;  // what objects_ hold, and the selector endpoints of the last publish
  std::shared_ptr<const RegistryState> last_published_;
  std::map<std::string, size_t> namespace_refs_;  // namespace → objects naming it (Namespace included)
  std::map<std::string, int64_t> rejected_;       // key → revision of the malformed value already logged
  std::vector<int64_t> progress_;                 // per resource: every change up to here has been applied
  std::vector<int> watcher_of_id_;                // watch_id → resource index, in the order of creation
  bool need_range_ = true;
  bool compacted_ = false;
  bool established_ = false;  // every watcher of the current stream was created
  bool healthy_ = true;       // for logging only: the last attempt succeeded
  std::string last_failure_;
  std::mt19937 rng_{std::random_device{}()};

  PublishedState published_;
  std::atomic<std::chrono::steady_clock::rep> last_heard_{0};  // a range or watch message arrived (steady)
  std::atomic<int64_t> last_applied_unix_ms_{0};
  base::Guarded<Stats> stats_;
};

}  // namespace clusterdns::discovery
