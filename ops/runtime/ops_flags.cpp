// Parsing of the operational flags; each error is one line that names the problem, not the flag.
#include "ops/runtime/ops_flags.hpp"

#include <arpa/inet.h>

#include <cmath>
#include <cstdlib>

#include "discovery/model.hpp"

namespace clusterdns::ops {

namespace {

constexpr base::FlagSpec kOpsFlags[] = {
    {.name = "--config",
     .value = "FILE",
     .help = "YAML file of flags (keys are flag names without --, lists for repeatable\n"
             "flags); reloaded on change and on SIGHUP; command-line flags win over it"},
    {.name = "--http",
     .value = "ADDR:PORT",
     .help = "/metrics, /health, /ready, /v1/env (default 0.0.0.0:9153; \"none\" disables)"},
    {.name = "--lameduck",
     .value = "DURATION",
     .help = "on SIGTERM: /ready fails at once, queries are answered this long, then the\n"
             "sockets close and in-flight TCP finishes (default 5s)",
     .reloadable = true},
    {.name = "--log-format", .value = "FORMAT", .help = "text or json (default text)", .reloadable = true},
    {.name = "--query-log",
     .value = "RATE",
     .help = "log a sample of queries: 0.01, 1%, 1/100; 1 logs every query (default 0: off)",
     .reloadable = true},
    {.name = "--node-local",
     .value = "IP",
     .help = "node-local cache mode: put IP on a dummy interface \"nodelocaldns\" (needs\n"
             "NET_ADMIN), listen on IP:53 unless --listen is given, and forward every name\n"
             "(cluster names through --stub-domain); --source then defaults to none"},
    {.name = "--webhook",
     .value = "ADDR:PORT",
     .help = "HTTPS address of the envinject admission webhook POST /mutate (default\n"
             "0.0.0.0:9443; served only when --tls-cert and --tls-key are given)"},
    {.name = "--tls-cert", .value = "FILE", .help = "PEM certificate (chain) of the webhook"},
    {.name = "--tls-key", .value = "FILE", .help = "PEM private key of the webhook"},
};

}  // namespace

base::FlagTable ops_flags() {
  return kOpsFlags;
}

bool set_ops_flag(OpsFlags& f, const std::string& name, const std::string& v, std::string& error) {
  if (name == "--config") {
    f.config = v;
  } else if (name == "--http") {
    if (v == "none") {
      f.http.reset();
      return true;
    }
    auto a = dns::parse_listen_address(v, error);
    if (!a) return false;
    f.http = *a;
  } else if (name == "--webhook") {
    auto a = dns::parse_listen_address(v, error);
    if (!a) return false;
    f.webhook = *a;
  } else if (name == "--lameduck") {
    auto d = parse_duration(v, error);
    if (!d) return false;
    f.lameduck = *d;
  } else if (name == "--log-format") {
    if (v != "text" && v != "json") {
      error = "expected text or json";
      return false;
    }
    f.log_format = v;
  } else if (name == "--query-log") {
    auto r = parse_rate(v, error);
    if (!r) return false;
    f.query_log_rate = *r;
  } else if (name == "--node-local") {
    auto ip = discovery::canonical_ip(v);
    if (!ip) {
      error = "not an IP address";
      return false;
    }
    f.node_local = *ip;
  } else if (name == "--tls-cert") {
    f.tls_cert = v;
  } else if (name == "--tls-key") {
    f.tls_key = v;
  } else {
    error = "not an operational flag";
    return false;
  }
  return true;
}

std::string check_ops_flags(const OpsFlags& f) {
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    return f.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key";
  }
  return "";
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text, std::string& error) {
  error = "invalid duration '" + text + "': expected e.g. 5s, 300ms, 1m30s";
  if (text == "0") return std::chrono::milliseconds(0);
  if (text.empty()) return std::nullopt;
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.'))
      ++j;
    if (j == i || j - i > 12) return std::nullopt;
    const std::string number = text.substr(i, j - i);
    if (number.find('.') != number.rfind('.') || number == ".") return std::nullopt;
    size_t k = j;
    while (k < text.size() && std::isalpha(static_cast<unsigned char>(text[k])))
      ++k;
    const std::string unit = text.substr(j, k - j);
    double scale = 0;
    if (unit == "ns")
      scale = 1e-6;
    else if (unit == "us")
      scale = 1e-3;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1e3;
    else if (unit == "m")
      scale = 60e3;
    else if (unit == "h")
      scale = 3600e3;
    else
      return std::nullopt;
    total_ms += std::strtod(number.c_str(), nullptr) * scale;
    i = k;
  }
  if (total_ms > 3600e3) {
    error = "duration '" + text + "' is longer than 1h";
    return std::nullopt;
  }
  error.clear();
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

std::optional<double> parse_rate(const std::string& text, std::string& error) {
  error = "invalid rate '" + text + "': expected a fraction 0..1 (0.01), a percentage (1%) or 1/N";
  if (text.empty() || text.size() > 20) return std::nullopt;
  const auto number = [](const std::string& s, double& out) {
    if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos) return false;
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    return end && *end == '\0';
  };
  double value = 0;
  if (text.back() == '%') {
    if (!number(text.substr(0, text.size() - 1), value)) return std::nullopt;
    value /= 100;
  } else if (auto slash = text.find('/'); slash != std::string::npos) {
    double num = 0, den = 0;
    if (!number(text.substr(0, slash), num) || !number(text.substr(slash + 1), den) || den == 0) {
      return std::nullopt;
    }
    value = num / den;
  } else if (!number(text, value)) {
    return std::nullopt;
  }
  if (value < 0 || value > 1) return std::nullopt;
  error.clear();
  return value;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace clusterdns::ops
