// Test support (header-only, not in the server): a real etcd on free loopback ports with its own data dir.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

extern char** environ;

namespace clusterdns::discovery::etcd::testing {

// A port the kernel just handed out on 127.0.0.1 (free now; a race with other processes is unlikely).
inline int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

// Whether an `etcd` executable is on PATH (tests skip, rather than fail, without it).
inline bool etcd_installed() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty() && access((dir + "/etcd").c_str(), X_OK) == 0) return true;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return false;
}

// Starts `etcd` as a direct child (its own PID: etcd takes over a second to exit after SIGTERM) and waits
// until /health says true (bounded: 15 s). Progress notifications every second unless extra_args say
// otherwise. Stops it (SIGTERM, bounded wait, then SIGKILL) and removes the data dir when destroyed.
class LocalEtcd {
 public:
  explicit LocalEtcd(
      std::vector<std::string> extra_args = {"--experimental-watch-progress-notify-interval=1s"},
      std::string scheme = "http")
      : extra_(std::move(extra_args)), scheme_(std::move(scheme)) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "clusterdns-etcd-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    for (int attempt = 0; attempt < 3; ++attempt) {
      client_port_ = free_loopback_port();
      peer_port_ = free_loopback_port();
      metrics_port_ = free_loopback_port();
      if (start()) return;
      kill9();
    }
    throw std::runtime_error("etcd did not become healthy; log: " + log_path());
  }
  ~LocalEtcd() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  LocalEtcd(const LocalEtcd&) = delete;
  LocalEtcd& operator=(const LocalEtcd&) = delete;

  std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(client_port_); }
  int port() const { return client_port_; }
  pid_t pid() const { return pid_; }
  std::string log_path() const { return dir_ + "/etcd.log"; }
  const std::string& dir() const { return dir_; }

  // SIGKILL and reap: the data dir stays as a crash leaves it.
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // SIGTERM, wait (bounded: 10 s; shutdown takes over a second), then SIGKILL.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill9();
  }
  // Starts again on the same ports and data dir.
  void restart() {
    stop();
    if (!start()) throw std::runtime_error("etcd did not come back; log: " + log_path());
  }

 private:
  bool start() {
    const std::string client = url();
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args;
    // etcd dies with the test process, even one that crashes (setpriv execs etcd with PR_SET_PDEATHSIG).
    if (access("/usr/bin/setpriv", X_OK) == 0) args = {"/usr/bin/setpriv", "--pdeathsig", "KILL", "--"};
    args.insert(args.end(),
                {"etcd", "--name=test", "--data-dir=" + dir_ + "/data", "--listen-client-urls=" + client,
                 "--advertise-client-urls=" + client, "--listen-peer-urls=" + peer,
                 "--initial-advertise-peer-urls=" + peer, "--initial-cluster=test=" + peer,
                 "--listen-metrics-urls=http://127.0.0.1:" + std::to_string(metrics_port_)});
    args.insert(args.end(), extra_.begin(), extra_.end());
    std::vector<char*> argv;
    for (std::string& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start etcd (is etcd-server installed?)");
    // Healthy = the metrics listener's /health answers true (plain HTTP even when clients use TLS).
    httplib::Client health("127.0.0.1", metrics_port_);
    health.set_connection_timeout(std::chrono::milliseconds(200));
    health.set_read_timeout(std::chrono::seconds(1));
    for (int i = 0; i < 150; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      auto res = health.Get("/health");
      if (res && res->status == 200 && res->body.find("true") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::vector<std::string> extra_;
  std::string scheme_;
  std::string dir_;
  int client_port_ = 0, peer_port_ = 0, metrics_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace clusterdns::discovery::etcd::testing
