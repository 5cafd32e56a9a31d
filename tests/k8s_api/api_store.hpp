// The test API server's state: objects as full Kubernetes JSON, a global resourceVersion, an event log.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace clusterdns::k8s_api {

using nlohmann::json;

struct ResourceType {
  std::string group_path;   // "/api/v1" or "/apis/discovery.k8s.io/v1"
  std::string plural;       // "services"
  std::string singular;     // "service"
  std::string kind;         // "Service"
  std::string api_version;  // "v1"
  bool namespaced = true;
  std::vector<std::string> short_names;
  // A custom resource: served only while its CustomResourceDefinition is installed (TestApiServer's
  // --crd flag and /test/crd); its group is listed by discovery only then.
  bool custom = false;
  std::vector<std::string> categories = {};
};

const std::vector<ResourceType>& resource_types();
const ResourceType* find_resource(const std::string& group_path, const std::string& plural);
const ResourceType* find_kind(const std::string& api_version, const std::string& kind);
// "multicluster.x-k8s.io" from "/apis/multicluster.x-k8s.io/v1alpha1"; "" for the core group.
std::string group_of(const ResourceType& type);
std::string version_of(const ResourceType& type);  // "v1alpha1"

// metav1.Status as the API server writes it (reason e.g. "Expired", "NotFound", "Unauthorized").
json status_object(int code, const std::string& reason, const std::string& message);

// A label selector (equality-, set- and existence-based, as kubectl writes them). Parse errors → nullopt.
struct LabelSelector {
  struct Requirement {
    std::string key;
    enum class Op { Equals, NotEquals, In, NotIn, Exists, NotExists } op = Op::Exists;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements;
  static std::optional<LabelSelector> parse(const std::string& text);
  bool matches(const json& object) const;
};

// metadata.name / metadata.namespace field selectors ("=", "==", "!=").
struct FieldSelector {
  std::vector<std::pair<std::string, std::pair<bool, std::string>>> terms;  // field -> (equal?, value)
  static std::optional<FieldSelector> parse(const std::string& text, std::string& error);
  bool matches(const json& object) const;
};

struct Event {
  int64_t rv = 0;
  std::string plural;
  std::string ns;
  std::string type;  // ADDED, MODIFIED, DELETED
  std::shared_ptr<const json> object;
};

// Thread-safe; watchers wait on cv() for new events.
class ApiStore {
 public:
  ApiStore();

  struct Result {
    int status = 200;
    json body;
  };
  // Creates or replaces (create_only: 409 when it exists; update_only: 404 when it does not). Fills in
  // resourceVersion, uid, creationTimestamp, namespace "default", and Service defaults (clusterIP from
  // 10.96.0.0/16, clusterIPs, ipFamilies, port protocol/targetPort). A missing namespace is created
  // first (as the NamespaceAutoProvision admission plugin does).
  Result apply(json object, bool create_only = false, bool update_only = false);
  // Every object of type removed, each with its DELETED event (its CustomResourceDefinition deleted).
  void remove_all(const ResourceType& type);
  // Deleting a Namespace deletes everything in it first.
  Result remove(const ResourceType& type, const std::string& ns, const std::string& name);
  Result get(const ResourceType& type, const std::string& ns, const std::string& name) const;

  struct Page {
    std::vector<json> items;
    int64_t rv = 0;
    std::string next_key;  // "" when this is the last page
    std::size_t remaining = 0;
  };
  // Objects of `type` (in ns when ns != ""), by key, from start_key on, at most limit (0 = all).
  Page list(const ResourceType& type, const std::string& ns, const LabelSelector& labels,
            const FieldSelector& fields, const std::string& start_key, std::size_t limit) const;

  // Events of `plural` after rv (caller holds the lock from lock()).
  void events_after(int64_t rv, const std::string& plural, std::vector<Event>& out) const;
  // Objects currently stored (caller holds the lock), for watches from resourceVersion 0.
  std::vector<std::shared_ptr<const json>> current(const std::string& plural) const;

  // Makes every resourceVersion up to now unavailable to watches and continue tokens (410).
  void compact();
  int64_t rv() const;
  int64_t compacted() const;

  std::unique_lock<std::mutex> lock() const { return std::unique_lock<std::mutex>(mutex_); }
  std::condition_variable& cv() const { return cv_; }
  int64_t rv_locked() const { return rv_; }
  int64_t compacted_locked() const { return compacted_; }

 private:
  Result apply_locked(json object, bool create_only, bool update_only);
  void record(const std::string& plural, const std::string& ns, const std::string& type, const json& object);
  std::string allocate_cluster_ip();

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  int64_t rv_ = 1000;
  int64_t compacted_ = 0;
  uint64_t uid_counter_ = 0;
  uint32_t next_ip_ = 10;
  std::map<std::string, std::map<std::string, std::shared_ptr<const json>>> objects_;  // plural -> key -> obj
  // Each collection's keys in order as of sorted_rv_ (rebuilt after a write), so that a page counts the
  // objects after it (remainingItemCount) by a binary search instead of walking them: O(n) per page made a
  // paged list of n objects O(n²).
  mutable std::map<std::string, std::vector<std::string>> sorted_keys_;
  mutable int64_t sorted_rv_ = -1;
  std::deque<Event> log_;
};

}  // namespace clusterdns::k8s_api
