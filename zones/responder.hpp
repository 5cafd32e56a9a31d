// The authoritative QueryHandler: parses the query, finds the precompiled answer, copies it out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address_block.hpp"
#include "dns/handler.hpp"
#include "dns/wire/query.hpp"
#include "zones/holder.hpp"

namespace clusterdns::zones {

struct ResponderOptions {
  std::vector<base::AddressBlock> allow_transfer;  // empty: AXFR/IXFR always REFUSED
  // Names in no served zone go here (the forwarder, dns/forward); null: REFUSED. Its per-thread state is
  // registered with the server (Server::add_worker_hooks), not started through the Responder.
  dns::QueryHandler* fallback = nullptr;
  // The same forwarding path, for what an answer of ours needs from it: a CNAME target outside the zones
  // (ExternalName) resolved, reverse names we do not own forwarded. Null: the CNAME alone, NXDOMAIN.
  dns::Recursion* recursion = nullptr;
  // Multi-record answers (A, AAAA, SRV) rotate by one per response, as CoreDNS's loadbalance: clients
  // that take the first address spread over the endpoints. False: the snapshot's order, always.
  bool rotate = true;
};

class Responder : public dns::QueryHandler {
 public:
  Responder(const SnapshotHolder& holder, ResponderOptions options);
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                const dns::QueryContext& ctx) override;
  // The snapshot this thread answers from (the one answer() just used); null before the first. Worker
  // thread; lock-free.
  const Snapshot* snapshot() const;

 private:
  size_t transfer(std::span<const uint8_t> query, const dns::wire::ParsedQuery& q, const Snapshot& snap,
                  const Zone& zone, std::span<uint8_t> out, const dns::QueryContext& ctx) const;
  bool peer_allowed(const dns::QueryContext& ctx) const;
  // An answer (`n` bytes in `out`) whose chain ends in a CNAME leaving the zones: completed by recursion.
  size_t complete_cname(std::span<const uint8_t> query, const dns::wire::ParsedQuery& q,
                        std::span<uint8_t> out, size_t n, const Snapshot& snap, const Lookup& l,
                        const dns::QueryContext& ctx);
  const SnapshotHolder& holder_;
  ResponderOptions options_;
};

}  // namespace clusterdns::zones
