// The seam between transport and answers: dns/ calls it, zones/ (and later the forwarder) implement it.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

namespace clusterdns::dns {

enum class Transport { Udp, Tcp };

struct QueryContext {
  Transport transport = Transport::Udp;
  const sockaddr* peer = nullptr;  // the client's address, valid for the call only
  socklen_t peer_len = 0;
  // TCP only: lets a handler send messages before its final one (AXFR). Null on UDP.
  const std::function<void(std::span<const uint8_t>)>* stream = nullptr;
};

// Thread-safe; called concurrently from every worker thread. Must not block, lock or allocate on hits.
class QueryHandler {
 public:
  virtual ~QueryHandler() = default;
  // Writes the response to `query` into `out` and returns its length; 0 means drop the query silently.
  // `out` holds at least 65535 bytes; UDP size limits are the handler's job (it sees the EDNS buffer size).
  virtual size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) = 0;
};

}  // namespace clusterdns::dns
