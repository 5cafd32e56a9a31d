// Snapshot building and the coalescing rebuild thread.
#include "zones/builder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iterator>

#include "base/log.hpp"
#include "base/memory.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {
// Sorts and dedupes keys that arrive as a few sorted runs (each table's diff and each namespace's objects
// come in key order) by merging the runs: a build from nothing lists 100,000 Services twice, and perf put
// ~4% of a build's samples in sorting them (each comparison reads strings scattered over the heap).
template <typename Key>
void sort_unique_runs(std::vector<Key>& keys) {
  std::vector<size_t> bounds{0};
  for (size_t i = 1; i < keys.size(); ++i) {
    if (keys[i] < keys[i - 1]) bounds.push_back(i);
  }
  bounds.push_back(keys.size());
  if (bounds.size() > 34) {  // many short runs (a burst of scattered changes): a plain sort
    std::sort(keys.begin(), keys.end());
  } else {
    // Merged pairwise into a second vector (std::inplace_merge's buffer comes from a nothrow new, which the
    // allocation tests' replaced operators do not pair).
    std::vector<Key> merged;
    while (bounds.size() > 2) {
      merged.clear();
      merged.reserve(keys.size());
      std::vector<size_t> next{0};
      const auto at = [&keys](size_t i) { return keys.begin() + static_cast<std::ptrdiff_t>(i); };
      size_t b = 0;
      for (; b + 2 < bounds.size(); b += 2) {
        std::merge(at(bounds[b]), at(bounds[b + 1]), at(bounds[b + 1]), at(bounds[b + 2]),
                   std::back_inserter(merged));
        next.push_back(bounds[b + 2]);
      }
      if (next.back() != bounds.back()) {  // an odd run out, carried
        merged.insert(merged.end(), at(next.back()), keys.end());
        next.push_back(bounds.back());
      }
      keys.swap(merged);
      bounds.swap(next);
    }
  }
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}
}  // namespace

ZoneBuilder::ZoneBuilder(BuildConfig config)
    : config_(std::move(config)),
      records_(config_.cluster),
      external_(config_.cluster),
      clusterset_(config_.cluster),
      compiler_(wire::name_from_text("svc." + config_.cluster.domain).value_or(std::string()),
                config_.cluster.clusterset_zone.empty()
                    ? std::string()
                    : wire::lowercase(wire::name_from_text(config_.cluster.clusterset_zone).value_or(""))) {
  add_cluster_zones(draft_, config_.cluster);
  const std::string cluster_apex = draft_.zones().front().apex;
  for (const auto& zf : config_.static_zones) {
    // A file for the cluster zone itself adds records beside the registry's ("what no Service describes").
    if (zf.zone.apex != cluster_apex) draft_.add_zone(zf.zone);
    for (const auto& r : zf.records) {
      if (zf.zone.apex == cluster_apex && r.owner == cluster_apex && r.type == wire::rrtype::NS) continue;
      if (r.type == wire::rrtype::SOA) continue;  // the zone's own, written by add_zone
      draft_.add(r.owner, r.type, r.ttl, r.rdata);
    }
  }
  clusterset_.add_zone(draft_);  // before fixed(): its NS is the cluster zone's ns.dns.<domain>
  {
    RecordSink sink(draft_, true);
    records_.fixed(draft_.zones(), sink);
    clusterset_.fixed(sink);
  }
  // After fixed(): the cluster's ns.dns.<domain> NS is not the external zones' (they have ns1.dns.<zone>).
  external_.add_zones(draft_);
  {
    RecordSink sink(draft_, true);
    external_.fixed(sink);
  }
  draft_.take_touched();
}

const std::string& ZoneBuilder::set_key(std::string_view ns, std::string_view service) {
  set_key_.assign(ns);
  set_key_ += '/';
  set_key_ += service;
  return set_key_;
}

void ZoneBuilder::write_service(const discovery::RegistryState& state, discovery::ObjectKey key,
                                bool adding) {
  const discovery::Service* svc = state.services.find(key);
  if (!svc || !state.namespaces.find({{}, key.first})) return;
  write_service(*svc, adding);
}

void ZoneBuilder::write_service(const discovery::Service& svc, bool adding) {
  std::vector<const discovery::EndpointSet*>& sets = sets_scratch_;
  sets.clear();
  if (auto it = sets_.find(set_key(svc.ns, svc.name)); it != sets_.end()) {
    for (const auto& set : it->second)
      sets.push_back(set.get());
  }
  write_service(svc, sets, adding);
}

void ZoneBuilder::write_service(const discovery::Service& svc,
                                const std::vector<const discovery::EndpointSet*>& sets, bool adding) {
  RecordSink sink(draft_, adding);
  records_.service(svc, sets, sink);
  external_.service(svc, sets, sink);
}

void ZoneBuilder::index_set(const discovery::RegistryState& state, const discovery::EndpointSet& set) {
  if (!set.multicluster_service.empty()) {
    import_sets_[set_key(set.ns, set.multicluster_service)].push_back(
        state.endpoint_sets.find_ptr({set.ns, set.name}));
  }
  sets_[set_key(set.ns, set.service_name)].push_back(state.endpoint_sets.find_ptr({set.ns, set.name}));
}

void ZoneBuilder::write_all(const discovery::RegistryState& state, std::vector<PodAddress>& addresses) {
  // A low estimate of the names to come (a Service with a named port writes four: its name, the SRV name,
  // its _proto parent, a PTR; an endpoint two), so that the name table does not rehash at every doubling.
  size_t names = 3 * state.services.size() + state.pods.size();
  // The sets by the Service they name, in the services' key order (ties in table order, as sets_ lists
  // them): the Services below find theirs by walking this along, not by a hash lookup each (perf put 2.3%
  // of snapshot_bench's samples at 100k in those lookups).
  using Named = std::pair<discovery::ObjectKey, size_t>;
  std::vector<Named> named;
  std::vector<const discovery::EndpointSet*> by_index;
  named.reserve(state.endpoint_sets.size());
  by_index.reserve(state.endpoint_sets.size());
  for (const discovery::EndpointSet& set : state.endpoint_sets) {
    index_set(state, set);
    for (const discovery::Endpoint& ep : set.endpoints)
      names += 2 * ep.addresses.size();
    named.emplace_back(discovery::ObjectKey{set.ns, set.service_name}, by_index.size());
    by_index.push_back(&set);
  }
  std::sort(named.begin(), named.end());
  draft_.reserve_names(draft_.nodes().size() + names);
  for (const std::string& ns : state.namespaces)
    write_namespace(state, ns, true);
  // Objects come sorted by namespace: its existence is looked up once per namespace.
  std::string_view ns;
  bool ns_exists = false;
  const auto in_namespace = [&](const std::string& object_ns) {
    if (object_ns != ns) {
      ns = object_ns;
      ns_exists = state.namespaces.find({{}, object_ns}) != nullptr;
    }
    return ns_exists;
  };
  auto next_set = named.begin();
  std::vector<const discovery::EndpointSet*>& sets = sets_scratch_;
  for (const discovery::Service& svc : state.services) {
    const discovery::ObjectKey key{svc.ns, svc.name};
    while (next_set != named.end() && next_set->first < key)
      ++next_set;
    sets.clear();
    for (; next_set != named.end() && next_set->first == key; ++next_set)
      sets.push_back(by_index[next_set->second]);
    if (in_namespace(svc.ns)) write_service(svc, sets, true);
  }
  for (const discovery::Pod& pod : state.pods) {
    if (!in_namespace(pod.ns)) continue;
    RecordSink sink(draft_, true);
    records_.pod(pod, sink);
  }
  for (const discovery::ServiceImport& import : state.service_imports)
    write_import(state, {import.ns, import.name}, true);
  for (const auto& pod : state.pods)
    pod_addresses(&pod, false, addresses);
}

void ZoneBuilder::write_namespace(const discovery::RegistryState& state, const std::string& ns, bool adding) {
  if (!state.namespaces.find({{}, ns})) return;
  RecordSink sink(draft_, adding);
  records_.name_space(ns, sink);
}

void ZoneBuilder::write_pod(const discovery::RegistryState& state, discovery::ObjectKey key, bool adding) {
  const discovery::Pod* pod = state.pods.find(key);
  if (!pod || !state.namespaces.find({{}, key.first})) return;
  RecordSink sink(draft_, adding);
  records_.pod(*pod, sink);
}

void ZoneBuilder::write_import(const discovery::RegistryState& state, discovery::ObjectKey key, bool adding) {
  const discovery::ServiceImport* import = state.service_imports.find(key);
  if (!import || !clusterset_.enabled()) return;
  std::vector<const discovery::EndpointSet*> sets;
  if (auto it = import_sets_.find(set_key(key.first, key.second)); it != import_sets_.end()) {
    for (const auto& set : it->second)
      sets.push_back(set.get());
  }
  RecordSink sink(draft_, adding);
  clusterset_.service_import(*import, sets, sink);
}

void ZoneBuilder::pod_addresses(const discovery::Pod* pod, bool released, std::vector<PodAddress>& out) {
  // For --autopath: the namespace behind a client address.
  if (!pod || pod->terminating || pod->phase == "Succeeded" || pod->phase == "Failed") return;
  if (!pod->ip.empty()) out.push_back({pod->ip, pod->ns, released});
  for (const auto& ip : pod->ips) {
    if (ip != pod->ip) out.push_back({ip, pod->ns, released});
  }
}

std::shared_ptr<const Snapshot> ZoneBuilder::update(std::shared_ptr<const discovery::RegistryState> state,
                                                    uint32_t serial) {
  const auto records_start = std::chrono::steady_clock::now();
  std::vector<PodAddress> addresses;
  // Nothing of the registry in the draft yet (start-up, or after sync was lost): written whole.
  const bool whole = !last_ && state;
  bool pods_moved = false;
  if (whole) {
    draft_.track_touched(false);
    write_all(*state, addresses);
  } else {
    static const discovery::RegistryState kEmpty;
    draft_.track_touched(!first_);
    pods_moved = write_changes(last_ ? *last_ : kEmpty, state ? *state : kEmpty, addresses);
  }
  last_ = state;
  records_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - records_start).count();
  const bool synced = state != nullptr;
  if (first_ || whole) {  // every name compiled
    draft_.take_touched();
    draft_.shrink_records();
    first_ = false;
    return compiler_.build_all(draft_, synced, config_.cluster.ttl, serial, config_.keep_transfer_data,
                               &addresses);
  }
  return compiler_.update(draft_, draft_.take_touched(), synced, config_.cluster.ttl, serial,
                          config_.keep_transfer_data, pods_moved ? &addresses : nullptr);
}

bool ZoneBuilder::write_changes(const discovery::RegistryState& before, const discovery::RegistryState& after,
                                std::vector<PodAddress>& addresses) {
  // Keys viewed in the objects of `before` and `after`, which outlive them.
  using Key = std::pair<std::string_view, std::string_view>;
  std::vector<Key> services, pods, imports;
  std::vector<std::string> namespaces;
  const auto key_of = [](const auto* was, const auto* now) {
    const auto& o = was ? *was : *now;
    return Key{o.ns, o.name};
  };
  // What moved: objects, and the services whose endpoint sets or namespace moved.
  discovery::ObjectTable<std::string>::diff(
      before.namespaces, after.namespaces,
      [&](const std::string* was, const std::string* now) { namespaces.push_back(was ? *was : *now); });
  const auto in_namespace = [&](const auto& table, const std::string& ns, std::vector<Key>& out) {
    table.for_each_in(ns, [&](const auto& o) { out.push_back({o.ns, o.name}); });
  };
  for (const std::string& ns : namespaces) {
    for (const auto* st : {&before, &after}) {
      in_namespace(st->services, ns, services);
      in_namespace(st->pods, ns, pods);
    }
  }
  discovery::ObjectTable<discovery::Service>::diff(
      before.services, after.services, [&](const discovery::Service* was, const discovery::Service* now) {
        if (was && now && *was == *now) return;  // a source re-read it unchanged
        services.push_back(key_of(was, now));
      });
  std::vector<std::pair<const discovery::EndpointSet*, const discovery::EndpointSet*>> set_changes;
  discovery::ObjectTable<discovery::EndpointSet>::diff(
      before.endpoint_sets, after.endpoint_sets,
      [&](const discovery::EndpointSet* was, const discovery::EndpointSet* now) {
        set_changes.emplace_back(was, now);  // the index follows the new object even when it is equal
        if (was && now && *was == *now) return;
        if (was) services.push_back({was->ns, was->service_name});
        if (now) services.push_back({now->ns, now->service_name});
        if (was && !was->multicluster_service.empty())
          imports.push_back({was->ns, was->multicluster_service});
        if (now && !now->multicluster_service.empty())
          imports.push_back({now->ns, now->multicluster_service});
      });
  discovery::ObjectTable<discovery::ServiceImport>::diff(
      before.service_imports, after.service_imports,
      [&](const discovery::ServiceImport* was, const discovery::ServiceImport* now) {
        if (was && now && *was == *now) return;
        imports.push_back(key_of(was, now));
      });
  bool pods_moved = false;
  discovery::ObjectTable<discovery::Pod>::diff(before.pods, after.pods,
                                               [&](const discovery::Pod* was, const discovery::Pod* now) {
                                                 if (was && now && *was == *now) return;
                                                 pods.push_back(key_of(was, now));
                                                 pods_moved = true;
                                               });
  for (auto* keys : {&services, &pods, &imports})
    sort_unique_runs(*keys);

  // Out with the old records (as the last state wrote them), then in with the new.
  for (const std::string& ns : namespaces)
    write_namespace(before, ns, false);
  for (const Key& k : services)
    write_service(before, {k.first, k.second}, false);
  for (const Key& k : pods)
    write_pod(before, {k.first, k.second}, false);
  for (const Key& k : imports)
    write_import(before, {k.first, k.second}, false);
  for (const auto& [was, now] : set_changes) {
    if (was && !was->multicluster_service.empty()) {
      auto it = import_sets_.find(set_key(was->ns, was->multicluster_service));
      if (it != import_sets_.end()) {
        std::erase_if(it->second, [gone = was](const auto& p) { return p.get() == gone; });
        if (it->second.empty()) import_sets_.erase(it);
      }
    }
    if (was) {
      auto it = sets_.find(set_key(was->ns, was->service_name));
      if (it != sets_.end()) {
        // An init-capture: clang 14 cannot capture a structured binding (C++20 P1091, clang 16).
        std::erase_if(it->second, [gone = was](const auto& p) { return p.get() == gone; });
        if (it->second.empty()) sets_.erase(it);
      }
    }
    if (now) index_set(after, *now);
  }
  for (const std::string& ns : namespaces)
    write_namespace(after, ns, true);
  for (const Key& k : services)
    write_service(after, {k.first, k.second}, true);
  for (const Key& k : pods)
    write_pod(after, {k.first, k.second}, true);
  for (const Key& k : imports)
    write_import(after, {k.first, k.second}, true);
  // The pod index changes by the addresses of the pods that moved: O(pods moved).
  if (!pods_moved) return false;
  for (const Key& k : pods) {
    pod_addresses(before.pods.find({k.first, k.second}), true, addresses);
    pod_addresses(after.pods.find({k.first, k.second}), false, addresses);
  }
  return true;
}

std::shared_ptr<const Snapshot> build_snapshot(const discovery::RegistryState* state,
                                               const BuildConfig& config, uint32_t serial) {
  ZoneBuilder builder(config);
  std::shared_ptr<const discovery::RegistryState> shared;
  if (state) shared = std::make_shared<const discovery::RegistryState>(*state);
  return builder.update(shared, serial);
}

Rebuilder::Rebuilder(SnapshotHolder& holder, BuildConfig config, StateFn state, PublishedFn published)
    : holder_(holder),
      config_(std::move(config)),
      builder_(config_),
      state_(std::move(state)),
      published_(std::move(published)) {}

Rebuilder::~Rebuilder() {
  stop();
}

void Rebuilder::start() {
  {
    // The first build reads the newest state, so changes announced before it are already covered.
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = false;
  }
  build_now();
  thread_ = std::thread([this] { run(); });
}

void Rebuilder::notify() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    dirty_ = true;
  }
  cv_.notify_one();
}

void Rebuilder::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

BuildStats Rebuilder::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Rebuilder::build_now() {
  const auto t0 = std::chrono::steady_clock::now();
  // SOA serial: the time of the change (CoreDNS), kept strictly increasing across fast rebuilds.
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  serial_ = std::max(serial_ + 1, now);
  auto state = state_();
  auto snap = builder_.update(state, serial_);
  const size_t nodes = snap->node_count(), bytes = snap->memory_bytes(), compiled = snap->compiled_count();
  holder_.publish(std::move(snap));
  const double publish_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (published_ && state) published_(*state);
  const bool synced = state != nullptr;
  if (synced && !synced_once_) first_synced_trim_ = synced_once_ = true;
  state.reset();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.builds;
    stats_.last_build_seconds = publish_secs;
    stats_.last_nodes = nodes;
    stats_.last_compiled = compiled;
    stats_.last_bytes = bytes;
  }
  base::logger("zones")->info(
      "snapshot {}: {} names ({} compiled), {} KiB, built in {:.1f} ms (records {:.1f} ms), {:.1f} ms after "
      "publishing{}",
      serial_, nodes, compiled, bytes / 1024, publish_secs * 1000, builder_.records_seconds() * 1000,
      (secs - publish_secs) * 1000, synced ? "" : " (registry not synced: cluster names answer SERVFAIL)");
}

void Rebuilder::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  bool trimmed = false;  // start() built the first snapshot: its parse and build garbage goes back too
  while (true) {
    // The draft and the previous snapshot freed by a build are kept while changes keep coming (the next
    // build reuses those pages instead of faulting new ones in: a quarter of a large rebuild), and given
    // back to the kernel once the registry has been quiet for a second.
    // The first synced build (start-up, a relist) is followed by quiet almost always: its garbage goes at
    // once, so the memory a newly started server settles at is what it holds from the start.
    const auto quiet = first_synced_trim_ ? std::chrono::seconds(0) : std::chrono::seconds(1);
    first_synced_trim_ = false;
    if (!trimmed && !cv_.wait_for(lock, quiet, [this] { return dirty_ || stopping_; })) {
      lock.unlock();
      base::release_free_memory();
      lock.lock();
      trimmed = true;
      continue;
    }
    cv_.wait(lock, [this] { return dirty_ || stopping_; });
    if (stopping_) return;
    dirty_ = false;  // events arriving during the build mark it dirty again: one more build covers them all
    lock.unlock();
    build_now();
    lock.lock();
    trimmed = false;
  }
}

}  // namespace clusterdns::zones
