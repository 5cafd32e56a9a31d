// Reconfigurable snapshot rebuilding.
#include "ops/runtime/snapshot_pipeline.hpp"

namespace clusterdns::ops {

SnapshotPipeline::SnapshotPipeline(zones::SnapshotHolder& holder, zones::BuildConfig config,
                                   zones::Rebuilder::StateFn state, zones::Rebuilder::PublishedFn published)
    : holder_(holder),
      state_(std::move(state)),
      published_(std::move(published)),
      config_(std::move(config)) {}

SnapshotPipeline::~SnapshotPipeline() {
  stop();
}

std::shared_ptr<zones::Rebuilder> SnapshotPipeline::current() const {
  std::lock_guard lock(pointer_);
  return current_;
}

void SnapshotPipeline::start() {
  std::lock_guard lock(lifecycle_);
  if (started_) return;
  started_ = true;
  const uint64_t seen = notifies_.load(std::memory_order_acquire);
  auto first = std::make_shared<zones::Rebuilder>(holder_, config_, state_, published_);
  first->start();
  {
    std::lock_guard plock(pointer_);
    current_ = first;
  }
  // A source that synced during the first build notified nobody: without this its state waited for the
  // next change, cluster names answering SERVFAIL (not synced) until then.
  if (notifies_.load(std::memory_order_acquire) != seen) first->notify();
}

void SnapshotPipeline::notify() {
  notifies_.fetch_add(1, std::memory_order_acq_rel);
  if (auto r = current()) r->notify();
}

void SnapshotPipeline::reconfigure(zones::BuildConfig config) {
  std::lock_guard lock(lifecycle_);
  config_ = std::move(config);
  if (!started_ || stopped_) return;
  // Stop first, so the old rebuilder can never publish after the new one; the holder keeps serving the old
  // snapshot until the new rebuilder's first (synchronous) build replaces it.
  auto old = current();
  old->stop();
  const uint64_t seen = notifies_.load(std::memory_order_acquire);
  auto next = std::make_shared<zones::Rebuilder>(holder_, config_, state_, published_);
  next->start();  // reads the newest registry state: covers every change announced before `seen`
  {
    std::lock_guard plock(pointer_);
    builds_before_ += old->stats().builds;
    current_ = next;
  }
  // A change announced while the new rebuilder was building may have gone to the stopped one.
  if (notifies_.load(std::memory_order_acquire) != seen) next->notify();
}

void SnapshotPipeline::stop() {
  std::lock_guard lock(lifecycle_);
  if (stopped_) return;
  stopped_ = true;
  if (auto r = current()) r->stop();
}

zones::BuildStats SnapshotPipeline::stats() const {
  std::shared_ptr<zones::Rebuilder> r;
  uint64_t before = 0;
  {
    std::lock_guard plock(pointer_);
    r = current_;
    before = builds_before_;
  }
  zones::BuildStats s;
  if (r) s = r->stats();
  s.builds += before;
  return s;
}

zones::BuildConfig SnapshotPipeline::config() const {
  std::lock_guard lock(lifecycle_);
  return config_;
}

}  // namespace clusterdns::ops
