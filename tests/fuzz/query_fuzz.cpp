// libFuzzer target: any bytes through the parser and the full responder (Knot tests-fuzz style).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "discovery/model.hpp"
#include "dns/wire/query.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;

namespace {

struct Fixture {
  zones::SnapshotHolder holder;
  std::unique_ptr<zones::Responder> responder;
  Fixture() {
    discovery::RegistryState s;
    s.namespaces = {"default", "kube-system"};
    discovery::Service svc;
    svc.ns = "default";
    svc.name = "my-nginx";
    svc.cluster_ips = {"10.0.162.149", "fd00::149"};
    svc.ports.push_back({"http", 80, discovery::Protocol::Tcp, ""});
    s.services.push_back(svc);
    discovery::Service ext;
    ext.ns = "default";
    ext.name = "ext";
    ext.kind = discovery::ServiceKind::ExternalName;
    ext.external_name = "my-nginx.default.svc.cluster.local";
    s.services.push_back(ext);
    zones::BuildConfig config;
    config.keep_transfer_data = true;
    holder.publish(zones::build_snapshot(&s, config, 1));
    zones::ResponderOptions opts;
    opts.allow_transfer.push_back(*base::AddressBlock::parse("0.0.0.0/0"));
    responder = std::make_unique<zones::Responder>(holder, opts);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture fixture;
  static std::vector<uint8_t> out(65535);
  dns::wire::ParsedQuery q;
  volatile auto status = dns::wire::parse_query({data, size}, q);
  (void)status;
  for (auto transport : {dns::Transport::Udp, dns::Transport::Tcp}) {
    dns::QueryContext ctx;
    ctx.transport = transport;
    const size_t n = fixture.responder->answer({data, size}, out, ctx);
    if (n > (transport == dns::Transport::Udp ? 1232u : 65535u)) __builtin_trap();
    volatile uint8_t sink = n ? out[n - 1] : 0;
    (void)sink;
  }
  return 0;
}
