// Parses a manifest's YAML documents on helper threads, ahead of the reader that takes them in order.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "discovery/objects/document.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery::objects {

// One YAML document's text and where it starts in the file (0-based line).
struct Chunk {
  int first_line = 0;
  std::string_view text;
};

// libyaml is most of a big manifest's read time (100,000 Services: ~30 MB), and "---" documents parse
// independently: helpers parse batches of them while the reader takes the results in file order (and
// parses too when it would otherwise wait), so errors, duplicate claims and the alias budget come out as
// a serial read's. At most a fixed window of batches is held ahead of the reader.
class ParseAhead {
 public:
  struct Parsed {
    std::vector<Document> docs;
    std::optional<YamlProblem> problem;
    std::size_t nodes = 0;   // expanded nodes (for the file's alias budget)
    std::size_t budget = 0;  // the expansion limit it was parsed under
  };
  // `budget`: the file's whole alias-expansion budget, the most any one chunk may spend (the reader
  // re-parses a chunk whose share came out differently: see ManifestReader::read_text).
  ParseAhead(const std::vector<Chunk>& chunks, std::size_t budget, unsigned helpers);
  ~ParseAhead();
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  // Chunk i's documents; chunks must be taken in order, each once.
  Parsed take(std::size_t i);
  // Helpers for a text of `bytes` on this machine: none for small ones (a thread costs more than it saves).
  static unsigned helpers_for(std::size_t bytes);

 private:
  static constexpr std::size_t kBatchChunks = 64;
  static constexpr std::size_t kWindowBatches = 32;
  std::size_t batch_count() const { return (chunks_.size() + kBatchChunks - 1) / kBatchChunks; }
  std::vector<Parsed> parse_batch(std::size_t batch) const;
  // The next batch nobody has claimed, if it is within the window; the lock is held.
  std::optional<std::size_t> claim_locked(std::size_t reading);
  void help();
  // Parses `batch` unlocked, then stores it and wakes whoever waits for it.
  void store(std::size_t batch, std::unique_lock<std::mutex>& lock);

  const std::vector<Chunk>& chunks_;
  const std::size_t budget_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::vector<Parsed>> batches_;  // empty: not parsed yet (or read and freed)
  std::size_t next_batch_ = 0;                // the first batch nobody has claimed
  std::size_t reading_ = 0;                   // the batch the reader is in
  bool stop_ = false;
  std::vector<std::jthread> helpers_;
};

}  // namespace clusterdns::discovery::objects
