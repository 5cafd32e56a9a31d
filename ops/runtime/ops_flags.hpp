// The operational flags (HTTP port, lifecycle, logging, node-local mode, admission webhook) and their
// parsers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/flags.hpp"
#include "dns/server/server.hpp"

namespace clusterdns::ops {

struct OpsFlags {
  std::string config;                                                            // --config FILE ("" = none)
  std::optional<dns::ListenAddress> http = dns::ListenAddress{"0.0.0.0", 9153};  // nullopt: --http none
  std::chrono::milliseconds lameduck{5000};                                      // --lameduck
  std::string log_format = "text";                                               // --log-format text|json
  double query_log_rate = 0;                    // --query-log: fraction of queries logged, 0 = off
  std::string node_local;                       // --node-local IP (canonical), "" = off
  dns::ListenAddress webhook{"0.0.0.0", 9443};  // --webhook: HTTPS for POST /mutate
  std::string tls_cert, tls_key;                // --tls-cert, --tls-key: the webhook runs when both are given
};

// The operational flags, declared once (name, value, help; base/flags.hpp).
base::FlagTable ops_flags();

// Applies one of ops_flags(). On a bad value returns false and sets `error` to the reason (one line,
// without the flag's name).
bool set_ops_flag(OpsFlags& flags, const std::string& name, const std::string& value, std::string& error);

// Checks the flags together (e.g. --tls-cert without --tls-key); "" when consistent.
std::string check_ops_flags(const OpsFlags& flags);

// "5s", "300ms", "1m30s", "2h", "0": Go's time.ParseDuration subset (ns/us/ms/s/m/h, no sign); at most 1 h.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text, std::string& error);

// "0.01", "1%", "1/100", "0" (off) or "1" (every query) -> a fraction in [0, 1].
std::optional<double> parse_rate(const std::string& text, std::string& error);

// "3s", "250ms": how a duration is printed back.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace clusterdns::ops
