// Compiling a ZoneDraft into wire answers, and the allocation-free lookup over them.
#include "zones/snapshot.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "dns/wire/writer.hpp"
#include "zones/answer_fingerprint.hpp"
#include "zones/names.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using wire::rrtype::ANY;

namespace {
// Largest body that still fits a 65535-byte message with the longest question and an OPT.
constexpr size_t kMaxBody = 65535 - wire::kHeaderSize - wire::kMaxNameLength - 4 - wire::kOptRecordSize;
constexpr uint16_t kNoType = 0;
}  // namespace

class Snapshot::Compiler {
 public:
  Compiler(const ZoneDraft& d, Snapshot& s) : d_(d), s_(s) {}

  // `qname` and every name reached from it stay valid as long as the draft: views, not copies.
  Answer compile(std::string_view qname, uint16_t qtype) {
    wire::CompressingWriter& w = w_;
    w.reset(wire::kHeaderSize + qname.size() + 4);
    w.add_known_name(qname, wire::kHeaderSize);
    ends_.clear();
    serials_at_.clear();
    Answer a;
    std::vector<std::string_view>& targets = targets_;  // names whose addresses go to the additional section
    targets.clear();
    std::string_view cur = qname;
    const DraftNode* node = d_.find(cur);
    for (int hop = 0; hop <= kMaxCnameHops && node; ++hop) {
      auto cname = node->rrsets.find(wire::rrtype::CNAME);
      auto it = node->rrsets.find(qtype);
      if (qtype == ANY) it = minimal_any(*node);  // RFC 8482 §4.1: one RRset, never everything
      if (it != node->rrsets.end() && (qtype != ANY || cname == node->rrsets.end())) {
        a.ancount = static_cast<uint16_t>(a.ancount + put_rrset(w, cur, it->first, it->second, &targets));
        break;
      }
      if (cname != node->rrsets.end() && qtype != wire::rrtype::CNAME) {
        a.ancount =
            static_cast<uint16_t>(a.ancount + put_rrset(w, cur, wire::rrtype::CNAME, cname->second, nullptr));
        if (qtype == ANY) break;
        cur = cname->second.rdatas.front().raw;
        node = d_.find(cur);
        if (!node) {
          // RFC 6604 §3: the RCODE describes the last name in the chain.
          const int z = d_.zone_of(cur);
          if (z >= 0) {
            a.rcode = static_cast<uint8_t>(wire::Rcode::NxDomain);
            a.nscount = static_cast<uint16_t>(a.nscount + put_soa(w, z));
          }
        }
        continue;
      }
      a.nscount = static_cast<uint16_t>(a.nscount + put_soa(w, d_.zone_of(cur)));  // NODATA (RFC 2308 §2.2)
      break;
    }
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());  // one RRset per name
    for (const auto& t : targets) {
      const DraftNode* tn = d_.find(t);
      if (!tn) continue;
      for (uint16_t type : {wire::rrtype::A, wire::rrtype::AAAA}) {
        auto it = tn->rrsets.find(type);
        if (it != tn->rrsets.end()) {
          a.arcount = static_cast<uint16_t>(a.arcount + put_rrset(w, t, type, it->second, nullptr));
        }
      }
    }
    return store(w, a);
  }

  // The SOA RR after its owner, for NXDOMAIN answers written at query time. Names below the apex are
  // compressed with a pointer to the apex inside the question, whose offset only the query knows:
  // `patches` lists where to add it (a pointer to offset 0 until then).
  std::vector<uint8_t> soa_tail(const DraftZone& z, std::vector<uint16_t>& patches) {
    wire::CompressingWriter w(0);
    w.put_u16(wire::rrtype::SOA);
    w.put_u16(wire::kClassIn);
    w.put_u32(negative_ttl(z));
    const size_t len_at = w.size();
    w.put_u16(0);
    for (const std::string* name : {&z.mname, &z.rname}) {
      if (wire::is_subdomain(*name, z.apex) && *name != z.apex) {
        w.put_bytes(std::string_view(*name).substr(0, name->size() - z.apex.size()));
        patches.push_back(static_cast<uint16_t>(w.size()));
        w.put_u16(0xC000);
      } else {
        w.put_bytes(*name);
      }
    }
    for (uint32_t v : {z.serial, z.refresh, z.retry, z.expire, z.minimum})
      w.put_u32(v);
    w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
    return w.bytes();
  }

 private:
  static uint32_t negative_ttl(const DraftZone& z) { return std::min(z.soa_ttl, z.minimum); }  // RFC 2308 §3

  RRsetMap::const_iterator minimal_any(const DraftNode& node) {
    for (uint16_t pref : {wire::rrtype::A, wire::rrtype::AAAA}) {
      auto it = node.rrsets.find(pref);
      if (it != node.rrsets.end()) return it;
    }
    return node.rrsets.begin();
  }

  size_t put_rrset(wire::CompressingWriter& w, std::string_view owner, uint16_t type, const RRset& set,
                   std::vector<std::string_view>* targets) {
    for (const Rdata& rd : set.rdatas) {
      put_rr(w, owner, type, set.ttl, rd);
      if (!targets) continue;
      const std::string_view raw = rd.raw;
      if (type == wire::rrtype::SRV && raw.size() > 6) targets->push_back(raw.substr(6));
      if ((type == wire::rrtype::NS || type == wire::rrtype::MX) && rd.name_at != Rdata::kNoName) {
        targets->push_back(raw.substr(rd.name_at));
      }
    }
    return set.rdatas.size();
  }

  void put_rr(wire::CompressingWriter& w, std::string_view owner, uint16_t type, uint32_t ttl,
              const Rdata& rd) {
    zones::put_rr(w, owner, type, ttl, rd);
    ends_.push_back(w.size());
  }

  size_t put_soa(wire::CompressingWriter& w, int zone) {
    if (zone < 0) return 0;
    const DraftZone& z = d_.zones()[static_cast<size_t>(zone)];
    // SOA names are compressible (RFC 1035 types): both usually share the apex with the question.
    w.put_name(z.apex);
    w.put_u16(wire::rrtype::SOA);
    w.put_u16(wire::kClassIn);
    w.put_u32(negative_ttl(z));
    const size_t len_at = w.size();
    w.put_u16(0);
    w.put_name(z.mname);
    w.put_name(z.rname);
    serials_at_.push_back({static_cast<uint32_t>(w.size()), static_cast<uint16_t>(zone)});
    for (uint32_t v : {z.serial, z.refresh, z.retry, z.expire, z.minimum})
      w.put_u32(v);
    w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
    ends_.push_back(w.size());
    return 1;
  }

  Answer store(const wire::CompressingWriter& w, Answer a) {
    size_t kept = ends_.size();
    while (kept > 0 && ends_[kept - 1] > kMaxBody)
      --kept;  // oversized: drop whole RRs from the end
    size_t len = kept ? ends_[kept - 1] : 0;
    if (kept < ends_.size()) {
      size_t drop = ends_.size() - kept;
      auto cut = [&](uint16_t& c) {
        const size_t n = std::min<size_t>(c, drop);
        c = static_cast<uint16_t>(c - n);
        drop -= n;
      };
      cut(a.arcount);
      cut(a.nscount);
      cut(a.ancount);
    }
    if (ends_.empty()) len = 0;
    a.body = static_cast<uint32_t>(s_.arena_.size());
    a.body_len = static_cast<uint32_t>(len);
    s_.arena_.insert(s_.arena_.end(), w.bytes().begin(), w.bytes().begin() + static_cast<long>(len));
    a.rr_ends = static_cast<uint32_t>(s_.rr_ends_.size());
    for (size_t i = 0; i < kept; ++i)
      s_.rr_ends_.push_back(static_cast<uint16_t>(ends_[i]));
    for (const SerialAt& at : serials_at_) {
      if (at.at + 4 <= len) s_.serials_.push_back({a.body + at.at, at.zone});
    }
    return a;
  }

  const ZoneDraft& d_;
  Snapshot& s_;
  std::vector<size_t> ends_;
  std::vector<SerialAt> serials_at_;       // in the writer, for the answer being compiled
  wire::CompressingWriter w_{0};           // reused by every compile()
  std::vector<std::string_view> targets_;  // likewise
};

namespace {
bool address_key(const std::string& ip, uint8_t (&out)[16]) {
  static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (inet_pton(AF_INET6, ip.c_str(), out) == 1) return true;
  std::memcpy(out, kV4Mapped, 12);
  return inet_pton(AF_INET, ip.c_str(), out + 12) == 1;
}
}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(std::shared_ptr<const ZoneDraft> draft, bool synced,
                                                uint32_t ttl, bool keep_draft,
                                                const std::vector<PodAddress>& pods,
                                                const Snapshot* previous) {
  auto s = std::make_shared<Snapshot>();
  s->ttl_ = ttl;
  s->synced_ = synced;
  const ZoneDraft& d = *draft;
  Compiler c(d, *s);
  for (const auto& z : d.zones()) {
    Zone zone{z.apex, {}, {}, z.registry_backed};
    zone.soa_tail = c.soa_tail(z, zone.soa_patches);
    s->zones_.push_back(std::move(zone));
  }
  s->zones_fingerprint_ = zones_fingerprint(d);
  if (previous && previous->zones_fingerprint_ != s->zones_fingerprint_) previous = nullptr;
  if (previous) {  // about the same size again: no regrowing (and copying) the arena on the way
    s->arena_.reserve(previous->arena_.size() + previous->arena_.size() / 8);
    s->rr_ends_.reserve(previous->rr_ends_.size() + previous->rr_ends_.size() / 8);
    s->typed_.reserve(previous->typed_.size() + previous->typed_.size() / 8);
    s->serials_.reserve(previous->serials_.size() + previous->serials_.size() / 8);
  }

  s->nodes_.reserve(d.nodes().size());
  s->fingerprints_.reserve(d.nodes().size());
  size_t cursor = 0;  // into previous->nodes_: both walk names in the draft's (byte-wise) order
  for (const auto& [name, dn] : d.nodes()) {
    const uint64_t fingerprint = answer_fingerprint(d, name, dn);
    s->fingerprints_.push_back(fingerprint);
    if (previous) {
      const auto& old = previous->nodes_;
      while (cursor < old.size() && previous->node_name(old[cursor]) < std::string_view(name))
        ++cursor;
      if (cursor < old.size() && previous->node_name(old[cursor]) == std::string_view(name) &&
          previous->fingerprints_[cursor] == fingerprint) {
        s->reuse_node(*previous, old[cursor], d);
        ++s->reused_;
        continue;
      }
    }
    Node n;
    n.name = static_cast<uint32_t>(s->arena_.size());
    n.name_len = static_cast<uint16_t>(name.size());
    s->arena_.insert(s->arena_.end(), name.begin(), name.end());
    n.zone = static_cast<uint16_t>(std::max(0, d.zone_of(name)));
    n.hash = wire::hash_name(name);
    n.insecure_pod_parent = dn.insecure_pod_parent;
    // Typed answers: each type the node owns, and for a CNAME each type its in-zone target chain owns.
    std::vector<uint16_t> types;
    for (const auto& [type, set] : dn.rrsets)
      types.push_back(type);
    const DraftNode* t = &dn;
    for (int hop = 0; hop < kMaxCnameHops && t; ++hop) {
      auto cn = t->rrsets.find(wire::rrtype::CNAME);
      if (cn == t->rrsets.end()) break;
      t = d.find(cn->second.rdatas.front().raw);
      if (t) {
        for (const auto& [type, set] : t->rrsets)
          types.push_back(type);
      }
    }
    if (!dn.rrsets.empty()) types.push_back(ANY);
    std::sort(types.begin(), types.end());
    types.erase(std::unique(types.begin(), types.end()), types.end());
    n.typed_begin = static_cast<uint32_t>(s->typed_.size());
    for (uint16_t type : types)
      s->typed_.push_back(Typed{type, c.compile(name, type)});
    n.typed_end = static_cast<uint32_t>(s->typed_.size());
    n.fallback = c.compile(name, kNoType);
    s->nodes_.push_back(n);
  }
  size_t cap = 16;
  while (cap < s->nodes_.size() * 2)
    cap <<= 1;
  s->slots_.assign(cap, 0);
  for (size_t i = 0; i < s->nodes_.size(); ++i) {
    size_t slot = s->nodes_[i].hash & (cap - 1);
    while (s->slots_[slot] != 0)
      slot = (slot + 1) & (cap - 1);
    s->slots_[slot] = static_cast<uint32_t>(i + 1);
  }
  if (keep_draft) s->draft_ = std::move(draft);
  // Pod address -> namespace label, for autopath. An address claimed by two namespaces is left out.
  std::map<std::string, uint32_t> ns_at;
  for (const PodAddress& p : pods) {
    PodEntry e;
    if (p.ns.empty() || p.ns.size() > wire::kMaxLabelLength || !address_key(p.ip, e.addr)) continue;
    auto [it, added] = ns_at.emplace(wire::lowercase(p.ns), static_cast<uint32_t>(s->arena_.size()));
    if (added) {
      s->arena_.push_back(static_cast<uint8_t>(it->first.size()));
      s->arena_.insert(s->arena_.end(), it->first.begin(), it->first.end());
    }
    e.ns = it->second;
    s->pods_.push_back(e);
  }
  const auto less = [](const PodEntry& a, const PodEntry& b) { return std::memcmp(a.addr, b.addr, 16) < 0; };
  std::sort(s->pods_.begin(), s->pods_.end(), less);
  std::vector<PodEntry> unique;
  for (size_t i = 0; i < s->pods_.size();) {
    size_t j = i + 1;
    bool ambiguous = false;
    while (j < s->pods_.size() && !less(s->pods_[i], s->pods_[j]))
      ambiguous |= s->pods_[j++].ns != s->pods_[i].ns;
    if (!ambiguous) unique.push_back(s->pods_[i]);
    i = j;
  }
  s->pods_ = std::move(unique);
  return s;
}

void Snapshot::reuse_node(const Snapshot& prev, const Node& from_node, const ZoneDraft& draft) {
  const Node* p = &from_node;
  // A node's name and answers were appended in one run (typed answers, then the fallback): one copy each.
  const Answer& last = p->fallback;
  const Answer& first = p->typed_begin < p->typed_end ? prev.typed_[p->typed_begin].answer : last;
  const uint32_t from = p->name, to = last.body + last.body_len;
  const uint32_t rr_from = first.rr_ends, rr_to = last.rr_ends + last.ancount + last.nscount + last.arcount;
  const auto moved = [](uint32_t offset, uint32_t old_base, size_t new_base) {
    return static_cast<uint32_t>(offset - old_base + new_base);
  };
  const size_t base = arena_.size(), rr_base = rr_ends_.size();
  arena_.insert(arena_.end(), prev.arena_.begin() + from, prev.arena_.begin() + to);
  rr_ends_.insert(rr_ends_.end(), prev.rr_ends_.begin() + rr_from, prev.rr_ends_.begin() + rr_to);
  const auto rebase = [&](Answer a) {
    a.body = moved(a.body, from, base);
    a.rr_ends = moved(a.rr_ends, rr_from, rr_base);
    return a;
  };
  Node n = *p;
  n.name = static_cast<uint32_t>(base);
  n.typed_begin = static_cast<uint32_t>(typed_.size());
  for (uint32_t i = p->typed_begin; i < p->typed_end; ++i)
    typed_.push_back(Typed{prev.typed_[i].qtype, rebase(prev.typed_[i].answer)});
  n.typed_end = static_cast<uint32_t>(typed_.size());
  n.fallback = rebase(p->fallback);
  nodes_.push_back(n);
  // The one thing that moves between equal answers: the SOA serial in negative ones.
  auto it = std::lower_bound(prev.serials_.begin(), prev.serials_.end(), from,
                             [](const SerialAt& a, uint32_t at) { return a.at < at; });
  for (; it != prev.serials_.end() && it->at < to; ++it) {
    const uint32_t at = moved(it->at, from, base);
    const uint32_t serial = htonl(draft.zones()[it->zone].serial);
    std::memcpy(arena_.data() + at, &serial, 4);
    serials_.push_back({at, it->zone});
  }
}

std::string_view Snapshot::pod_namespace(const sockaddr* peer) const {
  if (peer == nullptr || pods_.empty()) return {};
  PodEntry key{};
  if (peer->sa_family == AF_INET) {
    static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    std::memcpy(key.addr, kV4Mapped, 12);
    std::memcpy(key.addr + 12, &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr, 4);
  } else if (peer->sa_family == AF_INET6) {
    std::memcpy(key.addr, &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr, 16);
  } else {
    return {};
  }
  const auto it = std::lower_bound(pods_.begin(), pods_.end(), key, [](const PodEntry& a, const PodEntry& b) {
    return std::memcmp(a.addr, b.addr, 16) < 0;
  });
  if (it == pods_.end() || std::memcmp(it->addr, key.addr, 16) != 0) return {};
  return {reinterpret_cast<const char*>(arena_.data()) + it->ns, size_t{arena_[it->ns]} + 1};
}

const Snapshot::Node* Snapshot::find_node(std::string_view name, uint32_t hash) const {
  const size_t mask = slots_.size() - 1;
  for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const uint32_t idx = slots_[slot];
    if (idx == 0) return nullptr;
    const Node& n = nodes_[idx - 1];
    if (n.hash == hash && n.name_len == name.size() &&
        std::memcmp(arena_.data() + n.name, name.data(), name.size()) == 0) {
      return &n;
    }
  }
}

int Snapshot::zone_of(std::string_view name) const {
  return longest_zone(zones_, name);
}

Lookup Snapshot::find(std::string_view qname, uint16_t qtype) const {
  Lookup r;
  if (const Node* n = find_node(qname, wire::hash_name(qname))) {
    r.zone = &zones_[n->zone];
    if (!synced_ && r.zone->registry_backed) {
      r.kind = LookupKind::NotSynced;
      return r;
    }
    r.kind = LookupKind::Answer;
    r.answer = &n->fallback;
    for (uint32_t i = n->typed_begin; i < n->typed_end; ++i) {
      if (typed_[i].qtype == qtype) {
        r.answer = &typed_[i].answer;
        break;
      }
    }
    return r;
  }
  const int z = zone_of(qname);
  if (z < 0) return r;  // NotInZone
  r.zone = &zones_[static_cast<size_t>(z)];
  if (!synced_ && r.zone->registry_backed) {
    r.kind = LookupKind::NotSynced;
    return r;
  }
  r.kind = LookupKind::NxDomain;
  // `pods insecure`: <dashed-ip>.<ns>.pod.<zone> exists for any valid address (SPEC.md §6).
  const std::string_view parent = wire::strip_labels(qname, 1);
  if (!qname.empty() && !parent.empty()) {
    const Node* p = find_node(parent, wire::hash_name(parent));
    const std::string_view first(reinterpret_cast<const char*>(qname.data()) + 1,
                                 static_cast<uint8_t>(qname[0]));
    if (p && p->insecure_pod_parent && parse_dashed_ip_raw(first, r.address, r.address_v6)) {
      r.kind = LookupKind::SynthesizePod;
    }
  }
  return r;
}

size_t Snapshot::memory_bytes() const {
  return arena_.capacity() + rr_ends_.capacity() * sizeof(uint16_t) + nodes_.capacity() * sizeof(Node) +
         typed_.capacity() * sizeof(Typed) + slots_.capacity() * sizeof(uint32_t);
}

}  // namespace clusterdns::zones
