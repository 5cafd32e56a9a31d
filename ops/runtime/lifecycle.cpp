// signalfd + inotify loop of the main thread.
#include "ops/runtime/lifecycle.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "base/log.hpp"

namespace clusterdns::ops {

namespace {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Quiet time after the last event in the config directory before the file is read: an editor's or the
// kubelet's burst of renames is over by then.
constexpr int kSettleMs = 100;

}  // namespace

sigset_t Lifecycle::handled_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

Lifecycle::Lifecycle(std::string config_path, ReloadFn reload, ReloadStats& stats)
    : config_path_(std::move(config_path)), reload_(std::move(reload)), stats_(stats) {
  const sigset_t set = handled_signals();
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  if (signal_fd_ < 0) throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
  if (!config_path_.empty()) {
    inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) {
      base::logger("main")->warn("config: inotify unavailable ({}): {} is reloaded on SIGHUP only",
                                 std::strerror(errno), config_path_);
    }
    watch_config();
    last_seen_hash_ = file_sha512(config_path_);
    stats_.set_config_hash(last_seen_hash_);
  }
  stats_.last_success_unix = unix_now();
}

Lifecycle::~Lifecycle() {
  if (signal_fd_ >= 0) close(signal_fd_);
  if (inotify_fd_ >= 0) close(inotify_fd_);
}

void Lifecycle::watch_config() {
  if (inotify_fd_ < 0) return;
  namespace fs = std::filesystem;
  constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                             IN_ATTRIB | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF;
  std::error_code ec;
  const fs::path path = fs::absolute(config_path_, ec);
  // The directory holding the path (ConfigMap mounts swap `..data` there), and the one holding the file
  // it finally resolves to, when a symlink leads elsewhere.
  for (const fs::path& dir : {path.parent_path(), fs::weakly_canonical(path, ec).parent_path()}) {
    if (dir.empty()) continue;
    inotify_add_watch(inotify_fd_, dir.c_str(), kMask);  // same wd when already watched; failure: SIGHUP only
  }
}

bool Lifecycle::config_changed() {
  const std::string hash = file_sha512(config_path_);
  if (hash.empty() || hash == last_seen_hash_) return false;  // missing mid-swap, or same bytes
  return true;
}

bool Lifecycle::reload(const std::string& why) {
  stats_.reloads.fetch_add(1);
  const std::string hash = config_path_.empty() ? "" : file_sha512(config_path_);
  try {
    reload_();
  } catch (const std::exception& e) {
    stats_.failed.fetch_add(1);
    if (!hash.empty()) last_seen_hash_ = hash;  // do not retry the same bytes on every event
    base::logger("main")->error("config: reload ({}) rejected, keeping the previous configuration: {}", why,
                                e.what());
    return false;
  }
  if (!hash.empty()) {
    last_seen_hash_ = hash;
    stats_.set_config_hash(hash);
  }
  stats_.last_success_unix = unix_now();
  base::logger("main")->info("config: reloaded ({})", why);
  return true;
}

int Lifecycle::run() {
  int settle_ms = -1;  // >= 0: the config directory changed; read the file after this much quiet
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int n = poll(fds, inotify_fd_ >= 0 ? 2 : 1, settle_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    }
    if (n == 0 && settle_ms >= 0) {
      settle_ms = -1;
      watch_config();  // a swap may have replaced what the path resolves to
      if (config_changed()) reload("config file " + config_path_ + " changed");
      continue;
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      if (read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        const int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGTERM || sig == SIGINT) return sig;
        if (sig == SIGHUP) reload("SIGHUP");
      }
    }
    if (inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
      while (read(inotify_fd_, buf, sizeof(buf)) > 0) {
      }
      settle_ms = kSettleMs;
    }
  }
}

void Lifecycle::lameduck(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    pollfd fd{signal_fd_, POLLIN, 0};
    const int n = poll(&fd, 1, static_cast<int>(left.count()));
    if (n <= 0) continue;
    signalfd_siginfo info{};
    if (read(signal_fd_, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) continue;
    const int sig = static_cast<int>(info.ssi_signo);
    if (sig == SIGTERM || sig == SIGINT) {
      base::logger("main")->warn("second {}: ending the lameduck early",
                                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
      return;
    }
    base::logger("main")->info("SIGHUP during lameduck: ignored");
  }
}

}  // namespace clusterdns::ops
