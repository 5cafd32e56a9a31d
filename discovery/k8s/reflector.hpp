// List-then-watch of one API collection into a store of slim objects (client-go's reflector.go).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/guarded.hpp"
#include "discovery/k8s/api_client.hpp"
#include "discovery/k8s/objects.hpp"

namespace clusterdns::discovery::k8s {

struct WatchTiming {
  int page_size = 500;                          // list ?limit=
  std::chrono::seconds min_watch_timeout{300};  // watch ?timeoutSeconds= is random in [min, max]
  std::chrono::seconds max_watch_timeout{600};
  std::chrono::seconds read_timeout_slack{30};  // a silent watch dies after timeoutSeconds + this…
  // …or after this long without a byte, whichever is first: the watch asks for bookmarks, which the API
  // server's watch cache sends about once a minute even when nothing changes, so a stream silent for two
  // of those intervals is a server gone quiet (half-open TCP): watched again from the last version.
  std::chrono::seconds watch_idle_timeout{120};
  std::chrono::seconds list_read_timeout{60};      // a silent list response dies after this
  std::chrono::milliseconds backoff_initial{800};  // doubled per failure, jittered up to +50 %
  std::chrono::milliseconds backoff_max{30000};
};

struct ResourceSpec {
  Kind kind = Kind::Service;
  std::string path;            // collection: "/api/v1/services", "/api/v1/namespaces/x/services", …
  std::string label_selector;  // passed through as ?labelSelector=, "" for none
  std::string description;     // for logs: "services", "services in namespace x"
  // A custom resource the cluster may not have (its CustomResourceDefinition not installed: 404; or not
  // granted: 403). Such a list answer counts as an empty collection, so it never holds up has_synced: it is
  // logged once, the store is emptied, and the list is asked again after each back-off (up to backoff_max),
  // so a definition installed later is picked up. 403 leaves failing() set (health: stale), 404 does not.
  bool optional = false;
};

// Counters, for logs and tests.
struct ReflectorStats {
  uint64_t lists = 0;    // complete lists (all pages)
  uint64_t watches = 0;  // watch requests made
  uint64_t gone = 0;     // 410s (HTTP status or in-stream ERROR) that forced a re-list
  uint64_t bookmarks = 0;
  uint64_t events = 0;         // ADDED/MODIFIED/DELETED applied
  uint64_t partial_lines = 0;  // incomplete events dropped when a stream was cut
  uint64_t malformed = 0;      // unreadable events or objects skipped
  uint64_t idle_timeouts = 0;  // watches that heard nothing (not even a bookmark) for watch_idle_timeout
  uint64_t undecodable = 0;    // watch lines that did not decode: each re-watched from the last version
  uint64_t absent = 0;         // lists of an optional collection answered 404/403 (counted as empty)
};

// Runs on its own thread. Failures never clear the store: it keeps the last good objects until a list
// replaces them whole (so a half-listed state is never seen) or a watch event changes one.
class Reflector {
 public:
  using Store = std::map<std::string, std::shared_ptr<const Slim>>;  // keyed "ns/name" (or "name")
  // One key's change since the last take_changes(): its new object, or null when it is gone.
  struct Change {
    std::string key;
    std::shared_ptr<const Slim> object;
  };

  // on_change runs on the reflector thread after the store changed (a list, or a batch of events).
  Reflector(ResourceSpec spec, ApiClient& api, WatchTiming timing, std::function<void()> on_change);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  void start();
  // Ends the request in flight and any back-off wait. Repeatable; join() afterwards.
  void request_stop();
  bool exited() const { return exited_.load(std::memory_order_acquire); }
  void join();

  bool synced() const { return synced_.load(std::memory_order_acquire); }
  // Calls fn with the store, under its lock. Keep fn short: the reflector waits meanwhile.
  void read(const std::function<void(const Store&)>& fn) const;
  // Increments with every change to the store (a list, an applied event). Thread-safe.
  uint64_t version() const;
  // The changes since the last call, oldest first (a key may appear more than once; the last one counts).
  // A list that replaced the store reports every key it removed and every key it holds. Thread-safe.
  std::vector<Change> take_changes();
  ReflectorStats stats() const;
  const ResourceSpec& spec() const { return spec_; }
  // When the API server last sent this collection anything (a list page, an event, a bookmark, the end of
  // a watch at its timeout); the epoch before the first byte. Thread-safe.
  std::chrono::steady_clock::time_point last_heard() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(last_heard_.load(std::memory_order_relaxed)));
  }
  // True from a failed list or watch until the next one that works. Thread-safe.
  bool failing() const { return failing_.load(std::memory_order_relaxed); }

 private:
  enum class Next { Watch, Relist, Backoff, BackoffRelist, Absent, Stop };

  void run();
  Next list();
  // One page: GET, then slim every item into `fresh`. Sets rv and cont from the list's metadata.
  // absent_status: the 404/403 of an optional collection (then Next::Absent).
  Next list_page(const std::string& cont_in, Store& fresh, std::string& rv, std::string& cont_out, bool& gone,
                 int& absent_status);
  // An optional collection the server does not serve (status 404 or 403): the store emptied, synced.
  Next absent(int status);
  Next watch();
  bool handle_line(std::string& line, Next& next, bool& changed, uint64_t& events);
  // refused: a reason the object is rejected before slimming ("" = none).
  void apply_object(const std::string& type, DocNode object, bool& changed, const std::string& refused);
  Next classify(const HttpResult& r, const std::string& what);
  void wait_backoff();
  void report(const std::string& problem);
  void recovered();
  bool stopping() const { return stop_.load(std::memory_order_acquire); }
  void heard() {
    last_heard_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  std::string query_suffix() const;

  const ResourceSpec spec_;
  ApiClient& api_;
  const WatchTiming timing_;
  const std::function<void()> on_change_;
  std::thread thread_;
  Cancel cancel_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> exited_{false};
  std::atomic<bool> synced_{false};
  std::atomic<std::chrono::steady_clock::rep> last_heard_{0};
  std::atomic<bool> failing_{false};
  std::mutex wait_mutex_;
  std::condition_variable wait_cv_;

  mutable std::mutex store_mutex_;
  Store store_;                  // guarded by store_mutex_
  std::vector<Change> changes_;  // guarded by store_mutex_
  uint64_t version_ = 0;         // guarded by store_mutex_
  base::Guarded<ReflectorStats> stats_;

  // Reflector thread only.
  std::string rv_;  // last resourceVersion seen: list, event or bookmark
  int failures_ = 0;
  int gone_streak_ = 0;
  int retry_after_ = 0;
  int undecodable_streak_ = 0;              // undecodable watch lines with no applied event between them
  std::string problem_;                     // last problem logged; "" when healthy
  int absent_status_ = 0;                   // optional collection: the 404/403 last logged; 0 when served
  std::map<std::string, std::string> bad_;  // key -> reason of objects skipped (logged once each)
  std::mt19937_64 rng_;
};

}  // namespace clusterdns::discovery::k8s
