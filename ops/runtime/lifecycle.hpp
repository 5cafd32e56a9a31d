// The main thread's loop: SIGHUP or a changed --config file reloads; SIGTERM/SIGINT starts the lameduck.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>

#include "ops/runtime/runtime_metrics.hpp"

namespace clusterdns::ops {

class Lifecycle {
 public:
  // Applies a new configuration, or throws std::exception (what(): one line, e.g. "config.yaml:4: ttl:
  // invalid value …") and changes nothing.
  using ReloadFn = std::function<void()>;

  // `config_path` "" means no file to watch (SIGHUP still reloads the command line's zone files).
  Lifecycle(std::string config_path, ReloadFn reload, ReloadStats& stats);
  ~Lifecycle();
  Lifecycle(const Lifecycle&) = delete;
  Lifecycle& operator=(const Lifecycle&) = delete;

  // SIGINT, SIGTERM and SIGHUP: block them (pthread_sigmask) before starting any thread, so that every thread
  // inherits the mask and only this loop receives them.
  static sigset_t handled_signals();

  // Blocks until SIGTERM or SIGINT and returns it. Meanwhile SIGHUP reloads, and so does a change of the
  // config file's content (its directory is watched with inotify, which also sees editors that save by
  // rename and Kubernetes ConfigMap updates, an atomic swap of the `..data` symlink).
  int run();

  // Waits `duration`, or less if SIGTERM/SIGINT arrives again (an impatient operator). Reloads are ignored.
  void lameduck(std::chrono::milliseconds duration);

  // One reload now; true when applied. Counts it in ReloadStats and logs the outcome.
  bool reload(const std::string& why);

 private:
  void watch_config();
  bool config_changed();

  const std::string config_path_;
  ReloadFn reload_;
  ReloadStats& stats_;
  int signal_fd_ = -1;
  int inotify_fd_ = -1;
  std::string last_seen_hash_;  // of the config file's content when last (re)loaded or rejected
};

}  // namespace clusterdns::ops
