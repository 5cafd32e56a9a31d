// Flag parsing: --name value or --name=value; every error is one line naming the flag.
#include "cmd/clusterdns/flags.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>

#include "base/flags.hpp"
#include "dns/wire/name.hpp"

namespace clusterdns {

namespace {

using base::FlagKind;

// The flags of the server itself; forwarding (dns/forward) and operations (ops/) declare theirs.
constexpr base::FlagSpec kMainFlags[] = {
    {.name = "--source",
     .value = "SPEC",
     .help = "where services come from: file:PATH (a manifest file or directory),\n"
             "etcd:URL[,URL…][?prefix=…&cacert=…&cert=…&key=…], kubernetes (in-cluster),\n"
             "kubeconfig:PATH[#context], or none (default file:/etc/clusterdns/manifests)"},
    {.name = "--namespaces",
     .value = "NS,…",
     .help = "kubernetes sources: watch only these namespaces (default: all)"},
    {.name = "--label-selector",
     .value = "SEL",
     .help = "kubernetes sources: only services matching this label selector"},
    {.name = "--listen",
     .value = "ADDR:PORT",
     .help = "address to serve DNS on, UDP and TCP; repeatable; IPv6 as [::1]:53\n"
             "(default 0.0.0.0:53 and [::]:53)",
     .repeatable = true},
    {.name = "--domain",
     .value = "NAME",
     .help = "cluster domain (default cluster.local)",
     .reloadable = true},
    {.name = "--ttl",
     .value = "SECONDS",
     .help = "TTL of cluster records, 0..3600 (default 30)",
     .kind = FlagKind::Number,
     .min = 0,
     .max = 3600,
     .reloadable = true},
    {.name = "--pods",
     .value = "MODE",
     .help = "pod records: disabled, insecure or verified (default insecure)",
     .reloadable = true},
    {.name = "--dns-service",
     .value = "NS/NAME",
     .help = "the Service of this server, whose cluster IPs glue the zones' NS record\n"
             "ns.dns.<domain> (default kube-system/kube-dns)"},
    {.name = "--external-zone",
     .value = "ZONE",
     .help = "also serve <svc>.<ns>.ZONE for the Services' load balancer ingress and external\n"
             "IPs (CoreDNS's k8s_external); repeatable (default: none)",
     .repeatable = true,
     .reloadable = true},
    {.name = "--external-ttl",
     .value = "SECONDS",
     .help = "TTL of external-zone records, 0..3600 (default 5)",
     .kind = FlagKind::Number,
     .min = 0,
     .max = 3600,
     .reloadable = true},
    {.name = "--external-ptr",
     .value = "",
     .help = "PTR records for those external addresses",
     .kind = FlagKind::Bool,
     .reloadable = true},
    {.name = "--external-headless",
     .value = "",
     .help = "headless services' ready endpoints under the external zones too",
     .kind = FlagKind::Bool,
     .reloadable = true},
    {.name = "--external-ns-address",
     .value = "IP",
     .help = "the glue of ns1.dns.ZONE; repeatable (default: the --dns-service Service's external\n"
             "addresses, else its cluster IPs)",
     .repeatable = true,
     .reloadable = true},
    {.name = "--clusterset-zone",
     .value = "ZONE",
     .help = "the Multi-Cluster Services zone (clusterset.local): <svc>.<ns>.svc.ZONE for each\n"
             "ServiceImport (default: off)",
     .reloadable = true},
    {.name = "--loadbalance",
     .value = "MODE",
     .help = "round_robin: rotate multi-record answers (A/AAAA of headless services, SRV) by one\n"
             "per response, as CoreDNS's loadbalance; off: always the same order\n"
             "(default round_robin)"},
    {.name = "--threads",
     .value = "N",
     .help = "worker threads (default: number of cores)",
     .kind = FlagKind::Number,
     .min = 1,
     .max = 256},
    {.name = "--zone-file",
     .value = "PATH",
     .help = "also serve an RFC 1035 zone file; repeatable",
     .repeatable = true,
     .reloadable = true},
    {.name = "--allow-transfer",
     .value = "CIDR",
     .help = "allow AXFR/IXFR over TCP from these clients; repeatable (default: none)",
     .repeatable = true},
    {.name = "--log-level",
     .value = "LEVEL",
     .help = "trace, debug, info, warn, error (default info)",
     .reloadable = true},
    {.name = "--port-file",
     .value = "PATH",
     .help = "once the DNS sockets are bound, write their addresses there, one per line\n"
             "(127.0.0.1:40231; for --listen ADDR:0, the port the kernel chose)"},
};

// Answered before anything else; not settable in a config file.
constexpr base::FlagSpec kInfoFlags[] = {
    {.name = "--help", .value = "", .help = "show this help", .kind = FlagKind::Bool},
    {.name = "--version", .value = "", .help = "print the version", .kind = FlagKind::Bool},
};

// The settable flags' tables, in --help order.
std::vector<base::FlagTable> settable_tables() {
  return {kMainFlags, dns::forward::forward_flags(), ops::ops_flags()};
}

std::string usage() {
  std::string out =
      "clusterdns: a cluster DNS server for Kubernetes service discovery (a kube-dns replacement)\n\n"
      "Usage: clusterdns [flags]\n\n";
  for (const base::FlagTable& t : settable_tables())
    out += base::flag_usage(t);
  out += base::flag_usage(kInfoFlags);
  out +=
      "\nTry:  clusterdns --source file:examples/ --listen 127.0.0.1:5353\n"
      "      dig @127.0.0.1 -p 5353 my-nginx.default.svc.cluster.local\n";
  return out;
}

const base::FlagSpec* find_settable(const std::string& name) {
  for (const base::FlagTable& t : settable_tables()) {
    if (const base::FlagSpec* f = base::find_flag(t, name)) return f;
  }
  return nullptr;
}

std::vector<std::string> settable_names() {
  std::vector<std::string> names;
  for (const base::FlagTable& t : settable_tables()) {
    for (const base::FlagSpec& f : t)
      names.emplace_back(f.name);
  }
  return names;
}

// A bad flag, value or config file: parse_flags prints it and exits 2; a reload logs it and carries on.
struct FlagError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& message) {
  throw FlagError(message);
}

unsigned parse_number(const std::string& flag, const std::string& v) {
  std::string error;
  const auto n = base::parse_flag_number(*base::find_flag(kMainFlags, flag), v, error);
  if (!n) fail("invalid value '" + v + "' for " + flag + ": " + error);
  return static_cast<unsigned>(*n);
}

bool parse_bool_flag(const std::string& flag, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  fail("invalid value '" + v + "' for " + flag + ": expected true or false");
}

}  // namespace

std::vector<std::string> reloadable_flags() {
  std::vector<std::string> names;
  for (const base::FlagTable& t : settable_tables()) {
    for (const base::FlagSpec& f : t) {
      if (f.reloadable) names.emplace_back(f.name);
    }
  }
  return names;
}

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
      {"--ttl", [&](auto& n, auto& v) { f.cluster.ttl = parse_number(n, v); }},
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
      {"--threads", [&](auto& n, auto& v) { f.threads = parse_number(n, v); }},
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
      {"--external-ttl", [&](auto& n, auto& v) { f.cluster.external.ttl = parse_number(n, v); }},
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
      {"--port-file", [&](auto&, auto& v) { f.port_file = v; }},
      {"--allow-transfer",
       [&](auto& n, auto& v) {
         auto c = base::AddressBlock::parse(v);
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
  for (const base::FlagSpec& flag : dns::forward::forward_flags()) {
    setters[std::string(flag.name)] = [&](auto& n, auto& v) {
      std::string error;
      if (!dns::forward::set_forward_flag(f.forward, n, v, error))
        fail("invalid value '" + v + "' for " + n + ": " + error);
    };
  }
  for (const base::FlagSpec& flag : ops::ops_flags()) {
    setters[std::string(flag.name)] = [&](auto& n, auto& v) {
      std::string error;
      if (!ops::set_ops_flag(f.ops, n, v, error)) fail("invalid value '" + v + "' for " + n + ": " + error);
    };
  }
  for (const std::string& name : settable_names()) {
    if (!setters.count(name)) throw std::logic_error(name + " is declared but has no setter");
  }
  std::vector<ops::FlagArg> cli;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage().c_str(), stdout);
      std::exit(0);
    }
    if (arg == "--version") {
      std::puts("clusterdns " CLUSTERDNS_VERSION " (Kubernetes DNS schema 1.1.0)");
      std::exit(0);
    }
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    const base::FlagSpec* spec = find_settable(arg);
    if (!spec) fail(ops::unknown_flag_message({arg, "", "", 0}, settable_names()));
    if (!has_value && spec->kind == FlagKind::Bool) {
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
    if (it == setters.end()) fail(ops::unknown_flag_message(a, settable_names()));
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
  f.source_options.service_imports = !f.cluster.clusterset_zone.empty();
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
