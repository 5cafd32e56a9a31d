// Test support (header-only, not in the server): a loopback TCP relay that can cut or silence its traffic.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace clusterdns::discovery::etcd::testing {

// Listens on 127.0.0.1:<port()> and relays each connection to 127.0.0.1:<upstream>. Modes:
//  Forward   relay both ways;
//  Refuse    close every connection, and each new one as soon as it is accepted (a peer that went away);
//  Blackhole keep connections open but move no byte either way (a silent peer: only timeouts notice);
//            a connection accepted meanwhile stays silent after the mode changes back.
class TcpProxy {
 public:
  enum class Mode { Forward, Refuse, Blackhole };

  explicit TcpProxy(int upstream_port) : upstream_(upstream_port) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener_, 64) != 0 || getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("proxy: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    thread_.join();
    close_all();
    close(listener_);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_mode(Mode m) { mode_ = m; }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return pairs_.size();
  }

 private:
  static sockaddr_in loopback(int port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    return addr;
  }

  void run() {
    while (!stop_) {
      const Mode mode = mode_;
      std::vector<pollfd> fds = {{listener_, POLLIN, 0}};
      std::vector<std::size_t> pair_of;  // fds[i] (i >= 1) belongs to pairs_[pair_of[i - 1]]
      {
        std::lock_guard lock(mutex_);
        if (mode == Mode::Refuse) close_all();
        for (std::size_t p = 0; mode == Mode::Forward && p < pairs_.size(); ++p) {
          if (pairs_[p].second < 0) continue;  // accepted while silenced: stays silent for good
          fds.push_back({pairs_[p].first, POLLIN, 0});
          fds.push_back({pairs_[p].second, POLLIN, 0});
          pair_of.push_back(p);
          pair_of.push_back(p);
        }
      }
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) accept_one(mode);
      std::vector<std::size_t> dead;
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        int to = (i % 2 == 1) ? fds[i + 1].fd : fds[i - 1].fd;
        char buf[16384];
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0 || !write_all(to, buf, static_cast<std::size_t>(n))) {
          if (dead.empty() || dead.back() != pair_of[i - 1]) dead.push_back(pair_of[i - 1]);
        }
      }
      std::lock_guard lock(mutex_);
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        close(pairs_[*it].first);
        close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + static_cast<std::ptrdiff_t>(*it));
      }
    }
  }

  void close_all() {
    for (auto& [a, b] : pairs_) {
      close(a);
      if (b >= 0) close(b);
    }
    pairs_.clear();
  }

  void accept_one(Mode mode) {
    int c = accept(listener_, nullptr, nullptr);
    if (c < 0) return;
    if (mode == Mode::Refuse) {
      close(c);
      return;
    }
    int u = -1;
    if (mode == Mode::Forward) {
      u = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = loopback(upstream_);
      if (u < 0 || connect(u, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (u >= 0) close(u);
        close(c);
        return;
      }
    }
    std::lock_guard lock(mutex_);
    pairs_.emplace_back(c, u);
  }

  static bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
      ssize_t w = send(fd, p, n, MSG_NOSIGNAL);  // a peer that hung up is an error here, not SIGPIPE
      if (w <= 0) return false;
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int upstream_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<Mode> mode_{Mode::Forward};
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::pair<int, int>> pairs_;  // (client side, upstream side)
  std::thread thread_;
};

}  // namespace clusterdns::discovery::etcd::testing
