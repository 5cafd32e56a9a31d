// clusterset.local (--clusterset-zone): ServiceImports and their multicluster EndpointSlices answered as the
// Kubernetes DNS-Based Multicluster Service Discovery specification 1.0.0 says, through the real responder.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "discovery/model.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"

using namespace clusterdns;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

namespace {

discovery::EndpointSet mc_slice(const std::string& name, const std::string& service,
                                const std::string& cluster,
                                std::vector<std::pair<std::string, std::string>> endpoints) {
  discovery::EndpointSet set;
  set.ns = "test";
  set.name = name;
  set.multicluster_service = service;
  set.source_cluster = cluster;
  set.ports = {{"https", 8443, discovery::Protocol::Tcp}};
  for (const auto& [host, ip] : endpoints) {
    discovery::Endpoint ep;
    ep.hostname = host;
    ep.addresses = {ip};
    set.endpoints.push_back(ep);
  }
  return set;
}

discovery::RegistryState clusterset_state() {
  discovery::RegistryState s;
  s.namespaces = {"test", "kube-system"};
  discovery::Service dns;
  dns.ns = "kube-system";
  dns.name = "kube-dns";
  dns.cluster_ips = {"10.0.0.10"};
  s.services.push_back(dns);
  // §2.3: a ClusterSetIP import, dual-stack, two named ports and an unnamed one.
  discovery::ServiceImport my;
  my.ns = "test";
  my.name = "myservice";
  my.ips = {"10.42.42.42", "2001:db8::1"};
  my.ports = {{"https", 443, discovery::Protocol::Tcp, ""}, {"dns", 53, discovery::Protocol::Udp, ""}};
  s.service_imports.push_back(my);
  // §2.4: a headless import exported by cluster-a and cluster-b; one endpoint without a hostname, one not
  // ready, and a slice without a source cluster (its addresses count, but no per-endpoint names).
  discovery::ServiceImport headless;
  headless.ns = "test";
  headless.name = "headless";
  headless.type = discovery::ImportType::Headless;
  headless.ports = {{"https", 443, discovery::Protocol::Tcp, ""}};
  s.service_imports.push_back(headless);
  s.endpoint_sets.push_back(
      mc_slice("headless-a", "headless", "cluster-a",
               {{"my-pet-1", "10.3.0.100"}, {"my-pet-2", "10.3.0.101"}, {"", "10.3.0.102"}}));
  auto b = mc_slice("headless-b", "headless", "cluster-b",
                    {{"my-pet-1", "10.4.0.100"}, {"my-pet-9", "10.4.0.109"}});
  b.endpoints[1].ready = false;
  s.endpoint_sets.push_back(b);
  s.endpoint_sets.push_back(mc_slice("headless-x", "headless", "", {{"anon", "10.5.0.1"}}));
  // A headless import no cluster has ready endpoints for.
  discovery::ServiceImport empty = headless;
  empty.name = "empty";
  s.service_imports.push_back(empty);
  return s;
}

class Clusterset : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.cluster.clusterset_zone = "clusterset.local";
    config_.cluster.ttl = 4;
    state_ = clusterset_state();
    holder_.publish(zones::build_snapshot(&state_, config_, 7));
  }
  testutil::Decoded ask(const std::string& name, uint16_t type) {
    std::vector<uint8_t> out(65535);
    dns::QueryContext ctx;
    // EDNS with a large buffer: whole answers, additional data included (no 512-byte cut).
    const size_t n =
        responder_.answer(testutil::make_query({.name = name, .type = type, .edns_size = 4096}), out, ctx);
    return n ? testutil::decode(out.data(), n) : testutil::Decoded{};
  }
  zones::BuildConfig config_;
  discovery::RegistryState state_;
  zones::SnapshotHolder holder_;
  zones::Responder responder_{holder_, {}};
};

namespace rr = dns::wire::rrtype;
const std::string kSoa =
    "clusterset.local. 4 IN SOA ns.dns.cluster.local. hostmaster.clusterset.local. 7 7200 1800 86400 4";

TEST_F(Clusterset, SchemaVersion) {  // §2.2
  auto d = ask("dns-version.clusterset.local", rr::TXT);
  EXPECT_THAT(d.answer, UnorderedElementsAre("dns-version.clusterset.local. 28800 IN TXT \"1.0.0\""));
}

TEST_F(Clusterset, ClusterSetIpAddresses) {  // §2.3.1
  auto a = ask("myservice.test.svc.clusterset.local", rr::A);
  EXPECT_TRUE(a.aa);
  EXPECT_THAT(a.answer, UnorderedElementsAre("myservice.test.svc.clusterset.local. 4 IN A 10.42.42.42"));
  auto aaaa = ask("myservice.test.svc.clusterset.local", rr::AAAA);
  EXPECT_THAT(aaaa.answer,
              UnorderedElementsAre("myservice.test.svc.clusterset.local. 4 IN AAAA 2001:db8::1"));
}

TEST_F(Clusterset, ClusterSetIpSrvPerNamedPort) {  // §2.3.2
  auto d = ask("_https._tcp.myservice.test.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(d.answer,
              UnorderedElementsAre("_https._tcp.myservice.test.svc.clusterset.local. 4 IN SRV 0 100 443 "
                                   "myservice.test.svc.clusterset.local."));
  EXPECT_THAT(d.additional,
              UnorderedElementsAre("myservice.test.svc.clusterset.local. 4 IN A 10.42.42.42",
                                   "myservice.test.svc.clusterset.local. 4 IN AAAA 2001:db8::1"));
  auto udp = ask("_dns._udp.myservice.test.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(udp.answer,
              UnorderedElementsAre("_dns._udp.myservice.test.svc.clusterset.local. 4 IN SRV 0 100 53 "
                                   "myservice.test.svc.clusterset.local."));
}

TEST_F(Clusterset, NoClusterSpecificNamesForClusterSetIp) {  // §2.3.4
  auto d = ask("cluster-a.myservice.test.svc.clusterset.local", rr::A);
  EXPECT_EQ(d.rcode, "NXDOMAIN");
  EXPECT_THAT(d.authority, UnorderedElementsAre(kSoa));
}

TEST_F(Clusterset, ClusterSetIpPtr) {  // §2.3.3, both families
  auto d = ask("42.42.42.10.in-addr.arpa", rr::PTR);
  EXPECT_THAT(d.answer, UnorderedElementsAre(
                            "42.42.42.10.in-addr.arpa. 4 IN PTR myservice.test.svc.clusterset.local."));
  auto v6 = ask("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", rr::PTR);
  EXPECT_THAT(v6.answer, UnorderedElementsAre(
                             "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 4 "
                             "IN PTR myservice.test.svc.clusterset.local."));
}

TEST_F(Clusterset, HeadlessEndpointPtr) {  // §2.4.3
  auto d = ask("100.0.3.10.in-addr.arpa", rr::PTR);
  EXPECT_THAT(
      d.answer,
      UnorderedElementsAre(
          "100.0.3.10.in-addr.arpa. 4 IN PTR my-pet-1.cluster-a.headless.test.svc.clusterset.local."));
}

TEST_F(Clusterset, HeadlessEveryReadyEndpointOfEveryCluster) {  // §2.4.1
  auto d = ask("headless.test.svc.clusterset.local", rr::A);
  EXPECT_THAT(d.answer, UnorderedElementsAre("headless.test.svc.clusterset.local. 4 IN A 10.3.0.100",
                                             "headless.test.svc.clusterset.local. 4 IN A 10.3.0.101",
                                             "headless.test.svc.clusterset.local. 4 IN A 10.3.0.102",
                                             "headless.test.svc.clusterset.local. 4 IN A 10.4.0.100",
                                             "headless.test.svc.clusterset.local. 4 IN A 10.5.0.1"));
}

TEST_F(Clusterset, HeadlessHostnameClusterIdNames) {  // §2.4.1
  auto a = ask("my-pet-1.cluster-a.headless.test.svc.clusterset.local", rr::A);
  EXPECT_THAT(a.answer, UnorderedElementsAre(
                            "my-pet-1.cluster-a.headless.test.svc.clusterset.local. 4 IN A 10.3.0.100"));
  auto b = ask("my-pet-1.cluster-b.headless.test.svc.clusterset.local", rr::A);
  EXPECT_THAT(b.answer, UnorderedElementsAre(
                            "my-pet-1.cluster-b.headless.test.svc.clusterset.local. 4 IN A 10.4.0.100"));
  // No hostname: the dashed IP names it (§2.1's system-assigned identifier).
  auto dashed = ask("10-3-0-102.cluster-a.headless.test.svc.clusterset.local", rr::A);
  EXPECT_THAT(
      dashed.answer,
      UnorderedElementsAre("10-3-0-102.cluster-a.headless.test.svc.clusterset.local. 4 IN A 10.3.0.102"));
  // Not ready: no name.
  EXPECT_EQ(ask("my-pet-9.cluster-b.headless.test.svc.clusterset.local", rr::A).rcode, "NXDOMAIN");
  // §2.4.4: <clusterid>.<svc> has no records (an empty non-terminal: NODATA).
  auto cluster = ask("cluster-a.headless.test.svc.clusterset.local", rr::A);
  EXPECT_EQ(cluster.rcode, "NOERROR");
  EXPECT_THAT(cluster.answer, IsEmpty());
}

TEST_F(Clusterset, HeadlessSrvEveryEndpointTimesPort) {  // §2.4.2
  auto d = ask("_https._tcp.headless.test.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(d.answer, UnorderedElementsAre("_https._tcp.headless.test.svc.clusterset.local. 4 IN SRV 0 25 "
                                             "8443 my-pet-1.cluster-a.headless.test.svc.clusterset.local.",
                                             "_https._tcp.headless.test.svc.clusterset.local. 4 IN SRV 0 25 "
                                             "8443 my-pet-2.cluster-a.headless.test.svc.clusterset.local.",
                                             "_https._tcp.headless.test.svc.clusterset.local. 4 IN SRV 0 25 "
                                             "8443 10-3-0-102.cluster-a.headless.test.svc.clusterset.local.",
                                             "_https._tcp.headless.test.svc.clusterset.local. 4 IN SRV 0 25 "
                                             "8443 my-pet-1.cluster-b.headless.test.svc.clusterset.local."));
  EXPECT_EQ(d.additional.size(), 4u);
}

TEST_F(Clusterset, HeadlessWithoutReadyEndpointsIsNxdomain) {  // §2.4.1
  EXPECT_EQ(ask("empty.test.svc.clusterset.local", rr::A).rcode, "NXDOMAIN");
}

TEST_F(Clusterset, ApexAndNegativeAnswers) {
  auto soa = ask("clusterset.local", rr::SOA);
  EXPECT_THAT(soa.answer, UnorderedElementsAre(kSoa));
  auto ns = ask("clusterset.local", rr::NS);
  EXPECT_THAT(ns.answer, UnorderedElementsAre("clusterset.local. 4 IN NS ns.dns.cluster.local."));
  EXPECT_THAT(ns.additional, UnorderedElementsAre("ns.dns.cluster.local. 4 IN A 10.0.0.10"));
  auto missing = ask("nothing.test.svc.clusterset.local", rr::A);
  EXPECT_EQ(missing.rcode, "NXDOMAIN");
  EXPECT_TRUE(missing.aa);
  auto nodata = ask("myservice.test.svc.clusterset.local", rr::TXT);
  EXPECT_EQ(nodata.rcode, "NOERROR");
  EXPECT_THAT(nodata.authority, UnorderedElementsAre(kSoa));
  // The cluster zone is untouched.
  EXPECT_EQ(ask("myservice.test.svc.cluster.local", rr::A).rcode, "NXDOMAIN");
}

TEST_F(Clusterset, OffByDefault) {
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 1));
  zones::Responder responder{holder, {}};
  std::vector<uint8_t> out(65535);
  dns::QueryContext ctx;
  const size_t n = responder.answer(
      testutil::make_query({.name = "myservice.test.svc.clusterset.local", .type = rr::A}), out, ctx);
  ASSERT_GT(n, 0u);
  EXPECT_EQ(testutil::decode(out.data(), n).rcode, "REFUSED");  // not a zone of ours, and no forwarder here
}

// CoreDNS's multicluster plugin (coredns/multicluster, multicluster_handler_test.go, TestServeDNS): its
// objects and the cases without wildcard namespaces, with the zone renamed cluster.local -> clusterset.local
// (here the cluster domain stays cluster.local). SRV weights are not prescribed (§2.4.2): the plugin divides
// by the endpoints before merging equal targets (0 16), this server by the targets it answers (0 20).
class MulticlusterPlugin : public ::testing::Test {
 protected:
  static discovery::ServiceImport import(const std::string& name, discovery::ImportType type,
                                         std::vector<std::string> ips, bool port = true) {
    discovery::ServiceImport im;
    im.ns = "testns";
    im.name = name;
    im.type = type;
    im.ips = std::move(ips);
    if (port) im.ports = {{"http", 80, discovery::Protocol::Tcp, ""}};
    return im;
  }
  static discovery::EndpointSet slice(const std::string& name, const std::string& service,
                                      std::vector<std::pair<std::string, std::string>> eps,
                                      bool port = true) {
    discovery::EndpointSet set;
    set.ns = "testns";
    set.name = name;
    set.multicluster_service = service;
    set.source_cluster = "clusterid";
    if (port) set.ports = {{"http", 80, discovery::Protocol::Tcp}};
    for (const auto& [host, ip] : eps) {
      discovery::Endpoint ep;
      ep.hostname = host;
      ep.addresses = {ip};
      set.endpoints.push_back(ep);
    }
    return set;
  }
  void SetUp() override {
    using discovery::ImportType;
    discovery::RegistryState s;
    s.namespaces = {"testns"};
    s.service_imports.push_back(import("svc1", ImportType::ClusterSetIp, {"10.0.0.1"}));
    s.service_imports.push_back(import("svcempty", ImportType::ClusterSetIp, {"10.0.0.1"}));
    s.service_imports.push_back(import("svc6", ImportType::ClusterSetIp, {"1234:abcd::1"}));
    s.service_imports.push_back(import("svc-dual-stack", ImportType::ClusterSetIp, {"10.0.0.3", "10::3"}));
    s.service_imports.push_back(import("hdls1", ImportType::Headless, {}));
    s.service_imports.push_back(import("hdlsprtls", ImportType::Headless, {}, false));
    s.endpoint_sets.push_back(slice("svc1-slice", "svc1", {{"", "172.0.0.1"}}));
    s.endpoint_sets.push_back(
        slice("hdls1-v4", "hdls1",
              {{"", "172.0.0.2"}, {"", "172.0.0.3"}, {"dup-name", "172.0.0.4"}, {"dup-name", "172.0.0.5"}}));
    s.endpoint_sets.push_back(slice("hdls1-v6", "hdls1", {{"", "5678:abcd::1"}, {"", "5678:abcd::2"}}));
    s.endpoint_sets.push_back(slice("hdlsprtls-slice", "hdlsprtls", {{"", "172.0.0.20"}}, false));
    zones::BuildConfig config;
    config.cluster.clusterset_zone = "clusterset.local";
    config.cluster.ttl = 5;
    holder_.publish(zones::build_snapshot(&s, config, 1499347823));
  }
  testutil::Decoded ask(const std::string& name, uint16_t type) {
    std::vector<uint8_t> out(65535);
    dns::QueryContext ctx;
    // EDNS with a large buffer: whole answers, additional data included (no 512-byte cut).
    const size_t n =
        responder_.answer(testutil::make_query({.name = name, .type = type, .edns_size = 4096}), out, ctx);
    return n ? testutil::decode(out.data(), n) : testutil::Decoded{};
  }
  zones::SnapshotHolder holder_;
  zones::Responder responder_{holder_, {}};
};

const std::string kPluginSoa =
    "clusterset.local. 5 IN SOA ns.dns.cluster.local. hostmaster.clusterset.local. 1499347823 7200 1800 "
    "86400 5";

TEST_F(MulticlusterPlugin, ClusterSetIpServices) {
  EXPECT_THAT(ask("svc1.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("svc1.testns.svc.clusterset.local. 5 IN A 10.0.0.1"));
  EXPECT_THAT(ask("svcempty.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("svcempty.testns.svc.clusterset.local. 5 IN A 10.0.0.1"));
  auto srv = ask("svc1.testns.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(srv.answer, UnorderedElementsAre("svc1.testns.svc.clusterset.local. 5 IN SRV 0 100 80 "
                                               "svc1.testns.svc.clusterset.local."));
  EXPECT_THAT(srv.additional, UnorderedElementsAre("svc1.testns.svc.clusterset.local. 5 IN A 10.0.0.1"));
  auto empty_srv = ask("svcempty.testns.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(empty_srv.answer,
              UnorderedElementsAre("svcempty.testns.svc.clusterset.local. 5 IN SRV 0 100 80 "
                                   "svcempty.testns.svc.clusterset.local."));
  auto six = ask("svc6.testns.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(six.additional,
              UnorderedElementsAre("svc6.testns.svc.clusterset.local. 5 IN AAAA 1234:abcd::1"));
  EXPECT_THAT(ask("svc6.testns.svc.clusterset.local", rr::AAAA).answer,
              UnorderedElementsAre("svc6.testns.svc.clusterset.local. 5 IN AAAA 1234:abcd::1"));
  auto http = ask("_http._tcp.svc1.testns.svc.clusterset.local", rr::SRV);
  EXPECT_THAT(http.answer,
              UnorderedElementsAre("_http._tcp.svc1.testns.svc.clusterset.local. 5 IN SRV 0 100 80 "
                                   "svc1.testns.svc.clusterset.local."));
  EXPECT_EQ(ask("*._not-udp-or-tcp.svc1.testns.svc.clusterset.local", rr::SRV).rcode, "NXDOMAIN");
  auto no_aaaa = ask("svc1.testns.svc.clusterset.local", rr::AAAA);
  EXPECT_EQ(no_aaaa.rcode, "NOERROR");
  EXPECT_THAT(no_aaaa.authority, UnorderedElementsAre(kPluginSoa));
  EXPECT_THAT(ask("svc-dual-stack.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("svc-dual-stack.testns.svc.clusterset.local. 5 IN A 10.0.0.3"));
  EXPECT_THAT(ask("svc-dual-stack.testns.svc.clusterset.local", rr::AAAA).answer,
              UnorderedElementsAre("svc-dual-stack.testns.svc.clusterset.local. 5 IN AAAA 10::3"));
  // The endpoints of a ClusterSetIP import have no names of their own (§2.3.4).
  EXPECT_EQ(ask("172-0-0-1.clusterid.svc1.testns.svc.clusterset.local", rr::A).rcode, "NXDOMAIN");
}

TEST_F(MulticlusterPlugin, HeadlessServices) {
  EXPECT_THAT(ask("hdls1.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.2",
                                   "hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.3",
                                   "hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.4",
                                   "hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.5"));
  EXPECT_THAT(ask("hdls1.testns.svc.clusterset.local", rr::AAAA).answer,
              UnorderedElementsAre("hdls1.testns.svc.clusterset.local. 5 IN AAAA 5678:abcd::1",
                                   "hdls1.testns.svc.clusterset.local. 5 IN AAAA 5678:abcd::2"));
  EXPECT_THAT(ask("hdlsprtls.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("hdlsprtls.testns.svc.clusterset.local. 5 IN A 172.0.0.20"));
  EXPECT_THAT(
      ask("172-0-0-20.clusterid.hdlsprtls.testns.svc.clusterset.local", rr::A).answer,
      UnorderedElementsAre("172-0-0-20.clusterid.hdlsprtls.testns.svc.clusterset.local. 5 IN A 172.0.0.20"));
  EXPECT_THAT(
      ask("172-0-0-2.clusterid.hdls1.testns.svc.clusterset.local", rr::A).answer,
      UnorderedElementsAre("172-0-0-2.clusterid.hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.2"));
  EXPECT_THAT(ask("dup-name.clusterid.hdls1.testns.svc.clusterset.local", rr::A).answer,
              UnorderedElementsAre("dup-name.clusterid.hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.4",
                                   "dup-name.clusterid.hdls1.testns.svc.clusterset.local. 5 IN A 172.0.0.5"));
  EXPECT_THAT(ask("5678-abcd--2.clusterid.hdls1.testns.svc.clusterset.local", rr::AAAA).answer,
              UnorderedElementsAre(
                  "5678-abcd--2.clusterid.hdls1.testns.svc.clusterset.local. 5 IN AAAA 5678:abcd::2"));
  const std::string base = ".clusterid.hdls1.testns.svc.clusterset.local.";
  auto srv = ask("_http._tcp.hdls1.testns.svc.clusterset.local", rr::SRV);
  std::vector<std::string> want;
  for (const char* host : {"172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2", "dup-name"})
    want.push_back("_http._tcp.hdls1.testns.svc.clusterset.local. 5 IN SRV 0 20 80 " + std::string(host) +
                   base);
  EXPECT_THAT(srv.answer, ::testing::UnorderedElementsAreArray(want));
  EXPECT_EQ(srv.additional.size(), 6u);  // dup-name's two addresses
  EXPECT_EQ(ask("bogusendpoint.clusterid.hdls1.testns.svc.clusterset.local", rr::A).rcode, "NXDOMAIN");
  EXPECT_EQ(ask("bogusendpoint.clusterid.svc0.testns.svc.clusterset.local", rr::A).rcode, "NXDOMAIN");
}

TEST_F(MulticlusterPlugin, NegativeAnswers) {
  for (const char* name : {"svc0.testns.svc.clusterset.local", "svc0.svc-nons.svc.clusterset.local"}) {
    auto d = ask(name, rr::A);
    EXPECT_EQ(d.rcode, "NXDOMAIN") << name;
    EXPECT_THAT(d.authority, UnorderedElementsAre(kPluginSoa)) << name;
  }
  for (const char* name : {"svc.clusterset.local", "testns.svc.clusterset.local"}) {
    auto d = ask(name, rr::A);
    EXPECT_EQ(d.rcode, "NOERROR") << name;
    EXPECT_THAT(d.authority, UnorderedElementsAre(kPluginSoa)) << name;
  }
  auto soa = ask("svc1.testns.svc.clusterset.local", rr::SOA);
  EXPECT_THAT(soa.authority, UnorderedElementsAre(kPluginSoa));
}

}  // namespace
