// Forwarding flags and the assembly of the forwarding path; every message names the flag or file.
#include "dns/forward/forwarding.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "base/flags.hpp"
#include "base/log.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns::dns::forward {

namespace {

using base::FlagKind;

constexpr base::FlagSpec kForwardFlags[] = {
    {.name = "--upstream",
     .value = "ADDR[:PORT]",
     .help = "forward names outside the zones here; repeatable; \"none\" turns forwarding off\n"
             "(default: the nameservers of --resolv-conf)",
     .repeatable = true},
    {.name = "--resolv-conf",
     .value = "PATH",
     .help = "upstreams, search domains (for --autopath) and timeout: (default /etc/resolv.conf);\n"
             "loopback nameservers (127.0.0.53) are skipped: in a pod they are a forwarding loop"},
    {.name = "--upstream-tcp",
     .value = "",
     .help = "forward over TCP only (against conntrack drops of UDP)",
     .kind = FlagKind::Bool},
    {.name = "--upstream-timeout-ms",
     .value = "N",
     .help = "one attempt's timeout (default: resolv.conf timeout:, else 2000)",
     .kind = FlagKind::Number,
     .min = 10,
     .max = 60000},
    {.name = "--stub-domain",
     .value = "D=ADDR[:PORT][,...]",
     .help = "forward names under D to these servers; repeatable",
     .repeatable = true},
    {.name = "--kube-dns-config",
     .value = "DIR",
     .help = "a mounted kube-dns ConfigMap (stubDomains, upstreamNameservers), re-read on change"},
    {.name = "--max-inflight",
     .value = "N",
     .help = "forwarded queries waiting for upstreams; beyond: REFUSED (default 10000)",
     .kind = FlagKind::Number,
     .min = 1,
     .max = 1000000},
    {.name = "--cache-size",
     .value = "N",
     .help = "cached forwarded answers (default 10000; 0 disables the cache)",
     .kind = FlagKind::Number,
     .min = 0,
     .max = 10000000},
    {.name = "--cache-max-ttl",
     .value = "S",
     .help = "cap on cached positive TTLs (default 3600)",
     .kind = FlagKind::Number,
     .min = 1,
     .max = 604800},
    {.name = "--cache-max-neg-ttl",
     .value = "S",
     .help = "cap on cached negative answers, RFC 2308 (default 300)",
     .kind = FlagKind::Number,
     .min = 1,
     .max = 86400},
    {.name = "--serve-stale",
     .value = "S",
     .help = "answer from expired cache entries up to S seconds old when every upstream is\n"
             "down, RFC 8767 (default 86400; 0 = off)",
     .kind = FlagKind::Number,
     .min = 0,
     .max = 604800},
    {.name = "--allow-recursion",
     .value = "CIDR",
     .help = "forward names outside the zones only for these clients (cluster names are answered\n"
             "for everyone; others get REFUSED); repeatable; \"any\" for everyone (an open\n"
             "resolver), \"none\" for no one (default: loopback, 10.0.0.0/8, 172.16.0.0/12,\n"
             "192.168.0.0/16, 100.64.0.0/10, 169.254.0.0/16, fc00::/7, fe80::/10)",
     .repeatable = true},
    {.name = "--autopath",
     .value = "",
     .help = "walk a pod's search path server-side: X.<ns>.svc.<zone> from a pod of <ns> that\n"
             "does not exist answers CNAME to the first of X.svc.<zone>, X.<zone>, ..., X found",
     .kind = FlagKind::Bool},
};

// A Number flag of the table, within its range.
template <typename T>
bool set_number(std::string_view name, const std::string& v, T& out, std::string& error) {
  const auto n = base::parse_flag_number(*base::find_flag(kForwardFlags, name), v, error);
  if (!n) return false;
  out = static_cast<T>(*n);
  return true;
}

bool set_bool(const std::string& v, bool& out, std::string& error) {
  const auto b = base::parse_flag_bool(v, error);
  if (!b) return false;
  out = *b;
  return true;
}

}  // namespace

base::FlagTable forward_flags() {
  return kForwardFlags;
}

bool set_forward_flag(ForwardFlags& f, const std::string& name, const std::string& v, std::string& error) {
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
    return set_bool(v, f.upstream_tcp, error);
  } else if (name == "--autopath") {
    return set_bool(v, f.autopath, error);
  } else if (name == "--upstream-timeout-ms") {
    return set_number(name, v, f.upstream_timeout_ms, error);
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
      auto b = base::AddressBlock::parse(v);
      if (!b) {
        error = "expected an address or CIDR block, any or none";
        return false;
      }
      f.allow_recursion.push_back(*b);
    }
  } else if (name == "--kube-dns-config") {
    f.kube_dns_config = v;
  } else if (name == "--max-inflight") {
    return set_number(name, v, f.max_inflight, error);
  } else if (name == "--cache-size") {
    return set_number(name, v, f.cache_size, error);
  } else if (name == "--cache-max-ttl") {
    return set_number(name, v, f.cache_max_ttl, error);
  } else if (name == "--cache-max-neg-ttl") {
    return set_number(name, v, f.cache_max_neg_ttl, error);
  } else if (name == "--serve-stale") {
    return set_number(name, v, f.serve_stale, error);
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
  auto log = base::logger("dns");
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
  for (const auto& b : flags.recursion_open ? std::vector<base::AddressBlock>{} : flags.allow_recursion)
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
