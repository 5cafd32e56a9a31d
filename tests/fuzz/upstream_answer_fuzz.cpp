// libFuzzer target: an upstream's answer, through everything dns/forward does with its bytes. The first byte
// picks the client's query (bit 0: EDNS, bit 1: DO, bit 2: over UDP, bits 3-7: how long after the store the
// cached answer is read); the rest is the answer, whose question (when readable) is the client's question.
//  - the packet cache: Cache::store, then find/write with the client's ID and question, TTLs aged, and the
//    serve-stale copy (ForwardWorker::finish and from_cache);
//  - the TC answer for a client whose UDP buffer is smaller than the answer (ForwardWorker::respond);
//  - the CNAME chase: an ExternalName answer of ours completed by the answer (wire::write_chained_answer,
//    as Forwarder::complete_cname's merge), and autopath's CNAME rewrite (wire::write_cname_answer).
// Whatever the input, every message written fits its limit, carries the client's ID and is well-formed.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "dns/forward/cache.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/message.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/query.hpp"
#include "dns/wire/response.hpp"
#include "dns/wire/rewrite.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;
namespace wire = dns::wire;

namespace {

// A snapshot with one ExternalName Service: its answer is the CNAME prefix a chase completes.
struct Fixture {
  zones::SnapshotHolder holder;
  std::unique_ptr<zones::Responder> responder;
  Fixture() {
    discovery::RegistryState s;
    s.namespaces = {"default"};
    discovery::Service ext;
    ext.ns = "default";
    ext.name = "ext";
    ext.kind = discovery::ServiceKind::ExternalName;
    ext.external_name = "upstream.example";
    s.services.push_back(ext);
    holder.publish(zones::build_snapshot(&s, zones::BuildConfig{}, 1));
    responder = std::make_unique<zones::Responder>(holder, zones::ResponderOptions{});
  }
};

std::vector<uint8_t> make_query(const uint8_t* name, size_t name_len, uint16_t type, uint16_t klass,
                                uint8_t mode) {
  std::vector<uint8_t> q = {0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, static_cast<uint8_t>(mode & 1)};
  q.insert(q.end(), name, name + name_len);
  q.insert(q.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type),
                     static_cast<uint8_t>(klass >> 8), static_cast<uint8_t>(klass)});
  if (mode & 1)
    q.insert(q.end(), {0, 0, 41, 0x10, 0, 0, 0, static_cast<uint8_t>(mode & 2 ? 0x80 : 0), 0, 0, 0});
  return q;
}

// A message we wrote: within limit, our client's ID, a readable question and records.
void check_written(std::span<const uint8_t> out, size_t n, size_t limit, uint16_t id) {
  if (n == 0) return;
  if (n > limit || n > out.size()) __builtin_trap();
  const std::span<const uint8_t> msg(out.data(), n);
  const wire::HeaderView h(msg);
  if (!h.valid() || h.id() != id || !h.has(wire::kFlagQr)) __builtin_trap();
  if (!wire::for_each_record(msg, [](const wire::RecordView&) { return true; })) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Fixture fixture;
  static std::vector<uint8_t> out(65535), chase(65535);
  const uint8_t mode = data[0];
  const std::span<const uint8_t> answer(data + 1, size - 1);
  const bool well_formed = wire::for_each_record(answer, [](const wire::RecordView&) { return true; });

  // The client's question: the answer's own when it has one (c-ares matches answers to questions).
  uint8_t name[wire::kMaxNameLength];
  size_t name_len = 0, next = 0;
  uint16_t qtype = 1, qclass = 1;
  if (answer.size() >= wire::kHeaderSize && wire::load_u16(answer.data() + 4) >= 1 &&
      wire::read_name(answer.data(), answer.size(), wire::kHeaderSize, name, &name_len, &next) ==
          wire::NameStatus::Ok &&
      next + 4 <= answer.size()) {
    qtype = wire::load_u16(answer.data() + next);
    qclass = wire::load_u16(answer.data() + next + 2);
  } else {
    static const uint8_t fallback[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
    std::memcpy(name, fallback, sizeof fallback);
    name_len = sizeof fallback;
  }
  const std::vector<uint8_t> query = make_query(name, name_len, qtype, qclass, mode);
  wire::ParsedQuery q;
  if (wire::parse_query(query, q) != wire::ParseStatus::Ok) return 0;  // QTYPE OPT: never sent upstream
  const size_t limit = (mode & 4) ? wire::udp_limit(q) : 65535;

  // The packet cache.
  dns::forward::CacheOptions options;
  options.capacity = 4;
  dns::forward::Cache cache(options);
  const dns::forward::CacheKey key = dns::forward::make_key(q);
  const int64_t now = 1'000'000;
  if (cache.store(key, answer, now)) {
    const auto hit = cache.find(key, now);
    if (hit.kind != dns::forward::Freshness::Fresh) __builtin_trap();  // just stored: fresh
    size_t n = cache.write(hit.entry, query, q, out, now, false);
    if (well_formed) check_written(out, n, out.size(), q.id);
    const int64_t later = now + int64_t{mode >> 3} * 61'000;
    for (const auto& h : {cache.find(key, later), cache.find_stale(key, later)}) {
      if (h.kind == dns::forward::Freshness::Miss) continue;
      n = cache.write(h.entry, query, q, out, later, h.kind == dns::forward::Freshness::Stale);
      if (well_formed) check_written(out, n, out.size(), q.id);
      if (n > limit) {  // ForwardWorker::respond: TC, so that the client asks again over TCP
        uint8_t small[wire::kHeaderSize + wire::kMaxNameLength + 4 + wire::kOptRecordSize];
        const size_t m = wire::write_empty_response(query, q, wire::HeaderView(out).rcode(),
                                                    wire::kFlagTc | wire::kFlagRa, small);
        check_written({small, sizeof small}, m, limit, q.id);
      }
    }
  }

  // The CNAME chase: ext.default.svc.cluster.local CNAME upstream.example, completed by the answer.
  static const uint8_t ext[] = {3, 'e', 'x', 't', 7,   'd', 'e', 'f', 'a', 'u', 'l', 't', 3,   's', 'v', 'c',
                                7, 'c', 'l', 'u', 's', 't', 'e', 'r', 5,   'l', 'o', 'c', 'a', 'l', 0};
  const std::vector<uint8_t> cquery = make_query(ext, sizeof ext, qtype, 1, mode);
  wire::ParsedQuery cq;
  if (wire::parse_query(cquery, cq) == wire::ParseStatus::Ok) {
    dns::QueryContext ctx;
    ctx.transport = dns::Transport::Tcp;
    const size_t plen = fixture.responder->answer(cquery, chase, ctx);
    if (plen > 0) {
      const size_t n = wire::write_chained_answer(cquery, cq, {chase.data(), plen}, answer, 30, limit, out);
      check_written(out, n, limit, cq.id);
    }
  }

  // Autopath: the client's name answered by a CNAME to the answer's name, then the answer's records.
  static const uint8_t client[] = {3,   'w', 'e', 'b', 7,   'd', 'e', 'f', 'a',
                                   'u', 'l', 't', 3,   's', 'v', 'c', 0};
  const std::vector<uint8_t> aquery = make_query(client, sizeof client, qtype, qclass, mode);
  wire::ParsedQuery aq;
  if (wire::parse_query(aquery, aq) == wire::ParseStatus::Ok) {
    const std::string_view target(reinterpret_cast<const char*>(name), name_len);
    const size_t n = wire::write_cname_answer(aquery, aq, target, 30, answer, limit, out);
    check_written(out, n, limit, aq.id);
  }
  return 0;
}
