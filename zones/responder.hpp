// The authoritative QueryHandler: parses the query, finds the precompiled answer, copies it out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns/handler.hpp"
#include "dns/wire/query.hpp"
#include "zones/holder.hpp"

namespace clusterdns::zones {

// An address block for --allow-transfer ("10.0.0.0/8", "::1", "127.0.0.1/32").
struct Cidr {
  bool v6 = false;
  uint8_t bytes[16] = {};
  unsigned prefix = 0;
  static std::optional<Cidr> parse(const std::string& text);
  bool contains(const sockaddr* addr) const;
};

struct ResponderOptions {
  std::vector<Cidr> allow_transfer;  // empty: AXFR/IXFR always REFUSED
};

class Responder : public dns::QueryHandler {
 public:
  Responder(const SnapshotHolder& holder, ResponderOptions options);
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                const dns::QueryContext& ctx) override;

 private:
  size_t transfer(std::span<const uint8_t> query, const dns::wire::ParsedQuery& q, const Snapshot& snap,
                  const Zone& zone, std::span<uint8_t> out, const dns::QueryContext& ctx) const;
  bool peer_allowed(const dns::QueryContext& ctx) const;
  const SnapshotHolder& holder_;
  ResponderOptions options_;
};

}  // namespace clusterdns::zones
