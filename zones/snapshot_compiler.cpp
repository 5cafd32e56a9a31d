// Compiling a ZoneDraft's names into wire answers, shard by shard, sharing every shard a change missed.
#include <algorithm>
#include <deque>
#include <unordered_set>
#include <cstdint>
#include <cstring>
#include <thread>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "dns/wire/writer.hpp"
#include "zones/snapshot.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using wire::rrtype::ANY;

namespace {
// Largest body that still fits a 65535-byte message with the longest question and an OPT.
constexpr size_t kMaxBody = 65535 - wire::kHeaderSize - wire::kMaxNameLength - 4 - wire::kOptRecordSize;
constexpr uint16_t kNoType = 0;
// CNAME hops an answer follows inside our zones (RFC 1034 §4.3.2 step 3a, bounded).
constexpr int kMaxCnameHops = 8;
// An SOA RDATA ends with serial, refresh, retry, expire, minimum (RFC 1035 §3.3.13).
constexpr size_t kSoaSerialFromEnd = 20;

uint32_t negative_ttl(const DraftZone& z) {
  return std::min(z.soa_ttl, z.minimum);  // RFC 2308 §3
}

const std::shared_ptr<const Shard>& empty_shard() {
  static const std::shared_ptr<const Shard> empty = [] {
    auto s = std::make_shared<Shard>();
    s->slots.assign(1, 0);
    return std::shared_ptr<const Shard>(std::move(s));
  }();
  return empty;
}

const std::shared_ptr<const Snapshot::ShardPage>& empty_page() {
  static const std::shared_ptr<const Snapshot::ShardPage> empty = [] {
    auto page = std::make_shared<Snapshot::ShardPage>();
    page->shards.fill(empty_shard());
    return std::shared_ptr<const Snapshot::ShardPage>(std::move(page));
  }();
  return empty;
}
}  // namespace

// Appends one node's answers to a shard being built, noting every other name they read.
class SnapshotCompiler::Writer {
 public:
  Writer(const ZoneDraft& d, Shard& s, std::string_view yielding_ptr_zone)
      : d_(d), s_(s), yielding_ptr_zone_(yielding_ptr_zone) {}

  // Before the first name of another shard (the writer's shard was cleared): no question is known.
  void start_shard() { question_ = {}; }

  // `qname` and every name reached from it stay valid as long as the draft: views, not copies.
  Answer compile(std::string_view qname, uint16_t qtype, const DraftNode* node) {
    wire::CompressingWriter& w = w_;
    if (qname == question_) {
      w.rewind();  // another answer to the same question: its names are known already
    } else {
      w.reset(wire::kHeaderSize + qname.size() + 4);
      w.add_known_name(qname, wire::kHeaderSize);
      w.mark();
      question_ = qname;
    }
    ends_.clear();
    serial_ = {};
    Answer a;
    std::vector<std::string_view>& targets = targets_;  // names whose addresses go to the additional section
    targets.clear();
    std::string_view cur = qname;
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
        reads_.push_back(cur);
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
      // NODATA (RFC 2308 §2.2). Without a CNAME before it, the SOA is the zone's, written at query time.
      const int zone = d_.zone_of(cur);
      if (a.ancount == 0 && zone >= 0) {
        a.zone_soa = true;
      } else {
        a.nscount = static_cast<uint16_t>(a.nscount + put_soa(w, zone));
      }
      break;
    }
    std::sort(targets.begin(), targets.end());
    targets.erase(std::unique(targets.begin(), targets.end()), targets.end());  // one RRset per name
    for (const auto& t : targets) {
      reads_.push_back(t);
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

  // Appends the node `name` (its name bytes, then every answer, contiguous so it can be copied whole).
  void add_node(std::string_view name, uint32_t hash, const DraftNode& dn) {
    Shard::Node n;
    n.name = static_cast<uint32_t>(s_.arena.size());
    n.name_len = static_cast<uint8_t>(name.size());  // a wire name is at most 255 bytes (RFC 1035 §3.1)
    s_.arena.insert(s_.arena.end(), name.begin(), name.end());
    n.zone = static_cast<uint16_t>(std::max(0, d_.zone_of(name)));
    n.hash = hash;
    if (dn.insecure_pod_parent) n.flags |= Shard::Node::kInsecurePodParent;
    // Typed answers: each type the node owns, and for a CNAME each type its in-zone target chain owns.
    types_.clear();
    for (const auto& [type, set] : dn.rrsets)
      types_.push_back(type);
    const DraftNode* t = &dn;
    for (int hop = 0; hop < kMaxCnameHops && t; ++hop) {
      auto cn = t->rrsets.find(wire::rrtype::CNAME);
      if (cn == t->rrsets.end()) break;
      t = d_.find(cn->second.rdatas.front().raw);
      if (t) {
        for (const auto& [type, set] : t->rrsets)
          types_.push_back(type);
      }
    }
    if (!dn.rrsets.empty()) types_.push_back(ANY);
    std::sort(types_.begin(), types_.end());
    types_.erase(std::unique(types_.begin(), types_.end()), types_.end());
    n.typed_begin = static_cast<uint32_t>(s_.typed.size());
    const bool has_cname = dn.rrsets.find(wire::rrtype::CNAME) != dn.rrsets.end();
    for (uint16_t type : types_) {
      if (type == ANY && !has_cname) {
        // ANY's answer is the one RRset minimal_any picks, already compiled under its own type: the node
        // points at it instead of storing it twice.
        const uint16_t picked = minimal_any(dn)->first;
        const auto first = s_.typed.begin() + n.typed_begin;
        const auto same = std::find_if(first, s_.typed.end(),
                                       [&](const Shard::Typed& typed) { return typed.qtype == picked; });
        if (same != s_.typed.end() && same - first < Shard::Node::kNoAny) {
          n.any = static_cast<uint8_t>(same - first);
          continue;
        }
      }
      s_.typed.push_back(Shard::Typed{type, shared(compile(name, type, &dn), n.typed_begin)});
    }
    n.types = static_cast<uint16_t>(s_.typed.size() - n.typed_begin);
    const Answer fallback = shared(compile(name, kNoType, &dn), n.typed_begin);
    if (!plain_nodata(fallback)) {
      s_.typed.push_back(Shard::Typed{kNoType, fallback});
      n.flags |= Shard::Node::kOwnFallback;
    }
    s_.nodes.push_back(n);
  }

  // The names read since the last call (CNAME targets, SRV/NS/MX targets).
  std::vector<std::string> take_reads() {
    std::vector<std::string> out(reads_.begin(), reads_.end());
    reads_.clear();
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // The SOA RR after its owner, for NXDOMAIN answers written at query time. Names below the apex are
  // compressed with a pointer to the apex inside the question, whose offset only the query knows:
  // `patches` lists where to add it (a pointer to offset 0 until then).
  static std::vector<uint8_t> soa_tail(const DraftZone& z, uint32_t serial, std::vector<uint16_t>& patches) {
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
    for (uint32_t v : {serial, z.refresh, z.retry, z.expire, z.minimum})
      w.put_u32(v);
    w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
    return w.bytes();
  }

 private:
  struct SerialAt {
    size_t at = 0;  // in the writer; 0: none
    int zone = 0;
  };

  RRsetMap::const_iterator minimal_any(const DraftNode& node) {
    for (uint16_t pref : {wire::rrtype::A, wire::rrtype::AAAA}) {
      auto it = node.rrsets.find(pref);
      if (it != node.rrsets.end()) return it;
    }
    return node.rrsets.begin();
  }

  size_t put_rrset(wire::CompressingWriter& w, std::string_view owner, uint16_t type, const RRset& set,
                   std::vector<std::string_view>* targets) {
    const auto yields = [&](RdataView rd) {
      return type == wire::rrtype::PTR && !yielding_ptr_zone_.empty() &&
             wire::is_subdomain(rd.raw, yielding_ptr_zone_);
    };
    const bool yielding = std::any_of(set.rdatas.begin(), set.rdatas.end(), yields) &&
                          !std::all_of(set.rdatas.begin(), set.rdatas.end(), yields);
    size_t written = 0;
    for (const RdataView rd : set.rdatas) {
      if (yielding && yields(rd)) continue;
      ++written;
      put_rr(w, owner, type, set.ttl, rd);
      if (type == wire::rrtype::SOA) serial_ = {w.size() - kSoaSerialFromEnd, d_.zone_of(owner)};
      if (!targets) continue;
      const std::string_view raw = rd.raw;
      if (type == wire::rrtype::SRV && raw.size() > 6) targets->push_back(raw.substr(6));
      if ((type == wire::rrtype::NS || type == wire::rrtype::MX) && rd.name_at != Rdata::kNoName) {
        targets->push_back(raw.substr(rd.name_at));
      }
    }
    return written;
  }

  void put_rr(wire::CompressingWriter& w, std::string_view owner, uint16_t type, uint32_t ttl, RdataView rd) {
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
    serial_ = {w.size(), zone};
    for (uint32_t v : {uint32_t{0}, z.refresh, z.retry, z.expire, z.minimum})
      w.put_u32(v);
    w.patch_u16(len_at, static_cast<uint16_t>(w.size() - len_at - 2));
    ends_.push_back(w.size());
    return 1;
  }

  // The zone's NODATA with nothing of the name's own (Shard::kZoneNodata), which most names give.
  static bool plain_nodata(const Answer& a) {
    return a.zone_soa && a.body_len == 0 && a.ancount == 0 && a.nscount == 0 && a.arcount == 0 &&
           a.rcode == 0 && !a.truncated && a.serial_at == 0;
  }

  // `a` just stored, or an equal answer of the same node stored before it (ANY's minimal answer is the A
  // answer; a CNAME's default is the CNAME answer): then its bytes are given back and the two share.
  Answer shared(const Answer& a, uint32_t typed_begin) {
    const auto same = [&](const Answer& b) {
      return b.body_len == a.body_len && b.ancount == a.ancount && b.nscount == a.nscount &&
             b.arcount == a.arcount && b.rcode == a.rcode && b.zone_soa == a.zone_soa &&
             b.truncated == a.truncated && b.serial_at == a.serial_at && b.serial_zone == a.serial_zone &&
             std::equal(s_.arena.begin() + b.body, s_.arena.begin() + b.body + b.body_len,
                        s_.arena.begin() + a.body) &&
             std::equal(s_.rr_ends.begin() + b.rr_ends,
                        s_.rr_ends.begin() + b.rr_ends + b.ancount + b.nscount + b.arcount,
                        s_.rr_ends.begin() + a.rr_ends);
    };
    for (size_t i = typed_begin; i < s_.typed.size(); ++i) {
      const Answer& b = s_.typed[i].answer;
      if (!same(b)) continue;
      s_.arena.resize(a.body);
      s_.rr_ends.resize(a.rr_ends);
      return b;
    }
    return a;
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
      const size_t an_ns = size_t{a.ancount} + a.nscount;
      cut(a.arcount);
      cut(a.nscount);
      cut(a.ancount);
      a.truncated = size_t{a.ancount} + a.nscount < an_ns;  // RFC 2181 §9: not only additional records
    }
    if (ends_.empty()) len = 0;
    a.body = static_cast<uint32_t>(s_.arena.size());
    a.body_len = static_cast<uint32_t>(len);
    s_.arena.insert(s_.arena.end(), w.bytes().begin(), w.bytes().begin() + static_cast<long>(len));
    a.rr_ends = static_cast<uint32_t>(s_.rr_ends.size());
    for (size_t i = 0; i < kept; ++i)
      s_.rr_ends.push_back(static_cast<uint16_t>(ends_[i]));
    if (serial_.at > 0 && serial_.at + 4 <= len && serial_.zone >= 0) {
      a.serial_at = static_cast<uint16_t>(serial_.at);
      a.serial_zone = static_cast<uint8_t>(serial_.zone);
    }
    return a;
  }

  const ZoneDraft& d_;
  Shard& s_;
  std::string_view yielding_ptr_zone_;
  std::vector<size_t> ends_;
  SerialAt serial_;
  wire::CompressingWriter w_{0};           // reused by every compile()
  std::string_view question_;              // the QNAME w_ knows since its last mark()
  std::vector<std::string_view> targets_;  // likewise
  std::vector<std::string_view> reads_;
  std::vector<uint16_t> types_;
};

namespace {
// Copies node `from` of `old` (its name and answers are one run of bytes and RR ends) into `to`.
void copy_node(const Shard& old, const Shard::Node& from, Shard& to) {
  // The node's bytes run from its name to the end of its last answer stored; answers may share bytes.
  const uint32_t begin = from.name;
  uint32_t end = from.name + from.name_len, rr_begin = UINT32_MAX, rr_end = 0;
  const uint32_t stored = from.stored();
  for (uint32_t i = from.typed_begin; i < from.typed_begin + stored; ++i) {
    const Answer& a = old.typed[i].answer;
    end = std::max(end, a.body + a.body_len);
    rr_begin = std::min(rr_begin, a.rr_ends);
    rr_end = std::max<uint32_t>(rr_end, a.rr_ends + a.ancount + a.nscount + a.arcount);
  }
  if (rr_begin > rr_end) rr_begin = rr_end = 0;  // no answer stored: the name alone
  const size_t base = to.arena.size(), rr_base = to.rr_ends.size();
  to.arena.insert(to.arena.end(), old.arena.begin() + begin, old.arena.begin() + end);
  to.rr_ends.insert(to.rr_ends.end(), old.rr_ends.begin() + rr_begin, old.rr_ends.begin() + rr_end);
  const auto rebase = [&](Answer a) {
    a.body = static_cast<uint32_t>(a.body - begin + base);
    a.rr_ends = static_cast<uint32_t>(a.rr_ends - rr_begin + rr_base);
    return a;
  };
  Shard::Node n = from;
  n.name = static_cast<uint32_t>(base);
  n.typed_begin = static_cast<uint32_t>(to.typed.size());
  for (uint32_t i = from.typed_begin; i < from.typed_begin + stored; ++i)
    to.typed.push_back(Shard::Typed{old.typed[i].qtype, rebase(old.typed[i].answer)});
  to.nodes.push_back(n);
}

void index_shard(Shard& s) {
  size_t cap = 2;
  while (cap < s.nodes.size() * 2)
    cap <<= 1;
  s.slots.assign(cap, 0);
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    size_t slot = s.nodes[i].hash & (cap - 1);
    while (s.slots[slot] != 0)
      slot = (slot + 1) & (cap - 1);
    s.slots[slot] = static_cast<uint32_t>(i + 1);
  }
}

// The <svc>.<ns>.<subtree> ancestor of `name`, or "" when it has none.
std::string_view service_root(std::string_view name, std::string_view subtree) {
  if (subtree.empty() || !wire::is_subdomain(name, subtree)) return {};
  size_t starts[128];
  size_t n = 0;
  for (size_t i = 0; i < name.size() && name[i] != 0 && n < 128; i += 1 + static_cast<uint8_t>(name[i]))
    starts[n++] = i;
  size_t below = 0;
  for (size_t i = 0; i < subtree.size() && subtree[i] != 0; i += 1 + static_cast<uint8_t>(subtree[i]))
    ++below;
  if (n < below + 2) return {};
  return name.substr(starts[n - below - 2]);
}
}  // namespace

bool SnapshotCompiler::same_service(std::string_view a, std::string_view b) const {
  const std::string_view root = service_root(a, service_subtree_);
  return !root.empty() && root == service_root(b, service_subtree_);
}

void SnapshotCompiler::depend(const std::string& name, std::vector<std::string> targets) {
  std::erase_if(targets, [&](const std::string& t) { return t == name || same_service(name, t); });
  auto old = reads_.find(name);
  if (old != reads_.end()) {
    if (old->second == targets) return;
    for (const std::string& t : old->second) {
      auto readers = read_by_.find(t);
      if (readers == read_by_.end()) continue;
      auto& v = readers->second;
      auto at = std::find(v.begin(), v.end(), name);
      if (at != v.end()) {
        *at = std::move(v.back());
        v.pop_back();
      }
      if (v.empty()) read_by_.erase(readers);
    }
    reads_.erase(old);
  }
  if (targets.empty()) return;
  for (const std::string& t : targets)
    read_by_[t].push_back(name);
  reads_.emplace(name, std::move(targets));
}

std::shared_ptr<Snapshot> SnapshotCompiler::start(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                                  uint32_t serial, bool keep_draft,
                                                  const std::vector<PodAddress>* pods) {
  auto s = std::make_shared<Snapshot>();
  s->ttl_ = ttl;
  s->synced_ = synced;
  for (const auto& z : draft.zones()) {
    Zone zone{z.apex, {}, {}, z.registry_backed, serial};
    zone.soa_tail = Writer::soa_tail(z, serial, zone.soa_patches);
    s->zones_.push_back(std::move(zone));
  }
  if (keep_draft) {
    auto copy = draft.clone();
    for (auto& z : copy->zones())
      z.serial = serial;
    s->draft_ = std::move(copy);
  }
  if (pods) {
    // Claims and releases since the last snapshot (build_all: every pod, last_ reset).
    s->pods_ = PodIndex::update(last_ ? last_->pods_.get() : nullptr, *pods);
  } else if (last_) {
    s->pods_ = last_->pods_;
  }
  return s;
}

std::shared_ptr<const Snapshot> SnapshotCompiler::build_all(const ZoneDraft& draft, bool synced, uint32_t ttl,
                                                            uint32_t serial, bool keep_draft,
                                                            const std::vector<PodAddress>* pods) {
  last_.reset();
  reads_.clear();
  read_by_.clear();
  // Every name, viewed where the draft keeps it: no copy of 450,000 names to sort and free again.
  std::vector<Work> work;
  work.reserve(draft.nodes().size());
  for (auto it = draft.nodes().begin(); it != draft.nodes().end(); ++it) {
    const auto [name, node] = *it;
    work.push_back(work_for(name, &node, it.hash()));
  }
  return compile(draft, std::move(work), synced, ttl, serial, keep_draft, pods, true);
}

std::shared_ptr<const Snapshot> SnapshotCompiler::update(const ZoneDraft& draft,
                                                         const ZoneDraft::Touched& touched, bool synced,
                                                         uint32_t ttl, uint32_t serial, bool keep_draft,
                                                         const std::vector<PodAddress>* pods) {
  // The names to compile: those touched, and those whose answers read one of them. A reader is viewed in
  // the draft (depend() may free the maps' strings before the last name is recorded) or, if it is gone
  // from the draft, in a copy kept here.
  std::vector<Work> work;
  work.reserve(touched.changed.size());
  std::deque<std::string> gone_readers;
  // Names a Service writes read each other untracked (see service_subtree): one whose own records came
  // back unchanged is compiled again when it reads a name that did change (an SRV name whose target moved).
  if (!touched.unchanged.empty() && !touched.changed.empty()) {
    const std::unordered_set<std::string_view> changed(touched.changed.begin(), touched.changed.end());
    for (const std::string& name : touched.unchanged) {
      const DraftNode* node = draft.find(name);
      if (node && reads_any(*node, changed)) work.push_back(work_for(name, node));
    }
  }
  for (const std::string& name : touched.changed) {
    work.push_back(work_for(name, draft.find(name)));
    auto readers = read_by_.find(name);
    if (readers == read_by_.end()) continue;
    for (const std::string& r : readers->second) {
      auto [stored, node] = draft.find_stored(r);
      if (node == nullptr) stored = gone_readers.emplace_back(r);
      work.push_back(work_for(stored, node));
    }
  }
  return compile(draft, std::move(work), synced, ttl, serial, keep_draft, pods);
}

bool SnapshotCompiler::reads_any(const DraftNode& node, const std::unordered_set<std::string_view>& names) {
  // What Writer::compile reads: CNAME targets, and the SRV, NS and MX targets whose addresses it adds.
  for (const auto& [type, set] : node.rrsets) {
    for (const RdataView rd : set.rdatas) {
      std::string_view target;
      if (type == wire::rrtype::CNAME) {
        target = rd.raw;
      } else if (type == wire::rrtype::SRV && rd.raw.size() > 6) {
        target = rd.raw.substr(6);
      } else if ((type == wire::rrtype::NS || type == wire::rrtype::MX) && rd.name_at != Rdata::kNoName) {
        target = rd.raw.substr(rd.name_at);
      } else {
        break;  // no record of this type names another
      }
      if (names.count(target)) return true;
    }
  }
  return false;
}

SnapshotCompiler::Work SnapshotCompiler::work_for(std::string_view name, const DraftNode* node) {
  return work_for(name, node, wire::hash_name(name));
}

SnapshotCompiler::Work SnapshotCompiler::work_for(std::string_view name, const DraftNode* node,
                                                  uint32_t hash) {
  return {hash >> (32 - Snapshot::kShardBits), hash, name, node};
}

std::shared_ptr<const Snapshot> SnapshotCompiler::compile(const ZoneDraft& draft, std::vector<Work> work,
                                                          bool synced, uint32_t ttl, uint32_t serial,
                                                          bool keep_draft,
                                                          const std::vector<PodAddress>* pods,
                                                          bool unique_names) {
  auto s = start(draft, synced, ttl, serial, keep_draft, pods);
  if (last_) {
    s->pages_ = last_->pages_;
    s->node_count_ = last_->node_count_;
    s->shard_bytes_ = last_->shard_bytes_;
  } else {
    s->pages_.fill(empty_page());
  }
  // By shard, then name. Stable by shard: names that came in order need no string comparisons.
  {  // a counting sort: stable, and no temporary buffer (std::stable_sort's nothrow new)
    std::vector<uint32_t> starts(Snapshot::kShards + 1, 0);
    for (const Work& w : work)
      ++starts[w.shard + 1];
    for (size_t i = 1; i < starts.size(); ++i)
      starts[i] += starts[i - 1];
    std::vector<Work> by_shard(work.size());
    for (const Work& w : work)
      by_shard[starts[w.shard]++] = w;
    work.swap(by_shard);
  }
  const auto before = [](const Work& a, const Work& b) { return a.name < b.name; };
  const auto same = [](const Work& a, const Work& b) { return a.shard == b.shard && a.name == b.name; };
  std::vector<size_t> group_starts;  // where each shard's names begin in `work`
  // Each shard's names sorted and unique: an update looks up which of a shard's old names it recompiles.
  // A build from nothing has no old names, and the draft's are unique already.
  for (size_t i = 0; i < work.size() && !unique_names;) {
    size_t j = i;
    while (j < work.size() && work[j].shard == work[i].shard)
      ++j;
    const auto first = work.begin() + static_cast<long>(i), last = work.begin() + static_cast<long>(j);
    if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
    i = j;
  }
  if (!unique_names) work.erase(std::unique(work.begin(), work.end(), same), work.end());
  for (size_t i = 0; i < work.size(); ++i) {
    if (i == 0 || work[i].shard != work[i - 1].shard) group_starts.push_back(i);
  }
  group_starts.push_back(work.size());

  // Shards compile independently from the draft (read-only here): a big build (start-up, a relist) splits
  // them over a few threads; what each name read is recorded afterwards, on this thread.
  // The pages holding a shard to replace are copied first, so the threads below each write their own
  // shards' slots; every other page is shared with the snapshot before.
  std::array<Snapshot::ShardPage*, Snapshot::kPages> writable{};
  for (size_t g = 0; g + 1 < group_starts.size(); ++g) {
    const size_t page = work[group_starts[g]].shard >> Snapshot::kPageBits;
    if (writable[page]) continue;
    auto copy = std::make_shared<Snapshot::ShardPage>(*s->pages_[page]);
    writable[page] = copy.get();
    s->pages_[page] = std::move(copy);
  }
  constexpr size_t kParallelFrom = 20000;  // names; below this a thread costs more than it saves
  const size_t threads =
      work.size() < kParallelFrom ? 1 : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  struct PerThread {
    size_t compiled = 0;
    long node_delta = 0, bytes_delta = 0;
    std::vector<std::pair<size_t, std::vector<std::string>>> reads;  // (index in work, names read)
  };
  std::vector<PerThread> results(threads);
  const auto compile_groups = [&](size_t first_group, PerThread& out) {
    // Each shard is built in this thread's scratch shard, whose vectors keep their capacity from one shard
    // to the next, then copied once at its exact size (before, each shard's four vectors grew by doubling,
    // reallocating and copying as they went, and were copied again to shrink them to fit).
    Shard scratch;
    Writer writer(draft, scratch, yielding_ptr_zone_);
    for (size_t g = first_group; g + 1 < group_starts.size(); g += threads) {
      const size_t i = group_starts[g], j = group_starts[g + 1];
      const uint32_t index = work[i].shard;
      std::shared_ptr<const Shard>& slot =
          writable[index >> Snapshot::kPageBits]->shards[index & (Snapshot::kPageShards - 1)];
      const Shard& old = *slot;
      scratch.arena.clear();
      scratch.rr_ends.clear();
      scratch.nodes.clear();
      scratch.typed.clear();
      writer.start_shard();
      const auto group_first = work.begin() + static_cast<long>(i),
                 group_last = work.begin() + static_cast<long>(j);
      const auto recompiled = [&](std::string_view name) {
        auto it = std::lower_bound(group_first, group_last, name,
                                   [](const Work& e, std::string_view n) { return e.name < n; });
        return it != group_last && it->name == name;
      };
      for (const Shard::Node& n : old.nodes) {
        if (!recompiled(old.node_name(n))) copy_node(old, n, scratch);
      }
      for (size_t k = i; k < j; ++k) {
        // Names come in hash order, their nodes and records scattered over the draft's pool: fetch a node
        // a few names ahead, and the records of the next one, while this one compiles.
        if (k + 8 < work.size() && work[k + 8].node) __builtin_prefetch(work[k + 8].node);
        if (k + 2 < work.size() && work[k + 2].node) __builtin_prefetch(work[k + 2].node->rrsets.bytes());
        if (work[k].node != nullptr) {
          writer.add_node(work[k].name, work[k].hash, *work[k].node);
          ++out.compiled;
        }
        if (auto reads = writer.take_reads(); !reads.empty()) out.reads.emplace_back(k, std::move(reads));
      }
      auto shard = std::make_shared<Shard>();
      shard->arena.assign(scratch.arena.begin(), scratch.arena.end());
      shard->rr_ends.assign(scratch.rr_ends.begin(), scratch.rr_ends.end());
      shard->nodes.assign(scratch.nodes.begin(), scratch.nodes.end());
      shard->typed.assign(scratch.typed.begin(), scratch.typed.end());
      index_shard(*shard);
      out.node_delta += static_cast<long>(shard->nodes.size()) - static_cast<long>(old.nodes.size());
      const auto bytes = [](const Shard& sh) {
        return sh.nodes.empty() ? 0L : static_cast<long>(sh.memory_bytes());
      };
      out.bytes_delta += bytes(*shard) - bytes(old);
      slot = shard->nodes.empty() ? empty_shard() : std::shared_ptr<const Shard>(std::move(shard));
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < threads; ++t)
      helpers.emplace_back([&, t] { compile_groups(t, results[t]); });
    compile_groups(0, results[0]);
  }
  // What each compiled name reads now: names that read nothing drop what they read before.
  std::vector<bool> reads_something(work.size(), false);
  for (const PerThread& r : results) {
    s->compiled_ += r.compiled;
    s->node_count_ = static_cast<size_t>(static_cast<long>(s->node_count_) + r.node_delta);
    s->shard_bytes_ = static_cast<size_t>(static_cast<long>(s->shard_bytes_) + r.bytes_delta);
    for (const auto& [k, names] : r.reads)
      reads_something[k] = true;
  }
  if (!reads_.empty()) {
    for (size_t k = 0; k < work.size(); ++k) {
      if (!reads_something[k] && reads_.count(std::string(work[k].name)))
        depend(std::string(work[k].name), {});
    }
  }
  for (PerThread& r : results) {
    for (auto& [k, names] : r.reads)
      depend(std::string(work[k].name), std::move(names));
  }
  last_ = s;
  return s;
}

}  // namespace clusterdns::zones
