// The seam between transport and answers: dns/ calls it, zones/ and dns/forward/ implement it.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include "dns/wire/query.hpp"

namespace boost::asio {
class io_context;
}

namespace clusterdns::dns {

enum class Transport { Udp, Tcp };

// An answer a handler promised to send later (a forwarded query). Complete it at most once, on the worker
// thread whose answer() created it; destroying it uncompleted drops the query (the client retries). The
// server keeps what the reply needs (UDP peer and socket, the TCP connection and the answer's place in
// its pipeline), so a reply outliving its socket is harmless: it is dropped.
class PendingReply {
 public:
  virtual ~PendingReply() = default;
  // `message` is a whole DNS message (no TCP length prefix), at most 65535 bytes; empty means drop. Over
  // UDP it is sent as is: fitting it to the client's buffer size is the caller's job, as in answer().
  virtual void complete(std::span<const uint8_t> message) = 0;
};

// Lets a handler answer later. Calling defer() is the one signal that the answer comes later: answer()
// then returns 0 and the server sends what the PendingReply is given. Decorators that must see deferred
// answers (metrics, rewriting) or tell them from drops (both return 0) hand the inner handler their own
// Deferrer, which wraps each PendingReply the outer one returns (see ReplyWrapper) and notes the call.
class Deferrer {
 public:
  // Only inside QueryHandler::answer(), at most once per query.
  virtual std::unique_ptr<PendingReply> defer() = 0;

 protected:
  ~Deferrer() = default;
};

struct QueryContext {
  Transport transport = Transport::Udp;
  const sockaddr* peer = nullptr;  // the client's address, valid for the call only
  socklen_t peer_len = 0;
  // TCP only: lets a handler send messages before its final one (AXFR). Null on UDP.
  const std::function<void(std::span<const uint8_t>)>* stream = nullptr;
  // Null when the caller cannot wait (tests, fuzzers): a handler then answers now or SERVFAIL.
  Deferrer* deferrer = nullptr;
  unsigned worker = 0;  // index of the calling worker thread, as passed to start_worker()
  // The server parses each query once, before the first handler, and every handler of the chain reads
  // that parse (see parsed_query()): `parsed` is the parse of the bytes `parsed_bytes`, valid for the call.
  // Null when the caller did not parse (tests, fuzzers, the probe).
  const wire::ParsedQuery* parsed = nullptr;
  std::span<const uint8_t> parsed_bytes;
};

// The parse of `query`: the one ctx carries when it is of these very bytes (a handler asking another
// about a query it built itself gets a fresh one), else `local`, parsed now. Never allocates.
inline const wire::ParsedQuery& parsed_query(std::span<const uint8_t> query, const QueryContext& ctx,
                                             wire::ParsedQuery& local) {
  if (ctx.parsed && ctx.parsed_bytes.data() == query.data() && ctx.parsed_bytes.size() == query.size())
    return *ctx.parsed;
  wire::parse_query(query, local);
  return local;
}

// Thread-safe; called concurrently from every worker thread. Must not block, lock or allocate on hits.
class QueryHandler {
 public:
  virtual ~QueryHandler() = default;
  // Writes the response to `query` into `out` and returns its length, or 0: no response now. After
  // ctx.deferrer->defer() (and only then) the answer follows through that PendingReply; otherwise 0 drops
  // the query silently.
  // `out` holds at least 65535 bytes; UDP size limits are the handler's job (it sees the EDNS buffer size).
  virtual size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const QueryContext& ctx) = 0;
};

// Per-thread state of whatever answers queries (an upstream channel, a cache shard), registered with the
// server directly (Server::add_worker_hooks), whichever handlers wrap its owner. The server calls
// start_worker on each worker thread, with that thread's event loop, before the thread answers anything,
// and stop_worker on the same thread when it shuts down (after its listeners closed): the owner must then
// cancel every timer and socket it put on `io`, so that the loop can return.
class WorkerHooks {
 public:
  virtual void start_worker(unsigned worker, boost::asio::io_context& io) = 0;
  virtual void stop_worker(unsigned worker) = 0;

 protected:
  ~WorkerHooks() = default;
};

// What an authoritative handler may ask of the forwarding path besides answer() (zones/ holds one when
// forwarding is on): whether a name would be forwarded for this client, and the completion of an answer
// whose CNAME chain leaves the served zones (an ExternalName Service), as a recursive server would.
class Recursion {
 public:
  // True when answer() would send `qname` (lower-cased wire form) upstream for this client: a route with
  // servers covers it and the client may have names resolved (--allow-recursion). Worker thread.
  virtual bool recurses(std::string_view qname, const QueryContext& ctx) = 0;
  // `out` holds, in its first `len` bytes, an authoritative answer to `query` whose answer section ends
  // with a CNAME to `target` (lower-cased wire form), a name outside every served zone. Resolves the
  // target for the query's type and appends its records (RFC 1034 §4.3.2 step 3a; the RCODE then
  // describes the target, RFC 6604 §3). Returns the new length in `out`, `len` to leave the answer as it
  // is (the client may not recurse, no route), or 0 when ctx.deferrer->defer() was called (the merged
  // answer then follows through that PendingReply).
  virtual size_t complete_cname(std::span<const uint8_t> query, std::span<uint8_t> out, size_t len,
                                std::string_view target, const QueryContext& ctx) = 0;

 protected:
  ~Recursion() = default;
};

// A PendingReply that hands the message to a function (observe it, rewrite it), then to the wrapped
// reply. The function gets the message and the wrapped reply; it must complete the latter (or drop it).
class ReplyWrapper : public PendingReply {
 public:
  using Fn = std::function<void(std::span<const uint8_t>, PendingReply&)>;
  ReplyWrapper(std::unique_ptr<PendingReply> inner, Fn fn) : inner_(std::move(inner)), fn_(std::move(fn)) {}
  void complete(std::span<const uint8_t> message) override {
    if (!inner_) return;
    auto inner = std::move(inner_);
    fn_(message, *inner);
  }

 private:
  std::unique_ptr<PendingReply> inner_;
  Fn fn_;
};

}  // namespace clusterdns::dns
