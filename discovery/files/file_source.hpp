// The manifest-file registry (--source file:PATH): loads a file or directory tree and follows its changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "discovery/files/file_registry.hpp"
#include "discovery/files/manifest_parser.hpp"
#include "discovery/published_state.hpp"
#include "discovery/source.hpp"

namespace clusterdns::discovery {

// Watches PATH with inotify (the file and its directory, so editors that save by rename and ConfigMap
// symlink swaps are seen; or every directory of the tree, so files created later are seen). A file is
// re-read when it is closed after writing or moved into place (IN_CLOSE_WRITE, IN_MOVED_TO), never on
// IN_MODIFY: a file rewritten in place (`>` then write) is not read half-written. Only the files that
// changed are parsed; FileRegistry applies what differs and a copy of the merged state is published
// (O(chunks)). Events that arrive while a change is applied are taken together next; there is no timer.
// Problems are logged once per content ("discovery" logger, capped per file): an invalid object is left
// out, a file that is not YAML keeps its last good objects. Without inotify it re-reads every second.
class FileSource final : public RegistrySource {
 public:
  explicit FileSource(std::string path);
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  // Loads PATH once (published before start returns when it parses), then watches on its own thread.
  // The listener runs on that thread, the first call possibly after start returns.
  void start(Listener on_change) override;
  // Wakes the watcher thread and joins it. Idempotent; also done by the destructor.
  void stop() override;
  bool has_synced() const override;
  std::shared_ptr<const RegistryState> state() const override;
  uint64_t generation() const override;
  std::string name() const override;  // "file:PATH"
  Health health() const override;

  // The problems of the files' current contents (and of PATH itself); empty when all is well. Thread-safe.
  std::vector<ManifestError> last_errors() const;
  // Files read since start (a change re-reads the files it touched, a rescan every file). Thread-safe.
  uint64_t files_read() const { return files_read_.load(std::memory_order_relaxed); }

 private:
  void run();
  // (Re)installs the watches: parent directory, the file itself, or every directory of the tree.
  void watch_tree();
  // Reads pending inotify events into dirty_ / rescan_.
  void drain_events();
  // Re-reads the dirty files (every file after a rescan), applies what changed, publishes. True on a publish.
  bool reload();
  void read_and_apply(const std::string& file, bool& changed);
  void log_problems(const std::string& file, const std::vector<ManifestError>& errors, bool kept_last_good);
  // Calls the listener; an exception from it is logged, not allowed to end the watcher thread.
  void notify();

  const std::string path_;
  std::string parent_;     // directory holding path_ (absolute, lexically normal)
  std::string base_name_;  // path_'s last component
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int parent_wd_ = -1;
  std::map<int, std::string> wds_;  // watches on path_ itself or on directories of its tree
  bool dir_mode_ = false;
  bool started_ = false;
  std::mutex lifecycle_mutex_;  // start/stop
  std::thread thread_;
  Listener listener_;
  std::atomic<uint64_t> files_read_{0};

  // Watcher thread only.
  files::FileRegistry registry_;
  std::set<std::string> dirty_;  // files to re-read
  bool rescan_ = true;           // list the tree again (a directory changed, events overflowed)
  std::vector<ManifestError> root_errors_;
  std::map<std::string, std::vector<std::string>> logged_;  // per file: the problems last logged

  PublishedState published_;
  mutable std::mutex state_mutex_;
  std::vector<ManifestError> errors_;  // guarded by state_mutex_
  Health health_;                      // guarded by state_mutex_
};

}  // namespace clusterdns::discovery
