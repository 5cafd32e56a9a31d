// The Kubernetes API registry (--source kubernetes, --source kubeconfig:PATH[#context]).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "discovery/k8s/cluster_access.hpp"
#include "discovery/k8s/reflector.hpp"
#include "discovery/published_state.hpp"
#include "discovery/source.hpp"

namespace clusterdns::discovery {

struct KubeSourceOptions {
  // Watch /api/v1/pods too: needed by --pods verified and by selector_endpoints.
  bool watch_pods = false;
  // Compute endpoints from selectors for services that have no EndpointSlice (clusters without the
  // EndpointSlice controller); implies watch_pods.
  bool selector_endpoints = false;
  // Watch multicluster.x-k8s.io/v1alpha1 ServiceImports too (--clusterset-zone). A custom resource: a
  // cluster without its CustomResourceDefinition answers 404, which counts as none (logged once, asked
  // again with back-off, never holding up has_synced); see ResourceSpec::optional.
  bool watch_service_imports = false;
  // Only these namespaces (services, slices and pods are then watched per namespace); empty = all.
  std::vector<std::string> namespaces;
  // Passed through as ?labelSelector= on services ("" = every service).
  std::string service_label_selector;
  std::chrono::seconds connect_timeout{10};
  k8s::WatchTiming timing;
};

// Lists then watches Namespaces, Services, discovery.k8s.io/v1 EndpointSlices (and Pods and ServiceImports
// when asked), one
// thread per collection, slimming each object as it arrives. A publisher thread keeps one RegistryState,
// applies each reflector's changes to it (an upsert or erase per object; a namespace exists while a
// Namespace object or any object names it) and, once every collection has been listed (has_synced),
// publishes a copy (O(chunks)) after every batch; bursts coalesce because it takes whatever changes are
// pending when it wakes. Failures keep the last state.
class KubeSource final : public RegistrySource {
 public:
  // Throws std::invalid_argument when access.server is unusable.
  KubeSource(ClusterAccess access, KubeSourceOptions options);
  ~KubeSource() override;
  KubeSource(const KubeSource&) = delete;
  KubeSource& operator=(const KubeSource&) = delete;

  // Starts the reflector and publisher threads and returns; the first state follows the first full list.
  // The listener runs on the publisher thread. Sets SIGPIPE to ignored if it still has its default action.
  void start(Listener on_change) override;
  // Cancels requests in flight and joins every thread (bounded by the connect timeout). Idempotent.
  void stop() override;
  bool has_synced() const override;
  std::shared_ptr<const RegistryState> state() const override;
  uint64_t generation() const override;
  std::string name() const override;
  Restarts restarts() const override;  // "kubernetes:in-cluster" / "kubernetes:kubeconfig:PATH#ctx"
  // rejected: objects and watch lines skipped (ReflectorStats::malformed); stale: a collection's last list
  // or watch failed, or it has been silent beyond the watch idle timeout (then silent as well).
  Health health() const override;

  // Sum over every collection. Thread-safe.
  k8s::ReflectorStats stats() const;

 private:
  void publish_loop();
  void mark_dirty();
  // Publisher thread: applies one reflector change to state_; true when state_ changed.
  bool apply(k8s::Kind kind, const k8s::Reflector::Change& change);
  // Counts one more (+1) or one fewer (-1) object naming namespace ns.
  void count_namespace(const std::string& ns, int delta);
  // Publisher thread: a copy of state_ with selector endpoints (when asked), updated from the last build.
  std::shared_ptr<const RegistryState> build();

  const KubeSourceOptions options_;
  std::unique_ptr<k8s::ApiClient> api_;
  std::vector<std::unique_ptr<k8s::Reflector>> reflectors_;
  Listener listener_;
  std::thread publisher_;
  std::mutex lifecycle_mutex_;
  bool started_ = false;

  // Publisher thread only.
  RegistryState state_;  // every object the reflectors hold, and the selector endpoints of the last build
  std::shared_ptr<const RegistryState> last_built_;
  std::set<std::string> namespace_objects_;       // Namespace objects listed or watched
  std::map<std::string, size_t> namespace_refs_;  // namespace → objects naming it (Namespace included)
  std::set<std::string> wanted_namespaces_;       // options_.namespaces; empty = all

  std::mutex dirty_mutex_;
  std::condition_variable dirty_cv_;
  bool dirty_ = false;     // guarded by dirty_mutex_
  bool stopping_ = false;  // guarded by dirty_mutex_

  PublishedState published_;
  std::atomic<int64_t> last_applied_unix_ms_{0};
};

}  // namespace clusterdns::discovery
