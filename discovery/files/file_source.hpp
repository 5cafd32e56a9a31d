// The manifest-file registry (--source file:PATH): loads a file or directory tree and follows its changes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "discovery/files/manifest_parser.hpp"
#include "discovery/published_state.hpp"
#include "discovery/source.hpp"

namespace clusterdns::discovery {

// Watches PATH with inotify (the file and its directory, so editors that save by rename and ConfigMap
// symlink swaps are seen; or every directory of the tree, so files created later are seen), coalesces a
// burst of events (20 ms of quiet, at most 60 ms), re-reads everything and publishes a new state when
// every file parses. Any error rejects the whole new state: it is logged once ("discovery" logger) and
// the last good state stays. If inotify is unavailable it re-reads every second instead.
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

  // The errors that rejected the latest load; empty when the latest load was published. Thread-safe.
  std::vector<ManifestError> last_errors() const;

 private:
  void run();
  // (Re)installs the watches: parent directory, the file itself, or every directory of the tree.
  void watch_tree();
  // Reads pending inotify events; true when one of them may change what parse sees.
  bool drain_events();
  // Re-reads and, when the input changed, parses and publishes or rejects. Returns true on a publish.
  bool reload();
  void log_rejection(const std::vector<ManifestError>& errors);
  // Calls the listener; an exception from it is logged, not allowed to end the watcher thread.
  void notify();

  const std::string path_;
  std::string parent_;     // directory holding path_ (absolute, lexically normal)
  std::string base_name_;  // path_'s last component
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  int parent_wd_ = -1;
  std::set<int> wds_;  // watches on path_ itself or on directories of its tree
  bool dir_mode_ = false;
  bool started_ = false;
  std::mutex lifecycle_mutex_;  // start/stop
  std::thread thread_;
  Listener listener_;

  // Watcher thread only.
  bool attempted_ = false;
  std::vector<ManifestFile> last_files_;
  std::vector<std::string> last_read_errors_;
  std::vector<std::string> last_logged_;

  PublishedState published_;
  mutable std::mutex state_mutex_;
  std::vector<ManifestError> errors_;  // guarded by state_mutex_
};

}  // namespace clusterdns::discovery
