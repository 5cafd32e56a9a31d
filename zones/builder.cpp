// Snapshot building and the coalescing rebuild thread.
#include "zones/builder.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include "dns/wire/types.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {
std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("zones");
  return l ? l : spdlog::default_logger();
}
}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(const discovery::RegistryState* state,
                                               const BuildConfig& config, uint32_t serial,
                                               const Snapshot* previous,
                                               std::shared_ptr<const ZoneDraft>* spent) {
  auto draft = std::make_shared<ZoneDraft>();
  add_cluster_zones(*draft, config.cluster, serial);
  const std::string cluster_apex = draft->zones().front().apex;
  for (const auto& zf : config.static_zones) {
    // A file for the cluster zone itself adds records beside the registry's ("what no Service describes").
    if (zf.zone.apex != cluster_apex) draft->add_zone(zf.zone);
    for (const auto& r : zf.records) {
      if (zf.zone.apex == cluster_apex && r.owner == cluster_apex && r.type == wire::rrtype::NS) continue;
      draft->add(r.owner, r.type, r.ttl, r.rdata);
    }
  }
  if (state) add_cluster_records(*draft, *state, config.cluster);
  std::vector<PodAddress> pods;  // for --autopath: the namespace behind a client address
  if (state) {
    for (const auto& pod : state->pods) {
      if (pod.terminating || pod.phase == "Succeeded" || pod.phase == "Failed") continue;
      if (!pod.ip.empty()) pods.push_back({pod.ip, pod.ns});
      for (const auto& ip : pod.ips) {
        if (ip != pod.ip) pods.push_back({ip, pod.ns});
      }
    }
  }
  if (spent) *spent = draft;
  return Snapshot::build(draft, state != nullptr, config.cluster.ttl, config.keep_transfer_data, pods,
                         previous);
}

Rebuilder::Rebuilder(SnapshotHolder& holder, BuildConfig config, StateFn state, PublishedFn published)
    : holder_(holder),
      config_(std::move(config)),
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
  std::shared_ptr<const ZoneDraft> draft;
  auto snap = build_snapshot(state.get(), config_, serial_, holder_.load().get(), &draft);
  const size_t nodes = snap->node_count(), bytes = snap->memory_bytes(), reused = snap->reused_count();
  holder_.publish(std::move(snap));
  const double publish_secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  draft.reset();
  if (published_ && state) published_(*state);
  const bool synced = state != nullptr;
  state.reset();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.builds;
    stats_.last_build_seconds = publish_secs;
    stats_.last_nodes = nodes;
    stats_.last_reused = reused;
    stats_.last_bytes = bytes;
  }
  logger()->info(
      "snapshot {}: {} names ({} compiled, {} unchanged), {} KiB, built in {:.1f} ms (draft freed "
      "{:.1f} ms later){}",
      serial_, nodes, nodes - reused, reused, bytes / 1024, publish_secs * 1000, (secs - publish_secs) * 1000,
      synced ? "" : " (registry not synced: cluster names answer SERVFAIL)");
}

void Rebuilder::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  bool trimmed = true;
  while (true) {
    // The draft and the previous snapshot freed by a build are kept while changes keep coming (the next
    // build reuses those pages instead of faulting new ones in: a quarter of a large rebuild), and given
    // back to the kernel once the registry has been quiet for a second.
    if (!trimmed && !cv_.wait_for(lock, std::chrono::seconds(1), [this] { return dirty_ || stopping_; })) {
      lock.unlock();
      malloc_trim(0);
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
