// The manifest-file registry: initial load, inotify watching, debouncing, publish-or-reject.
#include "discovery/files/file_source.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <future>
#include <system_error>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "discovery/selector_endpoints.hpp"

namespace clusterdns::discovery {

namespace fs = std::filesystem;

namespace {

constexpr int kFallbackPollMs = 1000;  // without inotify

// No IN_MODIFY: a file being written is read once it is closed (IN_CLOSE_WRITE) or moved into place.
constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
                              IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint32_t kFileMask = IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

std::shared_ptr<spdlog::logger> logger() {
  if (auto l = spdlog::get("discovery")) return l;
  try {
    return spdlog::stderr_color_mt("discovery");
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get("discovery");  // registered by another thread meanwhile
  }
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_hidden_name(const std::string& name) {
  return !name.empty() && name[0] == '.';
}

// The kubelet's AtomicWriter (ConfigMap and Secret volumes) swaps "..data" and "..<timestamp>" entries.
bool is_atomic_writer_name(const std::string& name) {
  return name.size() > 2 && name[0] == '.' && name[1] == '.';
}

bool is_manifest_file_name(const std::string& name) {
  std::string ext = fs::path(name).extension().string();
  for (char& c : ext)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

std::vector<std::string> to_strings(const std::vector<ManifestError>& errors) {
  std::vector<std::string> out;
  out.reserve(errors.size());
  for (const ManifestError& e : errors)
    out.push_back(e.to_string());
  return out;
}

}  // namespace

FileSource::FileSource(std::string path) : path_(std::move(path)) {
  fs::path p = fs::absolute(fs::path(path_)).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();  // "dir/" → "dir"
  base_name_ = p.filename().string();
  parent_ = p.has_parent_path() ? p.parent_path().string() : p.string();
}

FileSource::~FileSource() {
  stop();
}

void FileSource::start(Listener on_change) {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return;
  started_ = true;
  listener_ = std::move(on_change);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    logger()->warn("{}: inotify unavailable ({}); re-reading every {} ms", name(), std::strerror(errno),
                   kFallbackPollMs);
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");

  std::promise<void> first_load;
  std::future<void> loaded = first_load.get_future();
  thread_ = std::thread([this, p = std::move(first_load)]() mutable {
    // Watches go in before the first read so that nothing written meanwhile is missed.
    watch_tree();
    rescan_ = true;
    bool published = reload();
    p.set_value();
    if (published) notify();
    run();
  });
  loaded.wait();
}

void FileSource::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (thread_.joinable()) {
    uint64_t one = 1;
    if (write(wake_fd_, &one, sizeof one) != sizeof one) {
      logger()->error("{}: cannot wake the watcher: {}", name(), std::strerror(errno));
    }
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

bool FileSource::has_synced() const {
  return published_.synced();
}

std::shared_ptr<const RegistryState> FileSource::state() const {
  return published_.state();
}

uint64_t FileSource::generation() const {
  return published_.generation();
}

std::string FileSource::name() const {
  return "file:" + path_;
}

std::vector<ManifestError> FileSource::last_errors() const {
  std::lock_guard lock(state_mutex_);
  return errors_;
}

RegistrySource::Health FileSource::health() const {
  std::lock_guard lock(state_mutex_);
  return health_;
}

void FileSource::run() {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
  const nfds_t nfds = inotify_fd_ >= 0 ? 2 : 1;
  const int idle_timeout = inotify_fd_ >= 0 ? -1 : kFallbackPollMs;
  while (true) {
    int r = poll(fds, nfds, idle_timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      logger()->error("{}: poll failed: {}; no longer watching", name(), std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) return;
    if (r == 0) rescan_ = true;  // no inotify: look at everything every kFallbackPollMs
    if (r > 0) drain_events();
    // Whatever arrived while the previous change was applied is in this one batch: no debounce timer.
    if (!rescan_ && dirty_.empty()) continue;
    if (rescan_) watch_tree();
    if (reload()) notify();
  }
}

void FileSource::notify() {
  if (!listener_) return;
  try {
    listener_();
  } catch (const std::exception& e) {
    logger()->error("{}: change listener failed: {}", name(), e.what());
  }
}

void FileSource::watch_tree() {
  if (inotify_fd_ < 0) return;
  std::map<int, std::string> now;
  parent_wd_ = inotify_add_watch(inotify_fd_, parent_.c_str(), kDirMask & ~(IN_DELETE_SELF | IN_MOVE_SELF));
  std::error_code ec;
  dir_mode_ = fs::is_directory(path_, ec);
  auto add = [&](const std::string& p, uint32_t mask) {
    int wd = inotify_add_watch(inotify_fd_, p.c_str(), mask);
    if (wd >= 0) {
      now[wd] = p;
    } else if (errno == ENOSPC || errno == ENOMEM) {
      logger()->warn("{}: cannot watch {}: {} (raise fs.inotify.max_user_watches)", name(), p,
                     std::strerror(errno));
    }
  };
  if (!dir_mode_) {
    add(path_, kFileMask);  // follows a symlink: edits in place of the link's target are seen too
  } else {
    add(path_, kDirMask);
    fs::recursive_directory_iterator it(path_, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      std::string leaf = it->path().filename().string();
      if (!it->is_directory(ec)) continue;
      if (is_hidden_name(leaf)) {
        it.disable_recursion_pending();  // the parser skips hidden trees too
        continue;
      }
      add(it->path().string(), kDirMask);
    }
  }
  // Directories that left the tree (moved away) keep their watch until removed here.
  for (const auto& [wd, dir] : wds_) {
    if (!now.count(wd) && wd != parent_wd_) inotify_rm_watch(inotify_fd_, wd);
  }
  wds_ = std::move(now);
}

void FileSource::drain_events() {
  alignas(inotify_event) char buf[16384];
  while (true) {
    ssize_t n = read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      const std::string leaf = ev->len > 0 ? std::string(ev->name) : std::string();
      if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) {
        rescan_ = true;
        continue;
      }
      if (!dir_mode_) {
        // File mode: the file itself, or any sibling (a ConfigMap volume swaps "..data", not the file).
        // A sibling's plain IN_CREATE is followed by its IN_CLOSE_WRITE; a symlink's is all there is.
        if (wds_.count(ev->wd) || ev->wd == parent_wd_) dirty_.insert(path_);
        continue;
      }
      auto dir = wds_.find(ev->wd);
      if (dir == wds_.end()) {
        if (ev->wd == parent_wd_ && leaf == base_name_) rescan_ = true;  // the tree itself came or went
        continue;
      }
      if ((ev->mask & IN_ISDIR) || is_atomic_writer_name(leaf)) {
        // A directory came, went or moved; or a ConfigMap "..data" swap changed every visible link.
        if (!(ev->mask & IN_ATTRIB)) rescan_ = true;
        continue;
      }
      // Any other hidden file (an editor's ".x.swp", a tool's ".x.tmp" renamed into place) is never read:
      // re-listing the tree for it would re-read every file.
      if (is_hidden_name(leaf)) continue;
      if (!is_manifest_file_name(leaf)) continue;
      const std::string file = (fs::path(dir->second) / leaf).string();
      if (ev->mask & IN_CREATE) {
        std::error_code ec;
        if (!fs::is_symlink(fs::symlink_status(file, ec))) continue;  // its IN_CLOSE_WRITE follows
      }
      dirty_.insert(file);
    }
  }
}

void FileSource::read_and_apply(const std::string& file, bool& changed) {
  std::vector<ManifestError> read_errors;
  std::vector<ManifestFile> content = read_manifest_files(file, read_errors);
  files_read_.fetch_add(1, std::memory_order_relaxed);
  if (content.empty()) {
    std::error_code ec;
    if (fs::exists(file, ec) &&
        !read_errors.empty()) {  // there but unreadable (or too big): keep its objects
      log_problems(file, read_errors, true);
      return;
    }
    changed |= registry_.remove(file);  // gone: its objects go with it
    logged_.erase(file);
    return;
  }
  if (registry_.same_text(file, content.front().text)) return;  // touched, or saved with the same bytes
  files::FileRegistry::Outcome outcome = registry_.update(file, content.front().text);
  changed |= outcome.changed;
  for (const ManifestError& w : outcome.warnings)
    logger()->warn("{}: ignored: {}", name(), w.to_string());
  log_problems(file, outcome.errors, outcome.kept_last_good);
  std::lock_guard lock(state_mutex_);
  health_.rejected += outcome.rejected;
}

bool FileSource::reload() {
  bool changed = !published_.synced();             // the first load is published even when empty
  const RegistryState before = registry_.state();  // O(chunks): what update_selector_endpoints diffs
  try {
    std::error_code ec;
    if (!fs::exists(path_, ec)) {
      // A vanished PATH is most likely being replaced (a save by rename, a re-created directory): keep
      // serving what it held, and list it again once it is back.
      std::vector<ManifestError> gone{ManifestError{path_, 0, "no such file or directory"}};
      if (gone != root_errors_) {
        logger()->error("{}: {}; {}", name(), gone[0].to_string(),
                        has_synced() ? "keeping the last good state" : "no state loaded yet");
      }
      root_errors_ = gone;
      rescan_ = true;
      dirty_.clear();
      std::lock_guard lock(state_mutex_);
      errors_ = root_errors_;
      health_.stale = true;
      return false;
    }
    std::set<std::string> dirty = std::move(dirty_);
    dirty_.clear();
    if (dirty.count(path_) && fs::is_directory(path_, ec)) {  // PATH came back as a tree: list it
      dirty.erase(path_);
      rescan_ = true;
    }
    if (rescan_) {
      rescan_ = false;
      std::vector<ManifestError> list_errors;
      std::vector<std::string> listed = list_manifest_files(path_, list_errors);
      if (list_errors != root_errors_) {
        for (const ManifestError& e : list_errors)
          logger()->error("{}: {}", name(), e.to_string());
      }
      root_errors_ = list_errors;
      const std::set<std::string> now(listed.begin(), listed.end());
      for (const std::string& known : registry_.paths()) {
        if (!now.count(known)) dirty.insert(known);
      }
      dirty.insert(now.begin(), now.end());
    }
    for (const std::string& file : dirty)
      read_and_apply(file, changed);
  } catch (const std::exception& e) {
    logger()->error("{}: unexpected failure: {}; keeping the last good state", name(), e.what());
  }
  {
    std::lock_guard lock(state_mutex_);
    errors_ = root_errors_;
    std::vector<ManifestError> file_errors = registry_.errors();
    errors_.insert(errors_.end(), file_errors.begin(), file_errors.end());
    health_.stale = registry_.stale() || !root_errors_.empty();
    if (changed) health_.last_applied_unix_ms = now_unix_ms();
  }
  if (!changed) return false;
  // The first state waits until every file has been read: serving a registry without a file that does not
  // parse would answer its names NXDOMAIN (cached by clients), where not yet synced answers SERVFAIL.
  if (!published_.synced() && (registry_.stale() || !root_errors_.empty())) return false;
  // Endpoints of services that select pods: all of them once, then only the namespaces that moved.
  if (!published_.synced()) {
    compute_selector_endpoints(registry_.derived_state());
  } else {
    update_selector_endpoints(before, registry_.derived_state());
  }
  auto next = std::make_shared<const RegistryState>(registry_.state());  // O(chunks)
  const uint64_t gen = published_.publish(next);
  logger()->info("{}: {} files: {} namespaces, {} services, {} endpoint sets, {} pods (generation {})",
                 name(), registry_.paths().size(), next->namespaces.size(), next->services.size(),
                 next->endpoint_sets.size(), next->pods.size(), gen);
  return true;
}

void FileSource::log_problems(const std::string& file, const std::vector<ManifestError>& errors,
                              bool kept_last_good) {
  std::vector<std::string> lines = to_strings(errors);
  std::vector<std::string>& last = logged_[file];
  if (lines == last) return;  // the same problems seen again: already said
  for (const std::string& line : lines)
    logger()->error("{}: {}; {}", name(), line,
                    kept_last_good ? "keeping the file's last good objects" : "left out");
  last = std::move(lines);
}

}  // namespace clusterdns::discovery
