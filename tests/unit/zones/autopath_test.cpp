// --autopath (zones/autopath.hpp): an NXDOMAIN for X.<ns>.svc.<zone> asked by a pod of <ns> is answered
// with X.<ns>.svc.<zone> CNAME the first search candidate that exists; other clients get the NXDOMAIN.
#include "zones/autopath.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;
namespace rrtype = dns::wire::rrtype;

namespace {

discovery::Service cluster_ip(const std::string& ns, const std::string& name, const std::string& ip) {
  discovery::Service s;
  s.ns = ns;
  s.name = name;
  s.cluster_ips = {ip};
  return s;
}

class AutopathTest : public ::testing::Test {
 protected:
  AutopathTest() {
    discovery::RegistryState s;
    s.namespaces = {"default", "team"};
    s.services.push_back(cluster_ip("default", "web", "10.0.0.10"));
    discovery::Pod pod;
    pod.ns = "team";
    pod.name = "client";
    pod.ip = "10.2.0.9";
    pod.ips = {pod.ip};
    pod.phase = "Running";
    s.pods.push_back(pod);
    zones::BuildConfig config;
    config.cluster.pods = zones::PodMode::Verified;
    holder_.publish(zones::build_snapshot(&s, config, 1));
  }
  testutil::Decoded ask(const std::string& name, const char* from) {
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    inet_pton(AF_INET, from, &peer.sin_addr);
    dns::QueryContext ctx;
    ctx.peer = reinterpret_cast<const sockaddr*>(&peer);
    ctx.peer_len = sizeof peer;
    const auto q = testutil::make_query({.name = name, .type = rrtype::A});
    std::vector<uint8_t> out(65535);
    const size_t n = autopath_.answer(q, out, ctx);
    return testutil::decode(out.data(), n);
  }

  zones::SnapshotHolder holder_;
  zones::Responder responder_{holder_, {}};
  zones::Autopath autopath_{
      responder_, {*dns::wire::name_from_text("cluster.local"), {*dns::wire::name_from_text("corp.test")}}};
};

}  // namespace

TEST_F(AutopathTest, APodsSearchPathIsWalkedServerSide) {
  // web.default.team.svc.cluster.local does not exist; web.default.svc.cluster.local does.
  const auto d = ask("web.default.team.svc.cluster.local", "10.2.0.9");
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.rcode, "NOERROR");
  ASSERT_EQ(d.answer.size(), 2u);
  EXPECT_EQ(d.answer[0], "web.default.team.svc.cluster.local. 30 IN CNAME web.default.svc.cluster.local.");
  EXPECT_EQ(d.answer[1], "web.default.svc.cluster.local. 30 IN A 10.0.0.10");
  // The same walk again on this thread (its memory reused) answers the same.
  EXPECT_EQ(ask("web.default.team.svc.cluster.local", "10.2.0.9").answer, d.answer);
}

TEST_F(AutopathTest, NothingFoundOrNotAPodOfTheNamespaceKeepsTheNxdomain) {
  EXPECT_EQ(ask("nothing.team.svc.cluster.local", "10.2.0.9").rcode, "NXDOMAIN");
  EXPECT_EQ(ask("web.default.team.svc.cluster.local", "192.0.2.1").rcode, "NXDOMAIN");    // no pod
  EXPECT_EQ(ask("web.default.default.svc.cluster.local", "10.2.0.9").rcode, "NXDOMAIN");  // not its ns
  // After walks that found nothing, a walk that finds its name.
  EXPECT_EQ(ask("web.default.team.svc.cluster.local", "10.2.0.9").answer.size(), 2u);
}
