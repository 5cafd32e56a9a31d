// KubeSource: one reflector per collection, a publisher that assembles RegistryState from their stores.
#include "discovery/k8s/kube_source.hpp"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <type_traits>
#include <variant>

#include "base/log.hpp"
#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery {

namespace {

using k8s::Kind;

struct Collection {
  Kind kind;
  const char* group_path;  // "/api/v1" or "/apis/discovery.k8s.io/v1"
  const char* plural;
  bool optional = false;  // a custom resource (ResourceSpec::optional)
};

}  // namespace

KubeSource::KubeSource(ClusterAccess access, KubeSourceOptions options)
    : options_(std::move(options)),
      wanted_namespaces_(options_.namespaces.begin(), options_.namespaces.end()) {
  api_ = std::make_unique<k8s::ApiClient>(std::move(access), options_.connect_timeout);
  std::vector<Collection> namespaced = {{Kind::Service, "/api/v1", "services"},
                                        {Kind::EndpointSlice, "/apis/discovery.k8s.io/v1", "endpointslices"}};
  if (options_.watch_pods || options_.selector_endpoints)
    namespaced.push_back({Kind::Pod, "/api/v1", "pods"});
  if (options_.watch_service_imports)
    namespaced.push_back(
        {Kind::ServiceImport, "/apis/multicluster.x-k8s.io/v1alpha1", "serviceimports", true});
  auto on_change = [this] { mark_dirty(); };
  // Namespaces are cluster-scoped: always watched whole, filtered when the state is built.
  reflectors_.push_back(std::make_unique<k8s::Reflector>(
      k8s::ResourceSpec{Kind::Namespace, "/api/v1/namespaces", "", "namespaces"}, *api_, options_.timing,
      on_change));
  for (const Collection& c : namespaced) {
    std::string selector = c.kind == Kind::Service ? options_.service_label_selector : "";
    if (options_.namespaces.empty()) {
      reflectors_.push_back(std::make_unique<k8s::Reflector>(
          k8s::ResourceSpec{c.kind, std::string(c.group_path) + "/" + c.plural, selector, c.plural,
                            c.optional},
          *api_, options_.timing, on_change));
      continue;
    }
    for (const std::string& ns : options_.namespaces) {
      reflectors_.push_back(std::make_unique<k8s::Reflector>(
          k8s::ResourceSpec{c.kind, std::string(c.group_path) + "/namespaces/" + ns + "/" + c.plural,
                            selector, std::string(c.plural) + " in namespace " + ns, c.optional},
          *api_, options_.timing, on_change));
    }
  }
}

KubeSource::~KubeSource() {
  stop();
}

void KubeSource::start(Listener on_change) {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return;
  started_ = true;
  ignore_sigpipe_unless_handled();  // the API server dropping a connection must not end the process
  listener_ = std::move(on_change);
  base::logger("discovery")
      ->info("{}: listing and watching {} collections on {}", name(), reflectors_.size(), api_->server());
  publisher_ = std::thread([this] { publish_loop(); });
  for (auto& r : reflectors_)
    r->start();
}

void KubeSource::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  {
    std::lock_guard dl(dirty_mutex_);
    stopping_ = true;
  }
  dirty_cv_.notify_all();
  // Client::stop reaches a request only once its socket exists, so repeat it until each thread is out
  // (bounded: connects give up after connect_timeout, and each retry is 20 ms apart).
  auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout + std::chrono::seconds(5);
  for (auto& r : reflectors_) {
    if (!started_) break;
    r->request_stop();
    while (!r->exited() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      r->request_stop();
    }
    if (!r->exited())
      base::logger("discovery")->warn("{} {}: still ending its request", name(), r->spec().description);
    r->join();
  }
  if (publisher_.joinable()) publisher_.join();
}

bool KubeSource::has_synced() const {
  return published_.synced();
}

std::shared_ptr<const RegistryState> KubeSource::state() const {
  return published_.state();
}

uint64_t KubeSource::generation() const {
  return published_.generation();
}

std::string KubeSource::name() const {
  return "kubernetes:" + api_->origin();
}

RegistrySource::Restarts KubeSource::restarts() const {
  const k8s::ReflectorStats s = stats();
  return {s.watches,
          s.lists > reflectors_.size() ? s.lists - reflectors_.size() : 0};  // one list each to start
}

RegistrySource::Health KubeSource::health() const {
  Health h;
  h.last_applied_unix_ms = last_applied_unix_ms_.load(std::memory_order_relaxed);
  const k8s::WatchTiming& t = options_.timing;
  // As long as a watch waits for a byte before it gives up on the server (Reflector::watch).
  const auto idle =
      t.watch_idle_timeout.count() > 0 ? t.watch_idle_timeout : t.max_watch_timeout + t.read_timeout_slack;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& r : reflectors_) {
    h.rejected += r->stats().malformed;
    if (!r->synced()) continue;  // not listed yet: has_synced() says so
    if (now - r->last_heard() > idle) h.silent = true;
    if (r->failing() || h.silent) h.stale = true;
  }
  return h;
}

k8s::ReflectorStats KubeSource::stats() const {
  k8s::ReflectorStats sum;
  for (const auto& r : reflectors_) {
    k8s::ReflectorStats s = r->stats();
    sum.lists += s.lists;
    sum.watches += s.watches;
    sum.gone += s.gone;
    sum.bookmarks += s.bookmarks;
    sum.events += s.events;
    sum.partial_lines += s.partial_lines;
    sum.malformed += s.malformed;
    sum.undecodable += s.undecodable;
    sum.idle_timeouts += s.idle_timeouts;
    sum.absent += s.absent;
  }
  return sum;
}

void KubeSource::mark_dirty() {
  {
    std::lock_guard lock(dirty_mutex_);
    dirty_ = true;
  }
  dirty_cv_.notify_one();
}

void KubeSource::publish_loop() {
  bool published = false;
  while (true) {
    {
      std::unique_lock lock(dirty_mutex_);
      dirty_cv_.wait(lock, [this] { return dirty_ || stopping_; });
      if (stopping_) return;
      dirty_ = false;
    }
    // Changes are applied as they come, listed or not; a state is published once every collection is.
    bool changed = false;
    for (const auto& r : reflectors_) {
      for (const k8s::Reflector::Change& c : r->take_changes())
        changed = apply(r->spec().kind, c) || changed;
    }
    bool all_listed =
        std::all_of(reflectors_.begin(), reflectors_.end(), [](const auto& r) { return r->synced(); });
    if (!all_listed || (published && !changed)) continue;
    published = true;
    std::shared_ptr<const RegistryState> next = build();
    const uint64_t gen = published_.publish(next);
    last_applied_unix_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count(),
                                std::memory_order_relaxed);
    if (gen == 1) {
      base::logger("discovery")
          ->info(
              "{}: synced: {} namespaces, {} services, {} endpoint sets, {} pods, {} service imports "
              "(generation {})",
              name(), next->namespaces.size(), next->services.size(), next->endpoint_sets.size(),
              next->pods.size(), next->service_imports.size(), gen);
    }
    if (!listener_) continue;
    try {
      listener_();
    } catch (const std::exception& e) {
      base::logger("discovery")->error("{}: change listener failed: {}", name(), e.what());
    }
  }
}

namespace {

// Replaces or removes (object null) the entry (ns, name) of table; returns whether the key was present.
template <typename T>
bool apply_to(ObjectTable<T>& table, const std::string& ns, const std::string& name,
              const std::shared_ptr<const k8s::Slim>& object) {
  const bool had = table.find({ns, name}) != nullptr;
  if (object) {
    // The table shares the reflector's object (aliasing pointer): nothing is copied.
    table.upsert(std::shared_ptr<const T>(object, &std::get<T>(*object)));
  } else if (had) {
    table.erase({ns, name});
  }
  return had;
}

}  // namespace

bool KubeSource::apply(Kind kind, const k8s::Reflector::Change& change) {
  const bool has = change.object != nullptr;
  if (kind == Kind::Namespace) {
    const bool had =
        has ? !namespace_objects_.insert(change.key).second : namespace_objects_.erase(change.key);
    if (had != has) count_namespace(change.key, has ? 1 : -1);
    return had != has;
  }
  // "ns/name" (the reflector's key; a namespace never holds '/').
  const std::size_t slash = change.key.find('/');
  if (slash == std::string::npos) return false;
  const std::string ns = change.key.substr(0, slash), object_name = change.key.substr(slash + 1);
  if (has && !std::visit(
                 [&](const auto& o) {
                   if constexpr (std::is_same_v<std::decay_t<decltype(o)>, std::string>) {
                     return false;
                   } else {
                     return o.ns == ns && o.name == object_name;
                   }
                 },
                 *change.object)) {
    base::logger("discovery")
        ->error("{}: {} {} decoded under another name; ignored", name(), k8s::kind_name(kind), change.key);
    return false;
  }
  bool had = false;
  switch (kind) {
    case Kind::Service:
      had = apply_to(state_.services, ns, object_name, change.object);
      break;
    case Kind::EndpointSlice:
      had = apply_to(state_.endpoint_sets, ns, object_name, change.object);
      break;
    case Kind::Pod:
      had = apply_to(state_.pods, ns, object_name, change.object);
      break;
    case Kind::ServiceImport:
      had = apply_to(state_.service_imports, ns, object_name, change.object);
      break;
    case Kind::Namespace:
      break;
  }
  if (had != has) count_namespace(ns, has ? 1 : -1);
  return had || has;
}

void KubeSource::count_namespace(const std::string& ns, int delta) {
  const bool wanted = wanted_namespaces_.empty() || wanted_namespaces_.count(ns) != 0;
  if (delta > 0) {
    if (++namespace_refs_[ns] == 1 && wanted) state_.namespaces.upsert(ns);
    return;
  }
  auto it = namespace_refs_.find(ns);
  if (it == namespace_refs_.end()) return;
  if (--it->second == 0) {
    namespace_refs_.erase(it);
    state_.namespaces.erase(object_key(ns));
  }
}

std::shared_ptr<const RegistryState> KubeSource::build() {
  auto st = std::make_shared<RegistryState>(state_);  // O(chunks): the tables share every object
  if (options_.selector_endpoints) {
    // state_ holds the derived sets of the last build: only the namespaces that changed are recomputed.
    if (last_built_) {
      update_selector_endpoints(*last_built_, *st);
    } else {
      compute_selector_endpoints(*st);
    }
    state_ = *st;
  }
  last_built_ = st;
  return st;
}

}  // namespace clusterdns::discovery
