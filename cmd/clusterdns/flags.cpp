// Flag parsing: --name value or --name=value; every error is one line naming the flag.
#include "cmd/clusterdns/flags.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>

#include "dns/wire/name.hpp"

namespace clusterdns {

namespace {

constexpr const char* kUsage =
    R"(clusterdns: a cluster DNS server for Kubernetes service discovery (a kube-dns replacement)

Usage: clusterdns [flags]

  --source SPEC          where services come from: file:PATH (a manifest file or directory),
                         etcd:URL[,URL…][?prefix=…&cacert=…&cert=…&key=…], kubernetes (in-cluster),
                         kubeconfig:PATH[#context], or none (default file:/etc/clusterdns/manifests)
  --namespaces NS,…      kubernetes sources: watch only these namespaces (default: all)
  --label-selector SEL   kubernetes sources: only services matching this label selector
  --listen ADDR:PORT     address to serve DNS on, UDP and TCP; repeatable; IPv6 as [::1]:53
                         (default 0.0.0.0:53 and [::]:53)
  --domain NAME          cluster domain (default cluster.local)
  --ttl SECONDS          TTL of cluster records, 0..3600 (default 30)
  --pods MODE            pod records: disabled, insecure or verified (default insecure)
  --dns-service NS/NAME  the Service of this server, whose cluster IPs glue the zones' NS record
                         ns.dns.<domain> (default kube-system/kube-dns)
  --external-zone ZONE   also serve <svc>.<ns>.ZONE for the Services' load balancer ingress and external
                         IPs (CoreDNS's k8s_external); repeatable (default: none)
  --external-ttl SECONDS TTL of external-zone records, 0..3600 (default 5)
  --external-ptr         PTR records for those external addresses
  --external-headless    headless services' ready endpoints under the external zones too
  --external-ns-address IP
                         the glue of ns1.dns.ZONE; repeatable (default: the --dns-service Service's external
                         addresses, else its cluster IPs)
  --clusterset-zone ZONE the Multi-Cluster Services zone (clusterset.local): <svc>.<ns>.svc.ZONE for each
                         ServiceImport (default: off)
  --loadbalance MODE     round_robin: rotate multi-record answers (A/AAAA of headless services, SRV) by one
                         per response, as CoreDNS's loadbalance; off: always the same order
                         (default round_robin)
  --threads N            worker threads (default: number of cores)
  --zone-file PATH       also serve an RFC 1035 zone file; repeatable
  --allow-transfer CIDR  allow AXFR/IXFR over TCP from these clients; repeatable (default: none)
  --log-level LEVEL      trace, debug, info, warn, error (default info)
  --help                 show this help
  --version              print the version

Try:  clusterdns --source file:examples/ --listen 127.0.0.1:5353
      dig @127.0.0.1 -p 5353 my-nginx.default.svc.cluster.local
)";

// A bad flag, value or config file: parse_flags prints it and exits 2; a reload logs it and carries on.
struct FlagError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& message) {
  throw FlagError(message);
}

unsigned parse_number(const std::string& flag, const std::string& v, unsigned lo, unsigned hi) {
  if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos) {
    fail("invalid value '" + v + "' for " + flag + ": expected a number");
  }
  const unsigned n = static_cast<unsigned>(std::stoul(v));
  if (n < lo || n > hi) {
    fail("invalid value '" + v + "' for " + flag + ": must be " + std::to_string(lo) + ".." +
         std::to_string(hi));
  }
  return n;
}

bool parse_bool_flag(const std::string& flag, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  fail("invalid value '" + v + "' for " + flag + ": expected true or false");
}

bool is_boolean_flag(const std::string& name) {
  return name == "--external-ptr" || name == "--external-headless" ||
         dns::forward::is_boolean_forward_flag(name);
}

}  // namespace

Flags parse_flags(int argc, char** argv) {
  try {
    return parse_flags_or_throw(argc, argv);
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "clusterdns: %s (see --help)\n", e.what());
    std::exit(2);
  }
}

Flags parse_flags_or_throw(int argc, char** argv) {
  Flags f;
  bool listen_given = false;
  using Setter = std::function<void(const std::string&, const std::string&)>;
  std::map<std::string, Setter> setters = {
      {"--source", [&](auto&, auto& v) { f.source = v; }},
      {"--namespaces",
       [&](auto& n, auto& v) {
         f.source_options.namespaces.clear();
         size_t start = 0;
         while (start <= v.size()) {
           const size_t comma = std::min(v.find(',', start), v.size());
           const std::string ns = v.substr(start, comma - start);
           if (ns.empty() || ns.size() > 63 ||
               ns.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
             fail("invalid value '" + v + "' for " + n + ": expected namespace names separated by commas");
           f.source_options.namespaces.push_back(ns);
           start = comma + 1;
         }
       }},
      {"--label-selector", [&](auto&, auto& v) { f.source_options.label_selector = v; }},
      {"--listen",
       [&](auto& n, auto& v) {
         std::string error;
         auto addr = dns::parse_listen_address(v, error);
         if (!addr) fail("invalid value '" + v + "' for " + n + ": " + error);
         if (!listen_given) f.listen.clear();
         listen_given = true;
         f.listen.push_back(*addr);
       }},
      {"--domain",
       [&](auto& n, auto& v) {
         std::string d = v;
         while (!d.empty() && d.back() == '.')
           d.pop_back();
         if (d.empty() || !dns::wire::name_from_text(d))
           fail("invalid value '" + v + "' for " + n + ": not a domain");
         f.cluster.domain = dns::wire::lowercase(d);
       }},
      {"--ttl", [&](auto& n, auto& v) { f.cluster.ttl = parse_number(n, v, 0, 3600); }},
      {"--pods",
       [&](auto& n, auto& v) {
         if (v == "disabled") {
           f.cluster.pods = zones::PodMode::Disabled;
         } else if (v == "insecure") {
           f.cluster.pods = zones::PodMode::Insecure;
         } else if (v == "verified") {
           f.cluster.pods = zones::PodMode::Verified;
         } else {
           fail("invalid value '" + v + "' for " + n + ": expected disabled, insecure or verified");
         }
       }},
      {"--threads", [&](auto& n, auto& v) { f.threads = parse_number(n, v, 1, 256); }},
      {"--dns-service",
       [&](auto& n, auto& v) {
         const size_t slash = v.find('/');
         const std::string ns = v.substr(0, slash),
                           name = slash == std::string::npos ? "" : v.substr(slash + 1);
         auto label = [](const std::string& l) {
           return !l.empty() && l.size() <= 63 &&
                  l.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
         };
         if (!label(ns) || !label(name))
           fail("invalid value '" + v + "' for " + n + ": expected NAMESPACE/NAME");
         f.cluster.dns_service_ns = ns;
         f.cluster.dns_service_name = name;
       }},
      {"--external-zone",
       [&](auto& n, auto& v) {
         std::string d = v;
         while (!d.empty() && d.back() == '.')
           d.pop_back();
         if (d.empty() || !dns::wire::name_from_text(d))
           fail("invalid value '" + v + "' for " + n + ": not a domain");
         d = dns::wire::lowercase(d);
         auto& zones = f.cluster.external.zones;
         if (std::find(zones.begin(), zones.end(), d) == zones.end()) zones.push_back(d);
       }},
      {"--external-ttl", [&](auto& n, auto& v) { f.cluster.external.ttl = parse_number(n, v, 0, 3600); }},
      {"--external-ptr", [&](auto& n, auto& v) { f.cluster.external.ptr = parse_bool_flag(n, v); }},
      {"--external-headless", [&](auto& n, auto& v) { f.cluster.external.headless = parse_bool_flag(n, v); }},
      {"--external-ns-address",
       [&](auto& n, auto& v) {
         auto ip = discovery::canonical_ip(v);
         if (!ip) fail("invalid value '" + v + "' for " + n + ": expected an IP address");
         f.cluster.external.ns_addresses.push_back(*ip);
       }},
      {"--clusterset-zone",
       [&](auto& n, auto& v) {
         std::string d = v;
         while (!d.empty() && d.back() == '.')
           d.pop_back();
         if (d.empty() || !dns::wire::name_from_text(d))
           fail("invalid value '" + v + "' for " + n + ": not a domain");
         f.cluster.clusterset_zone = dns::wire::lowercase(d);
       }},
      {"--loadbalance",
       [&](auto& n, auto& v) {
         if (v != "round_robin" && v != "off")
           fail("invalid value '" + v + "' for " + n + ": expected round_robin or off");
         f.rotate = v == "round_robin";
       }},
      {"--zone-file", [&](auto&, auto& v) { f.zone_files.push_back(v); }},
      {"--allow-transfer",
       [&](auto& n, auto& v) {
         auto c = zones::Cidr::parse(v);
         if (!c) fail("invalid value '" + v + "' for " + n + ": expected an address or CIDR block");
         f.allow_transfer.push_back(*c);
       }},
      {"--log-level",
       [&](auto& n, auto& v) {
         if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error") {
           fail("invalid value '" + v + "' for " + n + ": expected trace, debug, info, warn or error");
         }
         f.log_level = v;
       }},
  };
  for (const std::string& name : dns::forward::forward_flag_names()) {
    setters[name] = [&](auto& n, auto& v) {
      std::string error;
      if (!dns::forward::set_forward_flag(f.forward, n, v, error))
        fail("invalid value '" + v + "' for " + n + ": " + error);
    };
  }
  for (const std::string& name : ops::ops_flag_names()) {
    setters[name] = [&](auto& n, auto& v) {
      std::string error;
      if (!ops::set_ops_flag(f.ops, n, v, error)) fail("invalid value '" + v + "' for " + n + ": " + error);
    };
  }
  std::vector<ops::FlagArg> cli;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      const std::string usage = kUsage;
      const size_t at = usage.find("  --help ");
      std::fputs(
          (usage.substr(0, at) + dns::forward::kForwardUsage + ops::kOpsUsage + usage.substr(at)).c_str(),
          stdout);
      std::exit(0);
    }
    if (arg == "--version") {
      std::puts("clusterdns 0.1.0 (Kubernetes DNS schema 1.1.0)");
      std::exit(0);
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    std::vector<std::string> known;
    for (const auto& [name, setter] : setters)
      known.push_back(name);
    if (!setters.count(arg)) fail(ops::unknown_flag_message({arg, "", "", 0}, known));
    if (!has_value && is_boolean_flag(arg)) {
      value = "true";  // --autopath, --upstream-tcp, --external-ptr, --external-headless
    } else if (!has_value) {
      if (i + 1 >= argc) fail("flag " + arg + " needs a value");
      value = argv[++i];
    }
    cli.push_back({arg, value, "", 0});
  }
  // The config file first, then the command line, which replaces any flag the file also sets.
  std::vector<ops::FlagArg> file;
  for (const auto& a : cli) {
    if (a.name == "--config") file = ops::read_config_file(a.value);
  }
  f.args = ops::merge_flag_args(file, cli);
  for (const auto& a : f.args) {
    auto it = setters.find(a.name);
    if (it == setters.end()) {
      std::vector<std::string> known;
      for (const auto& [name, setter] : setters)
        known.push_back(name);
      fail(ops::unknown_flag_message(a, known));
    }
    try {
      it->second(a.name, a.value);
    } catch (const FlagError& e) {
      if (a.file.empty()) throw;
      fail(a.where() + e.what());
    }
  }
  if (std::string error = ops::check_ops_flags(f.ops); !error.empty()) fail(error);
  if (!f.cluster.clusterset_zone.empty()) {
    const auto apex = dns::wire::name_from_text(f.cluster.clusterset_zone);
    const auto cluster = dns::wire::name_from_text(f.cluster.domain);
    if (apex && cluster &&
        (dns::wire::is_subdomain(*cluster, *apex) || dns::wire::is_subdomain(*apex, *cluster)))
      fail("invalid value '" + f.cluster.clusterset_zone +
           "' for --clusterset-zone: it overlaps the cluster domain " + f.cluster.domain);
  }
  for (const std::string& zone : f.cluster.external.zones) {
    const auto apex = dns::wire::name_from_text(zone), cluster = dns::wire::name_from_text(f.cluster.domain);
    if (apex && cluster && dns::wire::is_subdomain(*cluster, *apex))
      fail("invalid value '" + zone + "' for --external-zone: it holds the cluster domain " +
           f.cluster.domain);
  }
  // Pods are watched only when an answer depends on them: verified pod records, autopath's client lookup.
  f.source_options.pods = f.cluster.pods == zones::PodMode::Verified || f.forward.autopath;
  const bool source_given =
      std::any_of(f.args.begin(), f.args.end(), [](const ops::FlagArg& a) { return a.name == "--source"; });
  if (!f.ops.node_local.empty() && !source_given) f.source = "none";  // node-local mode needs no registry
  if (f.listen.empty() && !f.ops.node_local.empty()) {  // node-local mode: the link-local address only
    f.listen.push_back({f.ops.node_local, 53});
  }
  if (f.listen.empty()) {
    std::string error;
    f.listen.push_back(*dns::parse_listen_address("0.0.0.0:53", error));
    f.listen.push_back(*dns::parse_listen_address("[::]:53", error));
  }
  return f;
}

}  // namespace clusterdns
