// ldns is confined to this file: <stdbool.h> before its headers (they use bool), and the dprintf(X, Y)
// debugging macro of ldns/util.h undone (it hides POSIX dprintf()).
#include "zones/zone_file.hpp"

#include <stdbool.h>
#include <ldns/ldns.h>
#undef dprintf

#include <cstdio>
#include <memory>
#include <vector>

#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"

namespace clusterdns::zones {

namespace wire = dns::wire;

namespace {

std::string rdf_bytes(const ldns_rdf* rdf) {
  return std::string(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
}

uint32_t rdf_u32(const ldns_rdf* rdf) {
  return ldns_rdf2native_int32(rdf);
}

Rdata to_rdata(const ldns_rr* rr, uint16_t type) {
  Rdata rd;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* f = ldns_rr_rdf(rr, i);
    const bool last = i + 1 == ldns_rr_rd_count(rr);
    // RFC 3597 §4: only the RFC 1035 types' names may be compressed; this one is the last field.
    if (last && ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME &&
        (type == wire::rrtype::NS || type == wire::rrtype::CNAME || type == wire::rrtype::PTR ||
         type == wire::rrtype::MX)) {
      rd.name_at = static_cast<uint16_t>(rd.raw.size());
      rd.raw += wire::lowercase(rdf_bytes(f));
    } else {
      rd.raw += rdf_bytes(f);
    }
  }
  return rd;
}

}  // namespace

std::optional<ZoneFile> load_zone_file(const std::string& path, std::string& error) {
  std::unique_ptr<FILE, int (*)(FILE*)> fp(std::fopen(path.c_str(), "r"), &std::fclose);
  if (!fp) {
    error = path + ": cannot open";
    return std::nullopt;
  }
  // Record by record, as ldns_zone_new_frm_fp_l reads them: that function frees a zone it rejects shallowly
  // (ldns 1.8.3), leaking every record before the bad line on each load attempt.
  using RrPtr = std::unique_ptr<ldns_rr, void (*)(ldns_rr*)>;
  using RdfPtr = std::unique_ptr<ldns_rdf, void (*)(ldns_rdf*)>;
  std::vector<RrPtr> rrs;
  RrPtr soa_rr(nullptr, &ldns_rr_free);
  uint32_t default_ttl = 3600;
  ldns_rdf* origin_raw = nullptr;
  ldns_rdf* prev_raw = nullptr;
  int line = 0;
  ldns_status failure = LDNS_STATUS_OK;
  while (failure == LDNS_STATUS_OK && !std::feof(fp.get())) {
    ldns_rr* rr = nullptr;
    const ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp.get(), &default_ttl, &origin_raw, &prev_raw, &line);
    if (st == LDNS_STATUS_OK) {
      RrPtr owned(rr, &ldns_rr_free);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA) {
        rrs.push_back(std::move(owned));
      } else if (!soa_rr) {  // a second SOA is ignored, as ldns does
        if (!origin_raw) origin_raw = ldns_rdf_clone(ldns_rr_owner(rr));
        soa_rr = std::move(owned);
      }
    } else if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
      failure = LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL;
    } else if (st != LDNS_STATUS_SYNTAX_EMPTY && st != LDNS_STATUS_SYNTAX_TTL &&
               st != LDNS_STATUS_SYNTAX_ORIGIN) {
      failure = st;
    }
  }
  const RdfPtr origin(origin_raw, &ldns_rdf_deep_free), prev(prev_raw, &ldns_rdf_deep_free);
  if (failure != LDNS_STATUS_OK) {
    error = path + ":" + std::to_string(line) + ": " + ldns_get_errorstr_by_id(failure);
    return std::nullopt;
  }
  const ldns_rr* soa = soa_rr.get();
  if (!soa || ldns_rr_rd_count(soa) < 7) {
    error = path + ": no SOA record (a zone file needs one at its apex)";
    return std::nullopt;
  }
  ZoneFile out;
  out.path = path;
  out.zone.apex = wire::lowercase(rdf_bytes(ldns_rr_owner(soa)));
  out.zone.mname = wire::lowercase(rdf_bytes(ldns_rr_rdf(soa, 0)));
  out.zone.rname = wire::lowercase(rdf_bytes(ldns_rr_rdf(soa, 1)));
  out.zone.serial = rdf_u32(ldns_rr_rdf(soa, 2));
  out.zone.refresh = rdf_u32(ldns_rr_rdf(soa, 3));
  out.zone.retry = rdf_u32(ldns_rr_rdf(soa, 4));
  out.zone.expire = rdf_u32(ldns_rr_rdf(soa, 5));
  out.zone.minimum = rdf_u32(ldns_rr_rdf(soa, 6));
  out.zone.soa_ttl = ldns_rr_ttl(soa);
  for (const RrPtr& owned : rrs) {
    const ldns_rr* rr = owned.get();
    const auto type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    std::string owner = wire::lowercase(rdf_bytes(ldns_rr_owner(rr)));
    if (!wire::is_subdomain(owner, out.zone.apex)) {
      error = path + ": " + wire::name_to_text(owner) + " is outside the zone " +
              wire::name_to_text(out.zone.apex);
      return std::nullopt;
    }
    if (type == wire::rrtype::SOA) continue;
    out.records.push_back(ZoneFile::Record{std::move(owner), type, ldns_rr_ttl(rr), to_rdata(rr, type)});
  }
  return out;
}

}  // namespace clusterdns::zones
