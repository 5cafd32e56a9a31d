// Internal: server-wide TCP connection accounting shared by every worker: the cap and the per-client cap.
#pragma once

#include <utility>  // before Asio in C++20 (Boost 1.74 asio/awaitable.hpp uses std::exchange without it)

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace clusterdns::dns::detail {

class TcpLimits {
 public:
  enum class Admit { Yes, ServerFull, ClientFull };

  // `max_per_client` 0: no per-client cap.
  TcpLimits(size_t max_connections, size_t max_per_client);

  // Counts a new connection from `client`; with anything but Yes nothing was counted. Any thread.
  Admit admit(const boost::asio::ip::address& client);
  // The connection admit() counted has closed. Any thread.
  void release(const boost::asio::ip::address& client);

  // At the cap or within its last 1/16: a worker accepting a connection first evicts the least recently
  // active one (RFC 7766 §6.2.3: a server under load may close idle connections). The reserve leaves room
  // while another worker evicts for this one.
  bool near_cap() const { return open() + reserve_ >= max_connections_; }
  size_t open() const { return open_.load(std::memory_order_relaxed); }
  size_t max_connections() const { return max_connections_; }
  size_t max_per_client() const { return max_per_client_; }

  // evict_on[w]() asks worker w to close its least recently active connection (posts to its thread). Set
  // before the worker threads start, read-only afterwards.
  std::vector<std::function<void()>> evict_on;

 private:
  using Key = std::array<uint8_t, 16>;  // IPv6, or IPv4-mapped
  struct KeyHash {
    size_t operator()(const Key& key) const {
      return std::hash<std::string_view>()({reinterpret_cast<const char*>(key.data()), key.size()});
    }
  };
  static Key key_of(const boost::asio::ip::address& client);

  const size_t max_connections_;
  const size_t max_per_client_;
  const size_t reserve_;
  std::atomic<size_t> open_{0};
  std::mutex per_client_mutex_;  // accept and close only, never per query
  std::unordered_map<Key, size_t, KeyHash> per_client_;
};

}  // namespace clusterdns::dns::detail
