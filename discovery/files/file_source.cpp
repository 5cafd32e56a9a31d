// The manifest-file registry: initial load, inotify watching, debouncing, publish-or-reject.
#include "discovery/files/file_source.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
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

constexpr auto kQuiet = std::chrono::milliseconds(20);     // a burst ends after this much silence
constexpr auto kMaxDelay = std::chrono::milliseconds(60);  // …or this long after its first event
constexpr int kFallbackPollMs = 1000;                      // without inotify

constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM |
                              IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr uint32_t kFileMask = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

std::shared_ptr<spdlog::logger> logger() {
  if (auto l = spdlog::get("discovery")) return l;
  try {
    return spdlog::stderr_color_mt("discovery");
  } catch (const spdlog::spdlog_ex&) {
    return spdlog::get("discovery");  // registered by another thread meanwhile
  }
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
    if (r > 0 && !drain_events()) continue;

    // Coalesce the burst: an editor's save is several events, a `cp -r` many more.
    auto first = std::chrono::steady_clock::now();
    while (r > 0) {
      auto left = kMaxDelay - (std::chrono::steady_clock::now() - first);
      if (left <= std::chrono::milliseconds(0)) break;
      auto wait =
          std::min<std::chrono::milliseconds>(kQuiet, std::chrono::ceil<std::chrono::milliseconds>(left));
      r = poll(fds, nfds, static_cast<int>(wait.count()));
      if (r < 0 && errno == EINTR) r = 1;
      if (r > 0 && fds[0].revents != 0) return;
      if (r > 0) drain_events();
    }
    watch_tree();
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
  std::set<int> now;
  parent_wd_ = inotify_add_watch(inotify_fd_, parent_.c_str(), kDirMask & ~(IN_DELETE_SELF | IN_MOVE_SELF));
  std::error_code ec;
  dir_mode_ = fs::is_directory(path_, ec);
  auto add = [&](const std::string& p, uint32_t mask) {
    int wd = inotify_add_watch(inotify_fd_, p.c_str(), mask);
    if (wd >= 0) {
      now.insert(wd);
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
      if (!leaf.empty() && leaf[0] == '.') {
        it.disable_recursion_pending();  // the parser skips hidden trees too
        continue;
      }
      add(it->path().string(), kDirMask);
    }
  }
  // Directories that left the tree (moved away) keep their watch until removed here.
  for (int wd : wds_) {
    if (!now.count(wd) && wd != parent_wd_) inotify_rm_watch(inotify_fd_, wd);
  }
  wds_ = std::move(now);
}

bool FileSource::drain_events() {
  alignas(inotify_event) char buf[16384];
  bool relevant = false;
  while (true) {
    ssize_t n = read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) break;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW || wds_.count(ev->wd)) {
        relevant = true;
      } else if (ev->wd == parent_wd_) {
        // In file mode every sibling event counts: a ConfigMap volume swaps "..data", not the file.
        relevant = relevant || !dir_mode_ || (ev->len > 0 && base_name_ == ev->name);
      }
    }
  }
  return relevant;
}

bool FileSource::reload() {
  std::vector<ManifestError> read_errors;
  std::vector<ManifestFile> files;
  ParseResult result;
  try {
    files = read_manifest_files(path_, read_errors);
    std::vector<std::string> read_strings = to_strings(read_errors);
    // Events without a content change (touch, an unrelated sibling, a save of identical bytes) end here.
    if (attempted_ && files == last_files_ && read_strings == last_read_errors_) return false;
    attempted_ = true;
    last_files_ = files;
    last_read_errors_ = std::move(read_strings);
    result = parse_manifest_files(files);
    result.errors.insert(result.errors.begin(), read_errors.begin(), read_errors.end());
    if (result.errors.empty()) compute_selector_endpoints(result.state);
  } catch (const std::exception& e) {
    result.errors.push_back(ManifestError{path_, 0, std::string("unexpected failure: ") + e.what()});
  }

  if (!result.errors.empty()) {
    log_rejection(result.errors);
    std::lock_guard lock(state_mutex_);
    errors_ = std::move(result.errors);
    return false;
  }
  last_logged_.clear();
  for (const ManifestError& w : result.warnings)
    logger()->warn("{}: ignored: {}", name(), w.to_string());
  auto next = std::make_shared<const RegistryState>(std::move(result.state));
  {
    std::lock_guard lock(state_mutex_);
    errors_.clear();
  }
  const uint64_t gen = published_.publish(next);
  logger()->info("{}: loaded {} files: {} namespaces, {} services, {} endpoint sets, {} pods (generation {})",
                 name(), files.size(), next->namespaces.size(), next->services.size(),
                 next->endpoint_sets.size(), next->pods.size(), gen);
  return true;
}

void FileSource::log_rejection(const std::vector<ManifestError>& errors) {
  std::vector<std::string> lines = to_strings(errors);
  if (lines == last_logged_) return;  // the same problem seen again: already said
  const char* keeping = has_synced() ? "keeping the last good state" : "no state loaded yet";
  for (const std::string& line : lines)
    logger()->error("rejected {}: {}; {}", path_, line, keeping);
  last_logged_ = std::move(lines);
}

}  // namespace clusterdns::discovery
