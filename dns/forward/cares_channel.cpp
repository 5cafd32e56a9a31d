// c-ares on an Asio loop: the socket-state callback, fd watches and the timeout timer.
#include "dns/forward/cares_channel.hpp"

#include <stdexcept>
#include <string>

namespace clusterdns::dns::forward {

namespace asio = boost::asio;

Channel::Channel(asio::io_context& io, const Upstream& upstream, const ChannelOptions& options)
    : io_(io), timer_(io), alive_(std::make_shared<bool>(true)) {
  ares_options opts{};
  int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
             ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_RESOLVCONF;
  opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
  if (options.force_tcp) opts.flags |= ARES_FLAG_USEVC | ARES_FLAG_STAYOPEN;
  opts.timeout = static_cast<int>(options.timeout.count());
  opts.tries = 1;  // failover and retries are ours: we know which upstreams are healthy
  opts.sock_state_cb = &Channel::on_sock_state;
  opts.sock_state_cb_data = this;
  opts.ndomains = 0;
  opts.domains = nullptr;
  char lookups[] = "b";
  opts.lookups = lookups;
  // The machine's resolv.conf names its own resolver, which must never be asked: read nothing.
  char resolvconf[] = "/dev/null";
  opts.resolvconf_path = resolvconf;
  int rc = ares_init_options(&channel_, &opts, mask);
  if (rc != ARES_SUCCESS) throw std::runtime_error(std::string("ares_init_options: ") + ares_strerror(rc));
  rc = ares_set_servers_ports_csv(channel_, upstream.text.c_str());
  if (rc != ARES_SUCCESS) {
    ares_destroy(channel_);
    throw std::runtime_error("ares_set_servers_ports_csv(" + upstream.text + "): " + ares_strerror(rc));
  }
}

Channel::~Channel() {
  *alive_ = false;
  timer_.cancel();
  ares_destroy(channel_);           // calls on_sock_state(fd, 0, 0) for every socket it closes
  for (auto& [fd, w] : watches_) {  // anything c-ares did not report: stop watching, never close
    w->closed = true;
    boost::system::error_code ignored;
    w->sd.cancel(ignored);
    w->sd.release();
  }
}

void Channel::send(const uint8_t* query, size_t len, ares_callback callback, void* arg) {
  ares_send(channel_, query, static_cast<int>(len), callback, arg);
  update_timer();
}

void Channel::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  auto* self = static_cast<Channel*>(data);
  auto it = self->watches_.find(fd);
  if (!readable && !writable) {
    if (it == self->watches_.end()) return;
    // c-ares is about to close fd: stop watching it, and let c-ares alone close it
    // (ares_set_socket_functions(3) is not used, so the socket is c-ares's own).
    auto w = it->second;
    self->watches_.erase(it);
    w->closed = true;
    boost::system::error_code ignored;
    w->sd.cancel(ignored);
    w->sd.release();
    return;
  }
  if (it == self->watches_.end())
    it = self->watches_.emplace(fd, std::make_shared<Watch>(self->io_, fd)).first;
  it->second->want_read = readable != 0;
  it->second->want_write = writable != 0;
  self->arm(it->second);
}

void Channel::arm(const std::shared_ptr<Watch>& w) {
  if (w->closed) return;
  // Asio re-registers the fd with EPOLL_CTL_MOD for each wait, so readiness that predates the wait is
  // still reported (no lost edge).
  if (w->want_read && !w->reading) {
    w->reading = true;
    w->sd.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, w](const boost::system::error_code& ec) {
                       w->reading = false;
                       if (w->closed || ec) return;
                       process(w, true, false);
                     });
  }
  if (w->want_write && !w->writing) {
    w->writing = true;
    w->sd.async_wait(asio::posix::stream_descriptor::wait_write,
                     [this, w](const boost::system::error_code& ec) {
                       w->writing = false;
                       if (w->closed || ec) return;
                       process(w, false, true);
                     });
  }
}

void Channel::process(const std::shared_ptr<Watch>& w, bool readable, bool writable) {
  // May run callbacks, which may send more queries, and may close this very fd (then w->closed).
  ares_process_fd(channel_, readable ? w->fd : ARES_SOCKET_BAD, writable ? w->fd : ARES_SOCKET_BAD);
  if (!w->closed) arm(w);
  update_timer();
}

void Channel::update_timer() {
  timeval tv{};
  timeval* next = ares_timeout(channel_, nullptr, &tv);
  if (next == nullptr) {
    timer_.cancel();
    return;
  }
  const auto delay = std::chrono::seconds(next->tv_sec) + std::chrono::microseconds(next->tv_usec);
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(delay) +
                       std::chrono::milliseconds(1));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // runs the timeouts
    update_timer();
  });
}

}  // namespace clusterdns::dns::forward
