// KubeSource: one reflector per collection, a publisher that assembles RegistryState from their stores.
#include "discovery/k8s/kube_source.hpp"

#include <signal.h>

#include <algorithm>
#include <set>

#include "discovery/k8s/log.hpp"
#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery {

namespace {

using k8s::Kind;
using k8s::logger;

struct Collection {
  Kind kind;
  const char* group_path;  // "/api/v1" or "/apis/discovery.k8s.io/v1"
  const char* plural;
};

}  // namespace

KubeSource::KubeSource(ClusterAccess access, KubeSourceOptions options) : options_(std::move(options)) {
  api_ = std::make_unique<k8s::ApiClient>(std::move(access), options_.connect_timeout);
  std::vector<Collection> namespaced = {{Kind::Service, "/api/v1", "services"},
                                        {Kind::EndpointSlice, "/apis/discovery.k8s.io/v1", "endpointslices"}};
  if (options_.watch_pods || options_.selector_endpoints)
    namespaced.push_back({Kind::Pod, "/api/v1", "pods"});
  auto on_change = [this] { mark_dirty(); };
  // Namespaces are cluster-scoped: always watched whole, filtered when the state is built.
  reflectors_.push_back(std::make_unique<k8s::Reflector>(
      k8s::ResourceSpec{Kind::Namespace, "/api/v1/namespaces", "", "namespaces"}, *api_, options_.timing,
      on_change));
  for (const Collection& c : namespaced) {
    std::string selector = c.kind == Kind::Service ? options_.service_label_selector : "";
    if (options_.namespaces.empty()) {
      reflectors_.push_back(std::make_unique<k8s::Reflector>(
          k8s::ResourceSpec{c.kind, std::string(c.group_path) + "/" + c.plural, selector, c.plural}, *api_,
          options_.timing, on_change));
      continue;
    }
    for (const std::string& ns : options_.namespaces) {
      reflectors_.push_back(std::make_unique<k8s::Reflector>(
          k8s::ResourceSpec{c.kind, std::string(c.group_path) + "/namespaces/" + ns + "/" + c.plural,
                            selector, std::string(c.plural) + " in namespace " + ns},
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
  logger()->info("{}: listing and watching {} collections on {}", name(), reflectors_.size(), api_->server());
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
    if (!r->exited()) logger()->warn("{} {}: still ending its request", name(), r->spec().description);
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
  while (true) {
    {
      std::unique_lock lock(dirty_mutex_);
      dirty_cv_.wait(lock, [this] { return dirty_ || stopping_; });
      if (stopping_) return;
      dirty_ = false;
    }
    bool all_listed =
        std::all_of(reflectors_.begin(), reflectors_.end(), [](const auto& r) { return r->synced(); });
    if (!all_listed) continue;
    // Two wake-ups for one change (a store changed while the previous build read it) publish once.
    std::vector<uint64_t> versions;
    for (const auto& r : reflectors_)
      versions.push_back(r->version());
    if (versions == built_versions_) continue;
    built_versions_ = std::move(versions);
    std::shared_ptr<const RegistryState> next = build();
    const uint64_t gen = published_.publish(next);
    if (gen == 1) {
      logger()->info("{}: synced: {} namespaces, {} services, {} endpoint sets, {} pods (generation {})",
                     name(), next->namespaces.size(), next->services.size(), next->endpoint_sets.size(),
                     next->pods.size(), gen);
    }
    if (!listener_) continue;
    try {
      listener_();
    } catch (const std::exception& e) {
      logger()->error("{}: change listener failed: {}", name(), e.what());
    }
  }
}

std::shared_ptr<const RegistryState> KubeSource::build() const {
  auto st = std::make_shared<RegistryState>();
  std::set<std::string> namespaces;
  for (const auto& r : reflectors_) {
    r->read([&](const k8s::Reflector::Store& store) {
      for (const auto& [key, slim] : store) {
        if (const auto* ns = std::get_if<std::string>(&slim)) {
          namespaces.insert(*ns);
        } else if (const auto* svc = std::get_if<Service>(&slim)) {
          st->services.push_back(*svc);
          namespaces.insert(svc->ns);
        } else if (const auto* set = std::get_if<EndpointSet>(&slim)) {
          st->endpoint_sets.push_back(*set);
          namespaces.insert(set->ns);
        } else if (const auto* pod = std::get_if<Pod>(&slim)) {
          st->pods.push_back(*pod);
          namespaces.insert(pod->ns);
        }
      }
    });
  }
  if (!options_.namespaces.empty()) {
    std::set<std::string> wanted(options_.namespaces.begin(), options_.namespaces.end());
    std::erase_if(namespaces, [&](const std::string& ns) { return !wanted.count(ns); });
  }
  st->namespaces.assign(namespaces.begin(), namespaces.end());
  if (options_.selector_endpoints) compute_selector_endpoints(*st);
  return st;
}

}  // namespace clusterdns::discovery
