// The Kubernetes API registry (--source kubernetes, --source kubeconfig:PATH[#context]).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
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
  // Only these namespaces (services, slices and pods are then watched per namespace); empty = all.
  std::vector<std::string> namespaces;
  // Passed through as ?labelSelector= on services ("" = every service).
  std::string service_label_selector;
  std::chrono::seconds connect_timeout{10};
  k8s::WatchTiming timing;
};

// Lists then watches Namespaces, Services, discovery.k8s.io/v1 EndpointSlices (and Pods when asked), one
// thread per collection, slimming each object as it arrives. A publisher thread turns the stores into a
// new RegistryState after every change once every collection has been listed (has_synced); bursts
// coalesce because it builds from whatever the stores hold when it wakes. Failures keep the last state.
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

  // Sum over every collection. Thread-safe.
  k8s::ReflectorStats stats() const;

 private:
  void publish_loop();
  void mark_dirty();
  std::shared_ptr<const RegistryState> build() const;

  const KubeSourceOptions options_;
  std::unique_ptr<k8s::ApiClient> api_;
  std::vector<std::unique_ptr<k8s::Reflector>> reflectors_;
  Listener listener_;
  std::thread publisher_;
  std::mutex lifecycle_mutex_;
  bool started_ = false;

  std::vector<uint64_t> built_versions_;  // publisher thread: reflector versions of the last build

  std::mutex dirty_mutex_;
  std::condition_variable dirty_cv_;
  bool dirty_ = false;     // guarded by dirty_mutex_
  bool stopping_ = false;  // guarded by dirty_mutex_

  PublishedState published_;
};

}  // namespace clusterdns::discovery
