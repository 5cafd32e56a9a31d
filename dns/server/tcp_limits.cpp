// TcpLimits: the server-wide and per-client TCP connection counts.
#include "dns/server/tcp_limits.hpp"

namespace clusterdns::dns::detail {

TcpLimits::TcpLimits(size_t max_connections, size_t max_per_client)
    : max_connections_(max_connections), max_per_client_(max_per_client), reserve_(max_connections / 16) {}

TcpLimits::Key TcpLimits::key_of(const boost::asio::ip::address& client) {
  if (client.is_v6()) return client.to_v6().to_bytes();
  return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, client.to_v4()).to_bytes();
}

TcpLimits::Admit TcpLimits::admit(const boost::asio::ip::address& client) {
  const auto count_server_wide = [this] {
    if (open_.fetch_add(1, std::memory_order_relaxed) < max_connections_) return true;
    open_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  };
  if (max_per_client_ == 0) return count_server_wide() ? Admit::Yes : Admit::ServerFull;
  // The client's own cap first: a client over it is refused as such, whatever the server-wide count.
  std::lock_guard lock(per_client_mutex_);
  const auto it = per_client_.try_emplace(key_of(client), 0).first;
  if (it->second >= max_per_client_) return Admit::ClientFull;
  if (!count_server_wide()) {
    if (it->second == 0) per_client_.erase(it);
    return Admit::ServerFull;
  }
  ++it->second;
  return Admit::Yes;
}

void TcpLimits::release(const boost::asio::ip::address& client) {
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (max_per_client_ == 0) return;
  std::lock_guard lock(per_client_mutex_);
  const auto it = per_client_.find(key_of(client));
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

}  // namespace clusterdns::dns::detail
