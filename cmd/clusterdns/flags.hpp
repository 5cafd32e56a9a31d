// Command-line flags of build/clusterdns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/address_block.hpp"
#include "discovery/source.hpp"
#include "dns/forward/forwarding.hpp"
#include "dns/server/server.hpp"
#include "ops/runtime/config_file.hpp"
#include "ops/runtime/ops_flags.hpp"
#include "zones/cluster_records.hpp"
#include "zones/responder.hpp"

namespace clusterdns {

struct Flags {
  std::string source = "file:/etc/clusterdns/manifests";
  discovery::SourceOptions source_options;  // --namespaces, --label-selector; pods follow --pods/--autopath
  std::vector<dns::ListenAddress> listen;
  zones::ClusterOptions cluster;
  unsigned threads = 0;
  std::vector<std::string> zone_files;
  std::vector<base::AddressBlock> allow_transfer;
  bool rotate = true;  // --loadbalance round_robin (default) | off
  std::string log_level = "info";
  std::string port_file;  // --port-file: where to write the bound addresses ("" = nowhere)
  ops::OpsFlags ops;      // --config, --http, --lameduck, --log-format, --query-log, --node-local, webhook
  dns::forward::ForwardFlags forward;  // --upstream, --resolv-conf, --stub-domain, --cache-*, --autopath
  std::vector<ops::FlagArg> args;  // the effective flags (config file, then command line), for reload diffs
};

// Parses argv, and the --config file if one is named (command-line flags win over it). On --help prints
// usage and exits 0; on a bad flag, value or config file prints one line (naming file, line and field for
// the file) and exits 2.
Flags parse_flags(int argc, char** argv);

// The same, but throws std::runtime_error with that line instead of exiting (for reloads).
Flags parse_flags_or_throw(int argc, char** argv);

// The flags a reload applies without a restart (the tables' reloadable ones), with their "--".
std::vector<std::string> reloadable_flags();

}  // namespace clusterdns
