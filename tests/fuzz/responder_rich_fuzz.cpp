// libFuzzer target: any query through the responder over a snapshot with most of what a cluster has:
// ClusterIP and headless Services (with hostnames, named ports: SRV), an ExternalName, pods (--pods
// verified, so pod A records come from the registry), a static zone file, and --autopath on. The first
// byte picks the context (bit 0: TCP, bits 1-2: the client is no pod, a pod of "default" or of "team", bit 3:
// the ExternalName's target may be resolved); the rest is the query.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/query.hpp"
#include "dns/wire/response.hpp"
#include "fuzz_file.hpp"
#include "zones/autopath.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;

namespace {

// Says yes to recursion for every name and completes a CNAME chain by leaving the answer as it is.
struct StubRecursion final : dns::Recursion {
  bool allow = false;
  bool recurses(std::string_view, const dns::QueryContext&) override { return allow; }
  size_t complete_cname(std::span<const uint8_t>, std::span<uint8_t>, size_t len, std::string_view,
                        const dns::QueryContext&) override {
    return len;
  }
};

constexpr char kZone[] =
    "$ORIGIN example.org.\n"
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "@ IN NS ns1\n"
    "ns1 IN A 192.0.2.1\n"
    "www IN CNAME web.default.svc.cluster.local.\n"
    "alias IN CNAME www\n"
    "*.wild IN A 192.0.2.7\n"
    "@ IN MX 10 mail\n"
    "mail IN AAAA 2001:db8::25\n"
    "_sip._tcp IN SRV 10 5 5060 ns1\n"
    "txt IN TXT \"hello\" \"world\"\n"
    "sub IN NS ns.sub\n"
    "ns.sub IN A 192.0.2.53\n";

discovery::Service service(const std::string& ns, const std::string& name, discovery::ServiceKind kind,
                           std::vector<std::string> ips) {
  discovery::Service s;
  s.ns = ns;
  s.name = name;
  s.kind = kind;
  s.cluster_ips = std::move(ips);
  s.ports.push_back({"http", 80, discovery::Protocol::Tcp, ""});
  s.ports.push_back({"dns", 53, discovery::Protocol::Udp, ""});
  s.ports.push_back({"", 8080, discovery::Protocol::Tcp, ""});
  return s;
}

discovery::Pod pod(const std::string& ns, const std::string& name, const std::string& ip) {
  discovery::Pod p;
  p.ns = ns;
  p.name = name;
  p.ip = ip;
  p.ips = {ip};
  p.hostname = name;
  p.subdomain = "db";
  p.ready = true;
  p.phase = "Running";
  return p;
}

struct Fixture {
  zones::SnapshotHolder holder;
  StubRecursion recursion;
  std::unique_ptr<zones::Responder> responder;
  std::unique_ptr<zones::Autopath> autopath;  // --autopath, around the responder
  Fixture() {
    discovery::RegistryState s;
    s.namespaces = {"default", "team", "kube-system"};
    s.services.push_back(
        service("default", "web", discovery::ServiceKind::ClusterIp, {"10.0.0.10", "fd00::10"}));
    s.services.push_back(
        service("kube-system", "kube-dns", discovery::ServiceKind::ClusterIp, {"10.0.0.53"}));
    s.services.push_back(service("default", "db", discovery::ServiceKind::Headless, {}));
    s.services.push_back(service("team", "web", discovery::ServiceKind::ClusterIp, {"10.0.1.10"}));
    discovery::Service ext;
    ext.ns = "team";
    ext.name = "ext";
    ext.kind = discovery::ServiceKind::ExternalName;
    ext.external_name = "www.example.org";
    s.services.push_back(ext);
    discovery::Service out;
    out.ns = "default";
    out.name = "out";
    out.kind = discovery::ServiceKind::ExternalName;
    out.external_name = "upstream.example";
    s.services.push_back(out);
    discovery::EndpointSet eps;
    eps.ns = "default";
    eps.name = "db-abc";
    eps.service_name = "db";
    eps.ports = {{"http", 8080, discovery::Protocol::Tcp}, {"dns", 5353, discovery::Protocol::Udp}};
    eps.endpoints.push_back({{"10.1.0.5"}, true, "db-0"});
    eps.endpoints.push_back({{"10.1.0.6", "fd00:1::6"}, true, "db-1"});
    eps.endpoints.push_back({{"10.1.0.7"}, false, ""});
    eps.endpoints.push_back({{"10.1.0.8"}, true, ""});
    s.endpoint_sets.push_back(eps);
    s.pods.push_back(pod("default", "db-0", "10.1.0.5"));
    s.pods.push_back(pod("default", "db-1", "10.1.0.6"));
    s.pods.push_back(pod("team", "client", "10.2.0.9"));
    zones::BuildConfig config;
    config.cluster.pods = zones::PodMode::Verified;
    config.keep_transfer_data = true;
    std::string error;
    const std::string path =
        fuzz::write_input("rich.zone", reinterpret_cast<const uint8_t*>(kZone), sizeof kZone - 1);
    auto zone = zones::load_zone_file(path, error);
    if (!zone) __builtin_trap();  // the fixture's own zone file
    config.static_zones.push_back(std::move(*zone));
    holder.publish(zones::build_snapshot(&s, config, 7));
    zones::ResponderOptions opts;
    opts.allow_transfer.push_back(*base::AddressBlock::parse("10.0.0.0/8"));
    opts.recursion = &recursion;
    responder = std::make_unique<zones::Responder>(holder, opts);
    autopath = std::make_unique<zones::Autopath>(
        *responder, zones::AutopathOptions{*dns::wire::name_from_text("cluster.local"),
                                           {*dns::wire::name_from_text("corp.example")}});
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Fixture fixture;
  static std::vector<uint8_t> out(65535);
  const uint8_t mode = data[0];
  const std::span<const uint8_t> query(data + 1, size - 1);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  static const char* const kPeers[] = {"192.0.2.99", "10.1.0.5", "10.2.0.9", "10.1.0.6"};
  inet_pton(AF_INET, kPeers[(mode >> 1) & 3], &peer.sin_addr);
  fixture.recursion.allow = (mode & 8) != 0;
  size_t streamed = 0;
  const std::function<void(std::span<const uint8_t>)> stream = [&](std::span<const uint8_t> m) {
    if (m.size() > 65535) __builtin_trap();
    ++streamed;
  };
  dns::QueryContext ctx;
  ctx.transport = (mode & 1) ? dns::Transport::Tcp : dns::Transport::Udp;
  ctx.peer = reinterpret_cast<const sockaddr*>(&peer);
  ctx.peer_len = sizeof peer;
  if (ctx.transport == dns::Transport::Tcp) ctx.stream = &stream;
  const size_t n = fixture.autopath->answer(query, out, ctx);
  dns::wire::ParsedQuery q;
  const auto status = dns::wire::parse_query(query, q);
  const size_t limit = ctx.transport == dns::Transport::Udp && status == dns::wire::ParseStatus::Ok
                           ? dns::wire::udp_limit(q)
                           : 65535;
  if (n > limit) __builtin_trap();
  if (n >= 2 && (out[0] != query[0] || out[1] != query[1])) __builtin_trap();  // the client's ID
  return 0;
}
