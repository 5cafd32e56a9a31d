// Fingerprints of compiled answers' inputs (see the header).
#include "zones/answer_fingerprint.hpp"

#include <functional>

#include "dns/wire/types.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {

class Hasher {
 public:
  void add(uint64_t v) {
    // splitmix64's finaliser over a running state: cheap, and every input bit reaches every output bit.
    h_ = (h_ ^ v) + 0x9E3779B97F4A7C15ull;
    h_ = (h_ ^ (h_ >> 30)) * 0xBF58476D1CE4E5B9ull;
    h_ = (h_ ^ (h_ >> 27)) * 0x94D049BB133111EBull;
    h_ ^= h_ >> 31;
  }
  void add(std::string_view s) {
    add(std::hash<std::string_view>{}(s));
    add(s.size());
  }
  void add(const RRset& set) {
    add(set.ttl);
    add(set.rdatas.size());
    for (const Rdata& rd : set.rdatas) {
      add(rd.raw);
      add(rd.name_at);
    }
  }
  void add_node(const DraftNode& n) {
    add(n.insecure_pod_parent ? 1u : 0u);
    add(n.rrsets.size());
    for (const auto& [type, set] : n.rrsets) {
      add(type);
      add(set);
    }
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0x5851F42D4C957F2Dull;
};

// The additional-section targets of a node's RRsets (Snapshot's compiler adds their addresses).
void add_targets(Hasher& h, const ZoneDraft& draft, std::string_view name, const DraftNode& n) {
  for (const auto& [type, set] : n.rrsets) {
    const bool srv = type == wire::rrtype::SRV;
    if (!srv && type != wire::rrtype::NS && type != wire::rrtype::MX) continue;
    for (const Rdata& rd : set.rdatas) {
      std::string_view target;
      if (srv && rd.raw.size() > 6) target = std::string_view(rd.raw).substr(6);
      if (!srv && rd.name_at != Rdata::kNoName) target = std::string_view(rd.raw).substr(rd.name_at);
      if (target.empty()) continue;  // the target's name is in the RDATA, hashed already
      // A service's own SRV records name the service itself: no lookup for those.
      const DraftNode* t = target == name ? &n : draft.find(target);
      h.add(t ? 1u : 0u);
      if (!t) continue;
      for (uint16_t at : {wire::rrtype::A, wire::rrtype::AAAA}) {
        auto it = t->rrsets.find(at);
        h.add(it == t->rrsets.end() ? 0u : 1u);
        if (it != t->rrsets.end()) h.add(it->second);
      }
    }
  }
}

}  // namespace

uint64_t answer_fingerprint(const ZoneDraft& draft, std::string_view name, const DraftNode& node) {
  Hasher h;
  h.add_node(node);
  add_targets(h, draft, name, node);
  const DraftNode* at = &node;
  for (int hop = 0; hop <= kMaxCnameHops + 1; ++hop) {  // one more than the compiler ever follows
    auto cname = at->rrsets.find(wire::rrtype::CNAME);
    if (cname == at->rrsets.end() || cname->second.rdatas.empty()) break;
    const std::string_view target = cname->second.rdatas.front().raw;  // hashed with the RRset already
    at = draft.find(target);
    h.add(at ? 1u : 0u);
    if (!at) {
      h.add(static_cast<uint64_t>(draft.zone_of(target) + 2));  // NXDOMAIN from that zone's SOA, or none
      break;
    }
    h.add_node(*at);
    add_targets(h, draft, target, *at);
  }
  return h.value();  // the zone a name falls in follows from the name and the zones' fingerprint
}

uint64_t zones_fingerprint(const ZoneDraft& draft) {
  Hasher h;
  h.add(draft.zones().size());
  for (const DraftZone& z : draft.zones()) {
    h.add(z.apex);
    h.add(z.mname);
    h.add(z.rname);
    for (uint64_t v : {z.refresh, z.retry, z.expire, z.minimum, z.soa_ttl})
      h.add(v);
    h.add(z.registry_backed ? 1u : 0u);
  }
  return h.value();
}

}  // namespace clusterdns::zones
