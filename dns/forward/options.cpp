// Forwarding flags and the assembly of the forwarding path; every message names the flag or file.
#include "dns/forward/options.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "dns/wire/name.hpp"

namespace clusterdns::dns::forward {

const char* const kForwardUsage =
    R"(  --upstream ADDR[:PORT] forward names outside the zones here; repeatable; "none" turns forwarding off
                         (default: the nameservers of --resolv-conf)
  --resolv-conf PATH     upstreams, search domains (for --autopath) and timeout: (default /etc/resolv.conf);
                         loopback nameservers (127.0.0.53) are skipped: in a pod they are a forwarding loop
  --upstream-tcp         forward over TCP only (against conntrack drops of UDP)
  --upstream-timeout-ms N  one attempt's timeout (default: resolv.conf timeout:, else 2000)
  --stub-domain D=ADDR[:PORT][,...]  forward names under D to these servers; repeatable
  --kube-dns-config DIR  a mounted kube-dns ConfigMap (stubDomains, upstreamNameservers), re-read on change
  --max-inflight N       forwarded queries waiting for upstreams; beyond: REFUSED (default 10000)
  --cache-size N         cached forwarded answers (default 10000; 0 disables the cache)
  --cache-max-ttl S      cap on cached positive TTLs (default 3600)
  --cache-max-neg-ttl S  cap on cached negative answers, RFC 2308 (default 300)
  --serve-stale S        answer from expired cache entries up to S seconds old when every upstream is
                         down, RFC 8767 (default 86400; 0 = off)
  --allow-recursion CIDR forward names outside the zones only for these clients (cluster names are answered
                         for everyone; others get REFUSED); repeatable; "any" for everyone (an open
                         resolver), "none" for no one (default: loopback, 10.0.0.0/8, 172.16.0.0/12,
                         192.168.0.0/16, 100.64.0.0/10, 169.254.0.0/16, fc00::/7, fe80::/10)
  --autopath             walk a pod's search path server-side: X.<ns>.svc.<zone> from a pod of <ns> that
                         does not exist answers CNAME to the first of X.svc.<zone>, X.<zone>, ..., X found
)";

namespace {

bool parse_uint(const std::string& v, uint64_t lo, uint64_t hi, uint64_t& out, std::string& error) {
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
    error = "expected a number";
    return false;
  }
  out = std::stoull(v);
  if (out < lo || out > hi) {
    error = "must be " + std::to_string(lo) + ".." + std::to_string(hi);
    return false;
  }
  return true;
}

bool parse_bool(const std::string& v, bool& out, std::string& error) {
  if (v == "true" || v == "1" || v == "yes") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no") {
    out = false;
  } else {
    error = "expected true or false";
    return false;
  }
  return true;
}

std::shared_ptr<spdlog::logger> logger() {
  auto l = spdlog::get("dns");
  return l ? l : spdlog::default_logger();
}

}  // namespace

std::vector<std::string> forward_flag_names() {
  return {"--upstream",       "--resolv-conf",       "--upstream-tcp", "--upstream-timeout-ms",
          "--stub-domain",    "--kube-dns-config",   "--max-inflight", "--cache-size",
          "--cache-max-ttl",  "--cache-max-neg-ttl", "--serve-stale",  "--autopath",
          "--allow-recursion"};
}

bool is_boolean_forward_flag(const std::string& name) {
  return name == "--upstream-tcp" || name == "--autopath";
}

bool set_forward_flag(ForwardFlags& f, const std::string& name, const std::string& v, std::string& error) {
  uint64_t n = 0;
  if (name == "--upstream") {
    if (v == "none") {
      f.upstream_none = true;
      return true;
    }
    auto u = parse_upstream(v, error);
    if (!u) return false;
    f.upstreams.push_back(*u);
  } else if (name == "--resolv-conf") {
    f.resolv_conf = v;
    f.resolv_conf_given = true;
  } else if (name == "--upstream-tcp") {
    return parse_bool(v, f.upstream_tcp, error);
  } else if (name == "--autopath") {
    return parse_bool(v, f.autopath, error);
  } else if (name == "--upstream-timeout-ms") {
    if (!parse_uint(v, 10, 60000, n, error)) return false;
    f.upstream_timeout_ms = static_cast<unsigned>(n);
  } else if (name == "--stub-domain") {
    auto s = parse_stub_domain(v, error);
    if (!s) return false;
    f.stub_domains.push_back(std::move(*s));
  } else if (name == "--allow-recursion") {
    if (!f.allow_recursion_given) f.allow_recursion.clear();
    f.allow_recursion_given = true;
    if (v == "any") {
      f.recursion_open = true;
    } else if (v != "none") {
      auto b = AddressBlock::parse(v);
      if (!b) {
        error = "expected an address or CIDR block, any or none";
        return false;
      }
      f.allow_recursion.push_back(*b);
    }
  } else if (name == "--kube-dns-config") {
    f.kube_dns_config = v;
  } else if (name == "--max-inflight") {
    if (!parse_uint(v, 1, 1000000, n, error)) return false;
    f.max_inflight = n;
  } else if (name == "--cache-size") {
    if (!parse_uint(v, 0, 10000000, n, error)) return false;
    f.cache_size = n;
  } else if (name == "--cache-max-ttl") {
    if (!parse_uint(v, 1, 604800, n, error)) return false;
    f.cache_max_ttl = static_cast<uint32_t>(n);
  } else if (name == "--cache-max-neg-ttl") {
    if (!parse_uint(v, 1, 86400, n, error)) return false;
    f.cache_max_neg_ttl = static_cast<uint32_t>(n);
  } else if (name == "--serve-stale") {
    if (!parse_uint(v, 0, 604800, n, error)) return false;
    f.serve_stale = static_cast<uint32_t>(n);
  } else {
    error = "not a forwarding flag";
    return false;
  }
  return true;
}

std::vector<std::string> resolv_conf_search(const ForwardFlags& flags) {
  std::string error;
  std::vector<std::string> out;
  auto rc = read_resolv_conf(flags.resolv_conf, error);
  if (!rc) return out;
  for (const auto& d : rc->search) {
    if (auto w = wire::name_from_text(d)) out.push_back(*w);
  }
  return out;
}

std::unique_ptr<Forwarding> Forwarding::create(const ForwardFlags& flags, unsigned threads,
                                               std::string& error) {
  auto log = logger();
  std::vector<Upstream> upstreams = flags.upstreams;
  std::string rc_error;
  auto rc = read_resolv_conf(flags.resolv_conf, rc_error);
  if (!rc && flags.resolv_conf_given) {
    error = "--resolv-conf: " + rc_error;
    return nullptr;
  }
  if (flags.upstream_none) {
    upstreams.clear();
  } else if (upstreams.empty() && rc) {
    for (const auto& lo : rc->loopback) {
      log->error(
          "--resolv-conf {}: nameserver {} is a loopback address. In a pod that is the pod itself, and on a "
          "node "
          "it is usually systemd-resolved's stub, which may send cluster queries back to us: a forwarding "
          "loop. "
          "Skipping it; give the real upstreams with --upstream ADDR or another --resolv-conf (e.g. "
          "/run/systemd/resolve/resolv.conf)",
          flags.resolv_conf, lo.substr(0, lo.rfind(':')));
    }
    upstreams = rc->nameservers;
    if (upstreams.empty()) {
      log->warn("--resolv-conf {}: no usable nameserver: names outside the zones are answered REFUSED{}",
                flags.resolv_conf, flags.stub_domains.empty() ? "" : " (stub domains still forward)");
    }
  } else if (upstreams.empty()) {
    log->warn("--resolv-conf {}: {}: no upstreams, names outside the zones are answered REFUSED",
              flags.resolv_conf, rc_error);
  }
  for (const auto& u : upstreams) {
    if (is_loopback(u))
      log->info("upstream {} is a loopback address (given explicitly): loop detection is on", u.text);
  }
  if (upstreams.empty() && flags.stub_domains.empty() && flags.kube_dns_config.empty()) return nullptr;

  std::unique_ptr<Forwarding> f(new Forwarding());
  ForwarderOptions o;
  unsigned timeout_ms = flags.upstream_timeout_ms;
  if (timeout_ms == 0) timeout_ms = rc && rc->timeout_s && *rc->timeout_s > 0 ? *rc->timeout_s * 1000 : 2000;
  o.channel.timeout = std::chrono::milliseconds(timeout_ms);
  o.channel.force_tcp = flags.upstream_tcp;
  if (rc && rc->attempts) o.attempts = std::clamp(*rc->attempts, 1u, 5u);
  o.max_inflight = flags.max_inflight;
  o.cache.capacity = flags.cache_size;
  o.cache.max_ttl = flags.cache_max_ttl;
  o.cache.max_neg_ttl = flags.cache_max_neg_ttl;
  o.cache.stale_max = flags.serve_stale;
  if (!flags.recursion_open) o.recursion_clients = ClientAcl(flags.allow_recursion);
  o.workers = threads != 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  f->config_ = std::make_unique<RouteConfig>(f->routes_, f->health_, upstreams, flags.stub_domains,
                                             flags.upstream_none);
  f->config_->start(flags.kube_dns_config.empty() ? std::nullopt
                                                  : std::optional<std::string>(flags.kube_dns_config));
  f->forwarder_ = std::make_unique<Forwarder>(o, f->routes_, f->health_);
  std::string clients = flags.recursion_open ? "any client (--allow-recursion any)" : "";
  for (const auto& b : flags.recursion_open ? std::vector<AddressBlock>{} : flags.allow_recursion)
    clients += (clients.empty() ? "" : " ") + b.text();
  log->info(
      "forwarding: timeout {} ms x {} attempts{}, at most {} in flight; cache {} entries (max TTL {} s, "
      "negative {} s, stale {} s); for clients in {}",
      timeout_ms, o.attempts, flags.upstream_tcp ? ", over TCP" : "", o.max_inflight, o.cache.capacity,
      o.cache.max_ttl, o.cache.max_neg_ttl, o.cache.stale_max, clients.empty() ? "none" : clients);
  return f;
}

Forwarding::~Forwarding() {
  stop();
}

void Forwarding::stop() {
  if (config_) config_->stop();
}

}  // namespace clusterdns::dns::forward
