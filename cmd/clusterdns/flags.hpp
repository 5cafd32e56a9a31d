// Command-line flags of build/clusterdns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dns/server/server.hpp"
#include "zones/cluster_records.hpp"
#include "zones/responder.hpp"

namespace clusterdns {

struct Flags {
  std::string source = "file:/etc/clusterdns/manifests";
  std::vector<dns::ListenAddress> listen;
  zones::ClusterOptions cluster;
  unsigned threads = 0;
  std::vector<std::string> zone_files;
  std::vector<zones::Cidr> allow_transfer;
  std::string log_level = "info";
};

// Parses argv. On --help prints usage and exits 0; on a bad flag or value prints one line and exits 2.
Flags parse_flags(int argc, char** argv);

}  // namespace clusterdns
