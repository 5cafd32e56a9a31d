// TCP (RFC 7766) accept: the server-wide and per-client connection caps, eviction near the cap.
#include "dns/server/tcp_listener.hpp"

#include <cerrno>
#include <vector>

namespace clusterdns::dns::detail {
namespace {

constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr unsigned kMaxAcceptedAtClose = 64;  // close(): backlog connections still answered

bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
         ec == boost::asio::error::no_memory || ec.value() == ENFILE;
}

}  // namespace

bool evict_least_active(WorkerContext& worker) {
  // Oldest first; one owing a deferred answer is skipped. Bounded: this runs on accept.
  unsigned looked = 0;
  for (auto it = worker.tcp_by_activity.begin(); it != worker.tcp_by_activity.end() && looked < 64;
       ++looked) {
    TcpConnection* connection = *it++;  // evict() erases it from the list
    if (connection->evict()) return true;
  }
  return false;
}

TcpListener::TcpListener(WorkerContext& worker, boost::asio::ip::tcp::acceptor acceptor)
    : worker_(worker), acceptor_(std::move(acceptor)), backoff_(worker.io) {}

void TcpListener::start() {
  accept();
}

void TcpListener::close() {
  if (closed_) return;
  closed_ = true;
  // Connections the kernel completed but we had not accepted yet came to a server that was serving: answer
  // what their clients already sent instead of letting the close reset them (bounded).
  boost::system::error_code ec;
  acceptor_.non_blocking(true, ec);
  for (unsigned i = 0; i < kMaxAcceptedAtClose && !ec; ++i) {
    boost::asio::ip::tcp::socket socket(worker_.io);
    acceptor_.accept(socket, ec);
    if (ec) break;
    auto connection = admit(socket, false);
    if (!connection) break;
    connection->take_sent_bytes();
    connection->start();
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
  const std::vector<std::shared_ptr<TcpConnection>> open(connections_.begin(), connections_.end());
  for (const auto& connection : open)
    connection->drain();
}

void TcpListener::accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
    on_accept(ec, std::move(socket));
  });
}

void TcpListener::on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
  if (closed_ || ec == boost::asio::error::operation_aborted) return;
  if (ec) {
    if (!is_resource_exhaustion(ec)) {  // e.g. the client reset before we accepted: its problem only
      worker_.log->debug("tcp accept: {}", ec.message());
      accept();
      return;
    }
    worker_.warn("tcp accept: {}; pausing accepts for {} ms", ec.message(), kAcceptBackoff.count());
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([this](const boost::system::error_code& wait_ec) {
      if (!closed_ && !wait_ec) accept();
    });
    return;
  }
  accept();
  if (auto connection = admit(socket, true)) connection->start();
}

std::shared_ptr<TcpConnection> TcpListener::admit(boost::asio::ip::tcp::socket& socket, bool evict) {
  boost::system::error_code ec;
  const boost::asio::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return nullptr;  // already gone
  TcpLimits& limits = worker_.tcp_limits;
  const auto make_room = [&] {
    if (evict_least_active(worker_)) return true;
    // Nothing to evict here: ask the next worker (its connection goes a moment later; the reserve below
    // the cap lets this one in meanwhile).
    if (limits.evict_on.size() > 1) limits.evict_on[(worker_.index + 1) % limits.evict_on.size()]();
    return false;
  };
  const bool crowded = evict && limits.near_cap();  // before this one counts
  // A client over its own cap evicts nobody: its retries must not cost others their connections.
  TcpLimits::Admit verdict = limits.admit(peer.address());
  if (verdict == TcpLimits::Admit::ServerFull && evict && make_room()) {
    verdict = limits.admit(peer.address());
  } else if (verdict == TcpLimits::Admit::Yes && crowded) {
    make_room();
  }
  switch (verdict) {
    case TcpLimits::Admit::Yes:
      break;
    case TcpLimits::Admit::ServerFull:
      worker_.counters.tcp_rejected.add(1);
      worker_.warn("tcp connection limit ({}) reached; closing a new connection from {}",
                   limits.max_connections(), peer.address().to_string());
      return nullptr;  // `socket` closes with its owner
    case TcpLimits::Admit::ClientFull:
      worker_.counters.tcp_rejected.add(1);
      worker_.warn("tcp connection limit per client ({}) reached by {}; closing its new connection",
                   limits.max_per_client(), peer.address().to_string());
      return nullptr;
  }
  worker_.counters.tcp_accepted.add(1);
  auto connection = std::make_shared<TcpConnection>(*this, std::move(socket), peer);
  connections_.insert(connection);
  return connection;
}

}  // namespace clusterdns::dns::detail
