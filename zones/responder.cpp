// The query path: parse, look up, copy. No allocation, no lock, no logging (zone transfers excepted).
#include "zones/responder.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "dns/wire/cursor.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/response.hpp"
#include "dns/wire/types.hpp"
#include "dns/wire/writer.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;
using wire::ParsedQuery;
using wire::Rcode;

Responder::Responder(const SnapshotHolder& holder, ResponderOptions options)
    : holder_(holder), options_(std::move(options)) {}

namespace {

struct Frame {
  size_t head;   // header + question
  size_t limit;  // largest message we may send
  size_t opt;    // bytes reserved for the OPT record
};

Frame frame_for(const ParsedQuery& q, const dns::QueryContext& ctx, size_t out_size) {
  Frame f;
  f.head = q.question_end;
  f.limit = ctx.transport == dns::Transport::Udp ? wire::udp_limit(q) : 65535;
  if (f.limit > out_size) f.limit = out_size;
  f.opt = q.has_edns ? wire::kOptRecordSize : 0;
  return f;
}

// The answer records to rotate, [first, ancount): the trailing run of A, AAAA or SRV records whose owners
// are one and the same compression pointer. Reordering them leaves every pointer of the message valid:
// theirs point before the run, and nothing points into them (no labels in A/AAAA RDATA; SRV targets are
// never compression targets, RFC 2782). Returns ancount when there is nothing to rotate.
size_t rotation_start(std::span<const uint8_t> body, std::span<const uint16_t> ends, uint16_t an) {
  if (an < 2 || ends.size() < an) return an;
  auto owner_type = [&](size_t i, uint32_t& key) {
    const size_t at = i ? ends[i - 1] : 0;
    if (at + 4 > body.size() || (body[at] & wire::kPointerByte) != wire::kPointerByte) return false;
    key = wire::load_u32(body.data() + at);  // pointer and type
    const auto type = static_cast<uint16_t>(key);
    return type == wire::rrtype::A || type == wire::rrtype::AAAA || type == wire::rrtype::SRV;
  };
  uint32_t last = 0, key = 0;
  if (!owner_type(an - 1, last)) return an;
  size_t first = an - 1;
  while (first > 0 && owner_type(first - 1, key) && key == last)
    --first;
  return an - first >= 2 ? first : an;
}

// Which rotation a response gets: a per-thread counter (no shared cache line on the hot path), so
// consecutive answers of a thread differ; each thread starts one further than the one before, so that
// the first answers of the workers differ too.
uint32_t next_turn() {
  thread_local uint32_t turn = 0;
  thread_local bool started = false;
  if (!started) {
    static std::atomic<uint32_t> threads{0};
    turn = threads.fetch_add(1, std::memory_order_relaxed);
    started = true;
  }
  return turn++;
}

// Copies header + question, then `body`, truncating at an RR boundary when it does not fit (RFC 2181 §9:
// TC only when answer or authority records are lost; dropping additional records is silent). With
// `rotate`, the answer's run of equal records (rotation_start) starts at the next one each time.
// `serial_at` (0: none) is where the body holds an SOA serial (never in a rotated run), set to `serial`.
size_t write_answer(std::span<const uint8_t> query, const ParsedQuery& q, const Frame& f, uint8_t* out,
                    std::span<const uint8_t> body, std::span<const uint16_t> ends, uint16_t an, uint16_t ns,
                    uint16_t ar, uint8_t rcode, bool rotate = false, size_t serial_at = 0,
                    uint32_t serial = 0) {
  // Rotation by r over the run [s, an): original RR s + r comes first. end_at(i) is the cumulative length
  // after the i-th record in the order written.
  size_t s = an, r = 0, run_begin = 0, pivot = 0, run_end = 0;
  if (rotate) {
    s = rotation_start(body, ends, an);
    if (s < an) {
      r = next_turn() % (an - s);
      run_begin = s ? ends[s - 1] : 0;
      pivot = s + r ? ends[s + r - 1] : 0;
      run_end = ends[an - 1];
    }
  }
  auto end_at = [&](size_t i) -> size_t {
    if (r == 0 || i < s || i >= an) return ends[i];
    const size_t j = i - s, tail = an - s - r;  // records from the pivot to the run's end come first
    return j < tail ? run_begin + (ends[s + r + j] - pivot)
                    : run_begin + (run_end - pivot) + (ends[j - tail + s] - run_begin);
  };
  size_t len = body.size();
  uint16_t flags = wire::kFlagAa;
  if (f.head + len + f.opt > f.limit) {
    size_t k = ends.size();
    while (k > 0 && f.head + end_at(k - 1) + f.opt > f.limit)
      --k;
    len = k ? end_at(k - 1) : 0;
    if (k < size_t{an} + ns) flags |= wire::kFlagTc;
    const auto keep_an = static_cast<uint16_t>(k < an ? k : an);
    const auto keep_ns = static_cast<uint16_t>(k - keep_an < ns ? k - keep_an : ns);
    ar = static_cast<uint16_t>(k - keep_an - keep_ns);
    an = keep_an;
    ns = keep_ns;
  }
  if (f.head + len + f.opt > f.limit) return 0;
  wire::put_header(wire::Header(out), q, flags, rcode, 1, an, ns,
                   static_cast<uint16_t>(ar + (f.opt ? 1 : 0)));
  std::memcpy(out + wire::kHeaderSize, query.data() + wire::kHeaderSize, f.head - wire::kHeaderSize);
  if (r == 0) {
    if (len) std::memcpy(out + f.head, body.data(), len);
  } else {
    // The whole rotated run first (the cut, if any, is applied to the message as written), then the rest.
    uint8_t* o = out + f.head;
    std::memcpy(o, body.data(), run_begin);
    std::memcpy(o + run_begin, body.data() + pivot, run_end - pivot);
    std::memcpy(o + run_begin + (run_end - pivot), body.data() + run_begin, pivot - run_begin);
    if (len > run_end) std::memcpy(o + run_end, body.data() + run_end, len - run_end);
  }
  if (serial_at && serial_at + 4 <= len) wire::store_u32(out + f.head + serial_at, serial);
  if (f.opt) {
    wire::Cursor tail({out, f.limit}, f.head + len);
    wire::put_opt(tail, 0, q.do_bit);
  }
  return f.head + len + f.opt;
}

// The largest SOA after its owner: TYPE, CLASS, TTL, RDLENGTH, MNAME and RNAME (uncompressed at worst),
// SERIAL, REFRESH, RETRY, EXPIRE and MINIMUM (RFC 1035 §3.3.13).
constexpr size_t kMaxSoaTail = wire::kRrFixedSize + 2 * wire::kMaxNameLength + 5 * 4;

// A negative answer built at query time: the zone SOA whose owner points into the question.
size_t write_negative(std::span<const uint8_t> query, const ParsedQuery& q, const Frame& f, uint8_t* out,
                      const Zone& zone, Rcode rcode) {
  uint8_t soa[2 + kMaxSoaTail];
  const auto apex =
      static_cast<uint16_t>(wire::kPointer | (wire::kHeaderSize + q.qname_len - zone.apex.size()));
  wire::Cursor w(soa);
  w.put_u16(apex);
  w.put(zone.soa_tail);
  for (uint16_t at : zone.soa_patches)
    w.patch_u16(2 + size_t{at}, apex);
  if (!w.ok())
    return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::ServFail), 0, {out, f.limit});
  const auto end = static_cast<uint16_t>(w.offset());
  return write_answer(query, q, f, out, {soa, end}, {&end, 1}, 0, 1, 0, static_cast<uint8_t>(rcode));
}

size_t write_synthesized(std::span<const uint8_t> query, const ParsedQuery& q, const Frame& f, uint8_t* out,
                         const Lookup& l, uint32_t ttl) {
  const uint16_t type = l.address_v6 ? wire::rrtype::AAAA : wire::rrtype::A;
  if (q.qtype != type && q.qtype != wire::rrtype::ANY)
    return write_negative(query, q, f, out, *l.zone, Rcode::NoError);
  uint8_t rr[wire::kRrFixedSize + 2 + 16];
  const size_t rdlen = l.address_v6 ? 16 : 4;
  wire::Cursor w(rr);
  w.put_u16(static_cast<uint16_t>(wire::kPointer | wire::kHeaderSize));  // the QNAME
  w.put_u16(type);
  w.put_u16(wire::kClassIn);
  w.put_u32(ttl);
  w.put_u16(static_cast<uint16_t>(rdlen));
  w.put(l.address, rdlen);
  const auto end = static_cast<uint16_t>(w.offset());
  return write_answer(query, q, f, out, {rr, end}, {&end, 1}, 1, 0, 0, 0);
}

bool is_reverse_zone(const Zone& z) {
  static constexpr std::string_view kV4("\7in-addr\4arpa\0", 14), kV6("\3ip6\4arpa\0", 10);
  return z.registry_backed && (z.apex == kV4 || z.apex == kV6);
}

}  // namespace

size_t Responder::complete_cname(std::span<const uint8_t> query, const ParsedQuery& q, std::span<uint8_t> out,
                                 size_t n, const Snapshot& snap, const Lookup& l,
                                 const dns::QueryContext& ctx) {
  const Answer& a = *l.answer;
  if (q.qtype == wire::rrtype::CNAME || q.qtype == wire::rrtype::ANY ||
      wire::HeaderView(out).has(wire::kFlagTc))
    return n;
  // Does the answer section end with a CNAME? Read in the snapshot's body: `out` may hold a rotated order
  // (but then its last record is not a CNAME, and when it is, `out` is the body as it is).
  const std::span<const uint8_t> body = l.body;
  const std::span<const uint16_t> ends = l.rr_ends;
  const size_t at = a.ancount > 1 ? ends[a.ancount - 2] : 0;
  const auto fixed = wire::skip_name(body.data(), body.size(), at);
  if (!fixed || *fixed + wire::kRrFixedSize > body.size() ||
      wire::load_u16(body.data() + *fixed) != wire::rrtype::CNAME)
    return n;
  uint8_t target[wire::kMaxNameLength];
  size_t target_len = 0, next = 0;
  if (wire::read_name(out.data(), n, q.question_end + *fixed + wire::kRrFixedSize, target, &target_len,
                      &next) != wire::NameStatus::Ok) {
    return n;
  }
  const std::string_view t(reinterpret_cast<const char*>(target), target_len);
  // A target inside our zones ended the chain on purpose (a loop, the hop limit): the answer stands.
  if (snap.find(t, q.qtype).kind != LookupKind::NotInZone) return n;
  return options_.recursion->complete_cname(query, out, n, t, ctx);
}

bool Responder::peer_allowed(const dns::QueryContext& ctx) const {
  for (const base::AddressBlock& c : options_.allow_transfer) {
    if (c.contains(ctx.peer)) return true;
  }
  return false;
}

// AXFR (RFC 5936): SOA, every RRset of the zone, SOA, in messages of about 16 KiB. Off the hot path.
size_t Responder::transfer(std::span<const uint8_t> query, const ParsedQuery& q, const Snapshot& snap,
                           const Zone& zone, std::span<uint8_t> out, const dns::QueryContext& ctx) const {
  const ZoneDraft& d = *snap.draft();
  const int zone_index = d.zone_of(zone.apex);
  const DraftZone& dz = d.zones()[static_cast<size_t>(zone_index)];
  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  std::vector<uint8_t> message;
  auto start = [&](wire::CompressingWriter& w) {
    w = wire::CompressingWriter(q.question_end);
    w.add_known_name(qname, wire::kHeaderSize);
  };
  wire::CompressingWriter w(0);
  start(w);
  uint16_t count = 0;
  auto finish = [&]() -> size_t {
    const size_t len = q.question_end + w.size();
    message.assign(len, 0);
    wire::put_header(wire::Header(message.data()), q, wire::kFlagAa, 0, 1, count, 0, 0);
    std::memcpy(message.data() + wire::kHeaderSize, query.data() + wire::kHeaderSize,
                q.question_end - wire::kHeaderSize);
    std::memcpy(message.data() + q.question_end, w.bytes().data(), w.size());
    return len;
  };
  auto put = [&](std::string_view owner, uint16_t type, uint32_t ttl, RdataView rd) {
    if (w.size() > 16000) {
      finish();
      (*ctx.stream)(message);
      start(w);
      count = 0;
    }
    put_rr(w, owner, type, ttl, rd);
    ++count;
  };
  const Rdata soa = rdata_soa(dz);
  put(dz.apex, wire::rrtype::SOA, dz.soa_ttl, soa);
  // The draft is hashed; a transfer lists names in one order (canonical byte order of the wire names).
  std::vector<std::pair<std::string_view, const DraftNode*>> names;
  for (const auto& [name, node] : d.nodes()) {
    if (d.zone_of(name) == zone_index) names.emplace_back(name, &node);
  }
  std::sort(names.begin(), names.end());
  for (const auto& [name, node] : names) {
    for (const auto& [type, set] : node->rrsets) {
      if (type == wire::rrtype::SOA) continue;
      for (const RdataView rd : set.rdatas)
        put(name, type, set.ttl, rd);
    }
  }
  put(dz.apex, wire::rrtype::SOA, dz.soa_ttl, soa);
  const size_t len = finish();
  if (len > out.size()) return 0;
  std::memcpy(out.data(), message.data(), len);
  return len;
}

const Snapshot* Responder::snapshot() const {
  thread_local LocalSnapshot local;
  if (local.holder() != &holder_) local.rebind(&holder_);  // several responders in one process (tests)
  return local.get();
}

size_t Responder::answer(std::span<const uint8_t> query, std::span<uint8_t> out,
                         const dns::QueryContext& ctx) {
  ParsedQuery parsed_here;
  const ParsedQuery& q = dns::parsed_query(query, ctx, parsed_here);
  if (size_t written = 0; !wire::answerable(query, q, out, written)) return written;
  if (q.qclass != wire::kClassIn) {
    return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::Refused), 0, out);
  }
  const Snapshot* snap = snapshot();
  if (!snap) return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::ServFail), 0, out);

  const std::string_view qname(reinterpret_cast<const char*>(q.qname), q.qname_len);
  const Frame f = frame_for(q, ctx, out.size());
  const Lookup l = snap->find(qname, q.qtype);
  if (q.qtype == wire::rrtype::AXFR || q.qtype == wire::rrtype::IXFR) {
    // Zone transfer (RFC 5936): refused unless --allow-transfer admits the client; only over TCP; only at an
    // apex.
    const bool allowed = ctx.transport == dns::Transport::Tcp && ctx.stream && snap->draft() &&
                         l.kind == LookupKind::Answer && l.zone->apex == qname && peer_allowed(ctx);
    if (!allowed) return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::Refused), 0, out);
    return transfer(query, q, *snap, *l.zone, out, ctx);
  }
  switch (l.kind) {
    case LookupKind::Answer: {
      const Answer& a = *l.answer;
      if (a.zone_soa) return write_negative(query, q, f, out.data(), *l.zone, Rcode::NoError);
      const uint32_t serial = a.serial_at ? snap->zones()[a.serial_zone].serial : 0;
      const size_t n = write_answer(query, q, f, out.data(), l.body, l.rr_ends, a.ancount, a.nscount,
                                    a.arcount, a.rcode, options_.rotate, a.serial_at, serial);
      if (a.truncated && n > 0) wire::Header(out.data()).set(wire::kFlagTc);  // cut when compiled
      if (options_.recursion && a.rcode == 0 && a.nscount == 0 && a.ancount > 0 && n > 0)
        return complete_cname(query, q, out, n, *snap, l, ctx);
      return n;
    }
    case LookupKind::NxDomain: {
      // Reverse names we do not own belong to someone else: the upstreams answer them (CoreDNS's
      // `fallthrough in-addr.arpa ip6.arpa`), unless nothing would be forwarded for this client.
      if (options_.fallback && options_.recursion && is_reverse_zone(*l.zone) &&
          options_.recursion->recurses(qname, ctx)) {
        return options_.fallback->answer(query, out, ctx);
      }
      return write_negative(query, q, f, out.data(), *l.zone, Rcode::NxDomain);
    }
    case LookupKind::SynthesizePod:
      return write_synthesized(query, q, f, out.data(), l, snap->ttl());
    case LookupKind::NotSynced:
      return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::ServFail), 0, out);
    case LookupKind::NotInZone:
      if (options_.fallback) return options_.fallback->answer(query, out, ctx);  // forwarding
      break;
  }
  return wire::write_empty_response(query, q, static_cast<uint16_t>(Rcode::Refused), 0, out);
}

}  // namespace clusterdns::zones
