// Static zones from RFC 1035 master files (--zone-file), parsed with ldns off the query path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zones/draft.hpp"

namespace clusterdns::zones {

struct ZoneFile {
  struct Record {
    std::string owner;  // lower-cased wire form
    uint16_t type;
    uint32_t ttl;
    Rdata rdata;
  };
  std::string path;
  DraftZone zone;  // apex and SOA fields
  std::vector<Record> records;
};

// Parses `path`; on failure returns nullopt and sets error to "path:line: reason".
std::optional<ZoneFile> load_zone_file(const std::string& path, std::string& error);

}  // namespace clusterdns::zones
