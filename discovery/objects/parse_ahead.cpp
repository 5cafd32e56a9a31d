// ParseAhead: batches of documents parsed by helpers and the reader, taken in file order.
#include "discovery/objects/parse_ahead.hpp"

#include <algorithm>
#include <utility>

namespace clusterdns::discovery::objects {

ParseAhead::ParseAhead(const std::vector<Chunk>& chunks, std::size_t budget, unsigned helpers)
    : chunks_(chunks), budget_(budget), batches_(batch_count()) {
  helpers = static_cast<unsigned>(std::min<std::size_t>(helpers, batch_count() > 1 ? batch_count() - 1 : 0));
  for (unsigned t = 0; t < helpers; ++t)
    helpers_.emplace_back([this] { help(); });
}

ParseAhead::~ParseAhead() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  helpers_.clear();  // joins
}

unsigned ParseAhead::helpers_for(std::size_t bytes) {
  constexpr std::size_t kParallelFrom = 1u << 20;
  if (bytes < kParallelFrom) return 0;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return std::min(cores - 1, 3u);
}

std::vector<ParseAhead::Parsed> ParseAhead::parse_batch(std::size_t batch) const {
  const std::size_t first = batch * kBatchChunks, last = std::min(chunks_.size(), first + kBatchChunks);
  std::vector<Parsed> out(last - first);
  for (std::size_t i = first; i < last; ++i) {
    Parsed& p = out[i - first];
    YamlLimits limits;
    limits.max_expanded_nodes = budget_;
    p.budget = budget_;
    p.problem = parse_yaml(chunks_[i].text, p.docs, chunks_[i].first_line, limits, &p.nodes);
  }
  return out;
}

std::optional<std::size_t> ParseAhead::claim_locked(std::size_t reading) {
  if (stop_ || next_batch_ >= batches_.size() || next_batch_ >= reading + kWindowBatches) return std::nullopt;
  return next_batch_++;
}

void ParseAhead::help() {
  std::unique_lock lock(mutex_);
  for (;;) {
    std::optional<std::size_t> batch;
    changed_.wait(lock, [&] {
      if (stop_ || next_batch_ >= batches_.size()) return true;
      batch = claim_locked(reading_);
      return batch.has_value();
    });
    if (!batch) return;  // stopped, or every batch claimed
    store(*batch, lock);
  }
}

void ParseAhead::store(std::size_t batch, std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::vector<Parsed> parsed = parse_batch(batch);
  lock.lock();
  batches_[batch] = std::move(parsed);
  changed_.notify_all();
}

ParseAhead::Parsed ParseAhead::take(std::size_t i) {
  const std::size_t batch = i / kBatchChunks;
  std::unique_lock lock(mutex_);
  if (batch != reading_) {
    batches_[reading_].clear();  // the batch just read: free its documents
    batches_[reading_].shrink_to_fit();
    reading_ = batch;
    changed_.notify_all();  // the window moved on
  }
  while (batches_[batch].empty()) {            // a parsed batch holds at least one chunk
    if (auto mine = claim_locked(reading_)) {  // parse rather than wait
      store(*mine, lock);
      continue;
    }
    changed_.wait(lock);
  }
  return std::move(batches_[batch][i - batch * kBatchChunks]);
}

}  // namespace clusterdns::discovery::objects
