// The etcd registry: range at one revision, watch from the next, apply events per key, publish, survive loss.
#include "discovery/etcd/etcd_source.hpp"

#include <algorithm>
#include <chrono>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/log.hpp"
#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery {

namespace {

using etcd::EtcdError;

}  // namespace

EtcdSource::EtcdSource(EtcdSourceOptions options)
    : options_(std::move(options)),
      layout_(options_.prefix),
      client_(std::make_unique<etcd::Client>(options_.client)),
      progress_(etcd::kResources.size(), 0) {}

EtcdSource::~EtcdSource() {
  stop();
}

void EtcdSource::start(Listener on_change) {
  std::lock_guard lock(lifecycle_mutex_);
  if (thread_.joinable() || finished_) return;
  ignore_sigpipe_unless_handled();  // an etcd member dropping a connection must not end the process
  listener_ = std::move(on_change);
  thread_ = std::thread([this] { run(); });
}

void EtcdSource::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  {
    std::lock_guard wake_lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  // A cancel that lands while a call is still connecting does not stop it: repeat until the thread is out.
  for (int i = 0; i < 200 && !finished_.load(); ++i) {
    client_->cancel();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  thread_.join();
}

bool EtcdSource::has_synced() const {
  return published_.synced();
}

std::shared_ptr<const RegistryState> EtcdSource::state() const {
  return published_.state();
}

uint64_t EtcdSource::generation() const {
  return published_.generation();
}

std::string EtcdSource::name() const {
  return "etcd:" + client_->endpoints_text();
}

RegistrySource::Restarts EtcdSource::restarts() const {
  const Stats s = stats();
  return {s.watches_started, s.full_ranges > 0 ? s.full_ranges - 1 : 0};
}

RegistrySource::Health EtcdSource::health() const {
  Health h;
  h.last_applied_unix_ms = last_applied_unix_ms_.load(std::memory_order_relaxed);
  const Stats s = stats();
  h.rejected = s.malformed;
  if (!has_synced()) return h;
  const auto heard = std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_heard_.load(std::memory_order_relaxed)));
  h.silent = std::chrono::steady_clock::now() - heard > options_.read_timeout;
  h.stale = h.silent || !s.connected;
  return h;
}

EtcdSource::Stats EtcdSource::stats() const {
  return *stats_.lock();
}

bool EtcdSource::stopping() const {
  std::lock_guard lock(wake_mutex_);
  return stopping_;
}

bool EtcdSource::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(wake_mutex_);
  return !wake_.wait_for(lock, d, [this] { return stopping_; });
}

void EtcdSource::run() {
  const std::size_t endpoints = options_.client.endpoints.size();
  std::size_t failures = 0;  // consecutive, reset once a watch is established
  int round = 0;
  int compacted_ranges = 0;
  while (!stopping()) {
    try {
      if (need_range_) full_range();
      watch_once();  // returns only when the watch revision was compacted: range again at once
      continue;
    } catch (const EtcdError& e) {
      if (e.kind() == EtcdError::Kind::Canceled || stopping()) break;
      if (e.kind() == EtcdError::Kind::Compacted && compacted_ranges++ < 3) {
        need_range_ = true;  // a paged range outlived its revision: read again at the latest one
        continue;
      }
      note_failure(e.what());
    } catch (const std::exception& e) {
      note_failure(std::string("unexpected failure: ") + e.what());
    }
    if (established_) {
      failures = 0;  // the watch had been up: this is a new outage
      round = 0;
      compacted_ranges = 0;
    }
    established_ = false;
    client_->next_endpoint();
    // Each endpoint is tried at once; after all of them failed, wait (exponential, with jitter).
    if (++failures % endpoints != 0) continue;
    auto full =
        std::min(options_.backoff_max, options_.backoff_initial * (int64_t{1} << std::min(round++, 20)));
    std::uniform_int_distribution<int64_t> jitter(full.count() / 2, std::max<int64_t>(full.count(), 1));
    if (!pause(std::chrono::milliseconds(jitter(rng_)))) break;
  }
  {
    auto stats = stats_.lock();
    stats->connected = false;
  }
  finished_ = true;
}

void EtcdSource::note_failure(const std::string& what) {
  {
    auto stats = stats_.lock();
    stats->connected = false;
  }
  if (healthy_) {
    base::logger("discovery")
        ->warn("{}: {}; {}, retrying with back-off", name(), what,
               has_synced() ? "keeping the last good state" : "no state yet");
  } else if (what != last_failure_) {
    base::logger("discovery")->debug("{}: still failing: {}", name(), what);
  }
  healthy_ = false;
  last_failure_ = what;
}

void EtcdSource::full_range() {
  int64_t revision = 0;
  std::map<std::string, std::shared_ptr<const etcd::SlimObject>> next;
  std::map<std::string, int64_t> still_rejected;
  std::vector<std::pair<std::string, std::string>> ranges;
  for (etcd::Resource r : etcd::kResources) {
    const std::string p = layout_.resource_prefix(r);
    ranges.emplace_back(p, etcd::prefix_end(p));
  }
  // Each page is decoded while etcd serialises the next one.
  client_->range_pages(ranges, options_.page_size, &revision,
                       [&](std::size_t, std::vector<etcd::KeyValue>& kvs) {
                         for (const etcd::KeyValue& kv : kvs) {
                           std::optional<etcd::ObjectKey> key = layout_.parse_key(kv.key);
                           if (!key) continue;
                           auto old = objects_.find(kv.key);
                           if (old != objects_.end() && old->second->mod_revision == kv.mod_revision) {
                             // Unchanged since it was applied: not decoded again, and the same object
                             // (the zone builder recompiles only what it sees replaced).
                             next.emplace_hint(next.end(), kv.key, old->second);
                             continue;
                           }
                           auto slim = std::make_shared<etcd::SlimObject>();
                           if (decode(*key, kv, *slim)) {
                             next.emplace_hint(next.end(), kv.key, std::move(slim));
                             continue;
                           }
                           still_rejected[kv.key] = kv.mod_revision;
                           // It keeps its last good version.
                           if (old != objects_.end()) next.emplace_hint(next.end(), kv.key, old->second);
                         }
                       });
  objects_ = std::move(next);
  rebuild_state();
  // The derived selector endpoints are computed afresh from the new tables by publish().
  last_published_.reset();
  rejected_ = std::move(still_rejected);
  progress_.assign(etcd::kResources.size(), revision);
  need_range_ = false;
  {
    auto stats = stats_.lock();
    ++stats->full_ranges;
  }
  last_heard_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  publish();
  auto st = state();
  base::logger("discovery")
      ->info(
          "{}: read {} objects at revision {}: {} namespaces, {} services, {} endpoint sets, {} pods, {} "
          "service imports",
          name(), objects_.size(), revision, st->namespaces.size(), st->services.size(),
          st->endpoint_sets.size(), st->pods.size(), st->service_imports.size());
}

void EtcdSource::rebuild_state() {
  std::vector<ObjectTable<Service>::Ptr> services;
  std::vector<ObjectTable<EndpointSet>::Ptr> endpoint_sets;
  std::vector<ObjectTable<Pod>::Ptr> pods;
  std::vector<ObjectTable<ServiceImport>::Ptr> service_imports;
  namespace_refs_.clear();
  auto ns_hint = namespace_refs_.end();
  for (const auto& [key, object] : objects_) {
    const etcd::ObjectKey& id = object->key;
    const std::string& ns = id.resource == etcd::Resource::Namespace ? id.name : id.ns;
    // Objects of one namespace come together: the last namespace counted is usually the one.
    if (ns_hint == namespace_refs_.end() || ns_hint->first != ns)
      ns_hint = namespace_refs_.try_emplace(ns, 0).first;
    ++ns_hint->second;
    // Each table shares the object: nothing copied.
    if (const auto* s = std::get_if<Service>(&object->value)) {
      services.emplace_back(object, s);
    } else if (const auto* e = std::get_if<EndpointSet>(&object->value)) {
      endpoint_sets.emplace_back(object, e);
    } else if (const auto* p = std::get_if<Pod>(&object->value)) {
      pods.emplace_back(object, p);
    } else if (const auto* i = std::get_if<ServiceImport>(&object->value)) {
      service_imports.emplace_back(object, i);
    }
  }
  std::vector<std::string> namespaces;
  namespaces.reserve(namespace_refs_.size());
  for (const auto& [ns, refs] : namespace_refs_)
    namespaces.push_back(ns);
  state_ = RegistryState{};
  state_.namespaces = ObjectTable<std::string>::from(std::move(namespaces));
  state_.services = ObjectTable<Service>::from(std::move(services));
  state_.endpoint_sets = ObjectTable<EndpointSet>::from(std::move(endpoint_sets));
  state_.pods = ObjectTable<Pod>::from(std::move(pods));
  state_.service_imports = ObjectTable<ServiceImport>::from(std::move(service_imports));
}

namespace {

// Replaces or removes the entry (ns, name) of table with what `object` holds of type T (nothing: removed).
template <typename T>
void apply_to(ObjectTable<T>& table, const etcd::ObjectKey& key,
              const std::shared_ptr<const etcd::SlimObject>& object) {
  const T* value = object ? std::get_if<T>(&object->value) : nullptr;
  if (value != nullptr) {
    table.upsert(std::shared_ptr<const T>(object, value));  // shares the object: nothing copied
  } else {
    table.erase({key.ns, key.name});
  }
}

}  // namespace

void EtcdSource::set_object(const std::string& key, std::shared_ptr<const etcd::SlimObject> object) {
  auto it = objects_.find(key);
  const etcd::ObjectKey id = object                 ? object->key
                             : it != objects_.end() ? it->second->key
                                                    : etcd::ObjectKey{};
  if (!object && it == objects_.end()) return;
  const bool had = it != objects_.end();
  switch (id.resource) {
    case etcd::Resource::Service:
      apply_to(state_.services, id, object);
      break;
    case etcd::Resource::EndpointSlice:
      apply_to(state_.endpoint_sets, id, object);
      break;
    case etcd::Resource::Pod:
      apply_to(state_.pods, id, object);
      break;
    case etcd::Resource::ServiceImport:
      apply_to(state_.service_imports, id, object);
      break;
    case etcd::Resource::Namespace:
      break;
  }
  const std::string& ns = id.resource == etcd::Resource::Namespace ? id.name : id.ns;
  if (object) {
    if (!had) count_namespace(ns, 1);
    objects_.insert_or_assign(key, std::move(object));
  } else {
    objects_.erase(it);
    count_namespace(ns, -1);
  }
}

void EtcdSource::count_namespace(const std::string& ns, int delta) {
  if (delta > 0) {
    if (++namespace_refs_[ns] == 1) state_.namespaces.upsert(ns);
    return;
  }
  auto it = namespace_refs_.find(ns);
  if (it == namespace_refs_.end()) return;
  if (--it->second == 0) {
    namespace_refs_.erase(it);
    state_.namespaces.erase(object_key(ns));
  }
}

void EtcdSource::watch_once() {
  std::vector<etcd::WatchRequest> requests;
  for (std::size_t i = 0; i < etcd::kResources.size(); ++i) {
    const std::string p = layout_.resource_prefix(etcd::kResources[i]);
    requests.push_back(etcd::WatchRequest{p, etcd::prefix_end(p), progress_[i] + 1, true});
  }
  watcher_of_id_.clear();
  compacted_ = false;
  established_ = false;
  client_->watch(requests, options_.read_timeout,
                 [this](const std::vector<etcd::WatchResponse>& batch) { return on_messages(batch); });
  if (!compacted_) throw EtcdError(EtcdError::Kind::Canceled, "", "stopped");
}

bool EtcdSource::on_messages(const std::vector<etcd::WatchResponse>& batch) {
  last_heard_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  bool changed = false;
  for (const etcd::WatchResponse& m : batch) {
    if (m.created) {
      if (m.watch_id < 0 || m.watch_id > 1024) {
        throw EtcdError(EtcdError::Kind::Protocol, client_->current_endpoint(), "unexpected watch_id");
      }
      // Watchers are created in the order they were asked for.
      if (watcher_of_id_.size() <= static_cast<std::size_t>(m.watch_id))
        watcher_of_id_.resize(m.watch_id + 1, -1);
      int created = static_cast<int>(
          std::count_if(watcher_of_id_.begin(), watcher_of_id_.end(), [](int w) { return w >= 0; }));
      watcher_of_id_[m.watch_id] = created;
      if (created + 1 == static_cast<int>(etcd::kResources.size())) {
        {
          auto stats = stats_.lock();
          ++stats->watches_started;
          stats->connected = true;
        }
        if (!healthy_)
          base::logger("discovery")->info("{}: watching again from {}", name(), client_->current_endpoint());
        healthy_ = true;
        established_ = true;
      }
    }
    const int w = m.watch_id >= 0 && static_cast<std::size_t>(m.watch_id) < watcher_of_id_.size()
                      ? watcher_of_id_[m.watch_id]
                      : -1;
    if (w < 0) continue;  // not ours (cannot happen on our own stream)
    if (m.canceled && m.compact_revision > 0) {
      base::logger("discovery")
          ->warn("{}: watch from revision {} canceled: compacted up to revision {}; reading everything again",
                 name(), progress_[w] + 1, m.compact_revision);
      {
        auto stats = stats_.lock();
        ++stats->compactions_seen;
      }
      need_range_ = true;
      compacted_ = true;
      if (changed) publish();
      return false;
    }
    if (m.canceled) {
      throw EtcdError(EtcdError::Kind::Server, client_->current_endpoint(),
                      "watch canceled" + (m.cancel_reason.empty() ? "" : ": " + m.cancel_reason));
    }
    for (const etcd::WatchEvent& ev : m.events) {
      changed = apply(ev.kv, ev.is_delete) || changed;
      progress_[w] = std::max(progress_[w], ev.kv.mod_revision);
    }
    if (m.events.empty() && !m.created) progress_[w] = std::max(progress_[w], m.revision);  // progress notify
  }
  if (changed) {
    publish();
  } else {
    auto stats = stats_.lock();
    stats->revision = *std::min_element(progress_.begin(), progress_.end());
  }
  return !stopping();
}

bool EtcdSource::apply(const etcd::KeyValue& kv, bool is_delete) {
  std::optional<etcd::ObjectKey> key = layout_.parse_key(kv.key);
  if (!key) return false;
  auto it = objects_.find(kv.key);
  // A resumed watch may replay what was applied already: a key never goes back to an older revision.
  if (it != objects_.end() && it->second->mod_revision >= kv.mod_revision) return false;
  if (is_delete) {
    rejected_.erase(kv.key);
    if (it == objects_.end()) return false;
    set_object(kv.key, nullptr);
    return true;
  }
  auto slim = std::make_shared<etcd::SlimObject>();
  if (!decode(*key, kv, *slim)) return false;
  set_object(kv.key, std::move(slim));
  return true;
}

bool EtcdSource::decode(const etcd::ObjectKey& key, const etcd::KeyValue& kv, etcd::SlimObject& slim) {
  etcd::DecodeResult r = etcd::decode_object(key, kv.value);
  if (!r.object) {
    auto [it, first] = rejected_.try_emplace(kv.key, kv.mod_revision);
    if (first || it->second != kv.mod_revision) {
      it->second = kv.mod_revision;
      bool kept = objects_.count(kv.key) != 0;
      base::logger("discovery")
          ->error("{}: ignored {} (revision {}): {}; {}", name(), kv.key, kv.mod_revision, r.error,
                  kept ? "its last good version stays" : "it stays out of the registry");
      auto stats = stats_.lock();
      ++stats->malformed;
    }
    return false;
  }
  rejected_.erase(kv.key);
  for (const std::string& w : r.warnings)
    base::logger("discovery")->warn("{}: {}: {}", name(), kv.key, w);
  slim = std::move(*r.object);
  slim.mod_revision = kv.mod_revision;
  return true;
}

void EtcdSource::publish() {
  auto next = std::make_shared<RegistryState>(state_);  // O(chunks): the tables share every object
  // state_ holds the derived sets of the last publish: only the namespaces that changed are recomputed.
  if (last_published_) {
    update_selector_endpoints(*last_published_, *next);
  } else {
    compute_selector_endpoints(*next);
  }
  state_ = *next;
  last_published_ = next;
  {
    auto stats = stats_.lock();
    stats->revision = *std::min_element(progress_.begin(), progress_.end());
  }
  published_.publish(std::move(next));
  last_applied_unix_ms_.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count(),
                              std::memory_order_relaxed);
  if (!listener_) return;
  try {
    listener_();
  } catch (const std::exception& e) {
    base::logger("discovery")->error("{}: change listener failed: {}", name(), e.what());
  }
}

}  // namespace clusterdns::discovery
