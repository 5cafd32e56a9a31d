// An immutable, precompiled zone snapshot: every answer is wire bytes ready to copy (NSD's way).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "zones/draft.hpp"

namespace clusterdns::zones {

// A response tail (answer, authority and additional sections) laid out for a question whose QNAME is
// exactly the node's name at offset 12: compression pointers into the question are valid.
struct Answer {
  uint32_t body = 0;  // offset into the byte arena
  uint32_t body_len = 0;
  uint32_t rr_ends = 0;  // offset into the RR-end table: one entry per RR, cumulative body length
  uint16_t ancount = 0, nscount = 0, arcount = 0;
  uint8_t rcode = 0;
};

struct Zone {
  std::string apex;
  std::vector<uint8_t> soa_tail;      // the SOA RR after its owner name: type, class, TTL, RDLENGTH, RDATA
  std::vector<uint16_t> soa_patches;  // offsets in soa_tail of pointers to complete with the apex offset
  bool registry_backed = false;
};

enum class LookupKind { Answer, NxDomain, SynthesizePod, NotInZone, NotSynced };

struct Lookup {
  LookupKind kind = LookupKind::NotInZone;
  const Zone* zone = nullptr;
  const Answer* answer = nullptr;  // kind == Answer
  // SynthesizePod: the address parsed from the first label (insecure pod records, SPEC.md §6).
  uint8_t address[16] = {};
  bool address_v6 = false;
};

// A pod's address and namespace, for --autopath: which search list a client's queries start with.
struct PodAddress {
  std::string ip;  // canonical text
  std::string ns;
};

class Snapshot {
 public:
  // Compiles every answer. Runs on the builder thread; allocates freely.
  // `keep_draft` keeps the draft for zone transfers (only when transfers are allowed: it costs memory).
  // `previous` (the snapshot being replaced, if any) lends the answers of every name whose inputs did not
  // change: a registry change recompiles only the names it touches.
  static std::shared_ptr<const Snapshot> build(std::shared_ptr<const ZoneDraft> draft, bool synced,
                                               uint32_t ttl, bool keep_draft,
                                               const std::vector<PodAddress>& pods = {},
                                               const Snapshot* previous = nullptr);
  // The namespace of the pod at `peer` as one wire label (length byte first), or "" when the address is
  // no pod's, or pods of several namespaces' (hostNetwork pods share their node's). Hot path: no allocation.
  std::string_view pod_namespace(const sockaddr* peer) const;

  // Hot path: no allocation, no lock. `qname` is lower-cased wire form.
  Lookup find(std::string_view qname, uint16_t qtype) const;

  std::span<const uint8_t> body(const Answer& a) const { return {arena_.data() + a.body, a.body_len}; }
  std::span<const uint16_t> rr_ends(const Answer& a) const {
    return {rr_ends_.data() + a.rr_ends, size_t{a.ancount} + a.nscount + a.arcount};
  }
  uint32_t ttl() const { return ttl_; }
  size_t node_count() const { return nodes_.size(); }
  // Names whose answers were copied from the previous snapshot rather than compiled.
  size_t reused_count() const { return reused_; }
  size_t memory_bytes() const;
  const std::vector<Zone>& zones() const { return zones_; }
  // Zone transfer data (SPEC.md §10): every RRset of the zone's nodes, built on demand off the hot path.
  const ZoneDraft* draft() const { return draft_.get(); }

 private:
  struct Node {
    uint32_t name = 0;  // arena offset of the lower-cased wire name
    uint16_t name_len = 0;
    uint16_t zone = 0;
    uint32_t typed_begin = 0, typed_end = 0;  // into typed_
    Answer fallback;                          // any other type: NODATA, or a CNAME default
    uint32_t hash = 0;
    bool insecure_pod_parent = false;
  };
  struct Typed {
    uint16_t qtype;
    Answer answer;
  };
  class Compiler;

  const Node* find_node(std::string_view name, uint32_t hash) const;
  int zone_of(std::string_view name) const;
  std::string_view node_name(const Node& n) const {
    return {reinterpret_cast<const char*>(arena_.data()) + n.name, n.name_len};
  }
  // Appends a copy of `prev`'s node `from` with its answers, their SOA serials set to the draft's.
  void reuse_node(const Snapshot& prev, const Node& from, const ZoneDraft& draft);

  std::vector<uint8_t> arena_;
  std::vector<uint16_t> rr_ends_;
  std::vector<Node> nodes_;
  std::vector<Typed> typed_;
  std::vector<uint32_t> slots_;  // open addressing: node index + 1, 0 = empty
  std::vector<Zone> zones_;
  uint32_t ttl_ = 30;
  bool synced_ = false;
  std::shared_ptr<const ZoneDraft> draft_;
  struct PodEntry {
    uint8_t addr[16];  // IPv4 as IPv4-mapped IPv6
    uint32_t ns = 0;   // arena offset of the namespace label
  };
  std::vector<PodEntry> pods_;  // sorted by address

  // Read by the next build only, never by queries.
  struct SerialAt {
    uint32_t at;  // arena offset of an SOA serial field inside an answer
    uint16_t zone;
  };
  std::vector<uint64_t> fingerprints_;  // per node: answer_fingerprint()
  std::vector<SerialAt> serials_;       // ascending
  uint64_t zones_fingerprint_ = 0;
  size_t reused_ = 0;
};

}  // namespace clusterdns::zones
