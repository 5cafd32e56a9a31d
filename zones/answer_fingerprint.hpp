// What a node's compiled answers are made of, hashed: equal fingerprints in two builds mean equal answers
// (up to the SOA serial, which the snapshot patches), so a rebuild copies them instead of compiling again.
#pragma once

#include <cstdint>
#include <string_view>

#include "zones/draft.hpp"

namespace clusterdns::zones {

// CNAME hops an answer follows inside our zones (RFC 1034 §4.3.2 step 3a, bounded).
inline constexpr int kMaxCnameHops = 8;

// Everything Snapshot's compiler reads for the answers of the node named `name`, but the name itself
// (compare names apart): the
// node's RRsets, every node of its CNAME chain (or the zone a dangling target falls in), and the A/AAAA
// RRsets of every SRV, NS and MX target along it. Over-approximates: a fingerprint may change when no
// answer does, never the reverse.
uint64_t answer_fingerprint(const ZoneDraft& draft, std::string_view name, const DraftNode& node);

// The zones' definitions without their serials: answers are reused only between builds with equal ones.
uint64_t zones_fingerprint(const ZoneDraft& draft);

}  // namespace clusterdns::zones
