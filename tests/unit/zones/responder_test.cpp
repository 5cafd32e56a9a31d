// The responder as a black box over bytes: protocol hygiene (RFC 1035 §4.1, RFC 6891) and size limits.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "discovery/model.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/types.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "zones/zone_file.hpp"

using namespace clusterdns;
namespace rrtype = clusterdns::dns::wire::rrtype;
using testutil::decode;
using testutil::make_query;
using testutil::QuerySpec;

namespace {

discovery::RegistryState big_headless_state(int endpoints) {
  discovery::RegistryState s;
  s.namespaces = {"default"};
  discovery::Service svc;
  svc.ns = "default";
  svc.name = "big";
  svc.kind = discovery::ServiceKind::Headless;
  s.services.push_back(svc);
  discovery::EndpointSet set;
  set.ns = "default";
  set.name = "big-1";
  set.service_name = "big";
  set.ports.push_back({"http", 80, discovery::Protocol::Tcp});
  for (int i = 0; i < endpoints; ++i) {
    discovery::Endpoint ep;
    ep.addresses.push_back("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1));
    set.endpoints.push_back(ep);
  }
  s.endpoint_sets.push_back(set);
  discovery::Service svc2;
  svc2.ns = "default";
  svc2.name = "one";
  svc2.cluster_ips = {"10.0.0.5"};
  s.services.push_back(svc2);
  return s;
}

class ResponderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = big_headless_state(40);
    holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 1));
  }
  testutil::Decoded ask(const QuerySpec& spec, dns::Transport t = dns::Transport::Udp,
                        size_t* size = nullptr) {
    return ask_raw(make_query(spec), t, size);
  }
  testutil::Decoded ask_raw(const std::vector<uint8_t>& query, dns::Transport t = dns::Transport::Udp,
                            size_t* size = nullptr) {
    std::vector<uint8_t> out(65535);
    dns::QueryContext ctx;
    ctx.transport = t;
    const size_t n = responder_.answer(query, out, ctx);
    if (size) *size = n;
    last_size_ = n;
    return n ? decode(out.data(), n) : testutil::Decoded{};
  }
  discovery::RegistryState state_;
  zones::SnapshotHolder holder_;
  zones::Responder responder_{holder_, {}};
  size_t last_size_ = 0;
};

TEST_F(ResponderTest, FortyAddressesTruncateWithoutEdnsAndFitWithIt) {
  // RFC 1035 §4.2.1 and RFC 6891 §6.2.5: 40 A records ≈ 700 octets: TC without EDNS, whole with a 1232-byte
  // buffer.
  size_t n = 0;
  auto plain = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A}, dns::Transport::Udp, &n);
  EXPECT_TRUE(plain.tc);
  EXPECT_LE(n, 512u);
  EXPECT_LT(plain.answer.size(), 40u);
  EXPECT_EQ(plain.rcode, "NOERROR");
  auto edns = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A, .edns_size = 1232},
                  dns::Transport::Udp, &n);
  EXPECT_FALSE(edns.tc);
  EXPECT_EQ(edns.answer.size(), 40u);
  EXPECT_TRUE(edns.has_opt);
  EXPECT_EQ(edns.opt_size, 1232);
  auto tcp = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A}, dns::Transport::Tcp);
  EXPECT_FALSE(tcp.tc);
  EXPECT_EQ(tcp.answer.size(), 40u);
}

TEST_F(ResponderTest, UdpAnswersAreCappedAt1232EvenWhenTheClientOffersMore) {
  state_ = big_headless_state(200);
  holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 2));
  size_t n = 0;
  auto a = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A, .edns_size = 65000},
               dns::Transport::Udp, &n);
  EXPECT_TRUE(a.tc);
  EXPECT_LE(n, 1232u);
  EXPECT_GT(n, 1100u);  // filled up to the boundary, cut at a whole RR
  auto tcp = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A}, dns::Transport::Tcp);
  EXPECT_EQ(tcp.answer.size(), 200u);
}

TEST_F(ResponderTest, SrvAdditionalRecordsAreDroppedSilentlyBeforeAnswersAreCut) {
  // RFC 2181 §9: losing additional data is not truncation.
  auto srv = ask({.name = "_http._tcp.big.default.svc.cluster.local", .type = rrtype::SRV});
  EXPECT_TRUE(srv.tc);  // 40 SRVs (uncompressed targets, RFC 2782) cannot fit 512 octets
  // Six SRVs (58 octets each) fit; their six A records (25 octets each) do not all fit beside them.
  state_ = big_headless_state(6);
  holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 3));
  auto small = ask({.name = "_http._tcp.big.default.svc.cluster.local", .type = rrtype::SRV});
  EXPECT_EQ(small.answer.size(), 6u);
  EXPECT_FALSE(small.tc);
  EXPECT_GT(small.additional.size(), 0u);
  EXPECT_LT(small.additional.size(), 6u);
}

TEST_F(ResponderTest, AnSrvSetOver64KiBIsCutWithTcEvenOverTcp) {
  // 1,200 targets: 1,200 SRV records with uncompressed targets (RFC 2782, 58 octets each here) need ~70 KB,
  // so the compiled answer is cut to what fits 65,535 octets; the client must not take the cut set for the
  // whole one (RFC 2181 §9), over TCP too, where it cannot ask for more.
  state_ = big_headless_state(1200);
  holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 4));
  size_t n = 0;
  auto srv = ask({.name = "big.default.svc.cluster.local", .type = rrtype::SRV}, dns::Transport::Tcp, &n);
  ASSERT_GT(n, 0u);
  EXPECT_LE(n, 65535u);
  EXPECT_LT(srv.answer.size(), 1200u);
  EXPECT_TRUE(srv.tc);
  // Its 1,200 addresses fit: whole, no TC.
  auto a = ask({.name = "big.default.svc.cluster.local", .type = rrtype::A}, dns::Transport::Tcp);
  EXPECT_EQ(a.answer.size(), 1200u);
  EXPECT_FALSE(a.tc);
}

TEST_F(ResponderTest, ProtocolHygiene) {
  // NOTIMP for other opcodes, with the question echoed.
  auto notify = ask({.name = "one.default.svc.cluster.local", .opcode = 4});
  EXPECT_EQ(notify.rcode, "NOTIMPL");
  // REFUSED for class CH.
  auto chaos = ask({.name = "version.bind", .type = rrtype::TXT, .qclass = clusterdns::dns::wire::kClassCh});
  EXPECT_EQ(chaos.rcode, "REFUSED");
  // BADVERS for EDNS version 1, with an OPT.
  auto v1 = ask({.name = "one.default.svc.cluster.local", .edns_size = 1232, .edns_version = 1});
  EXPECT_EQ(v1.rcode, "BADVERS");
  EXPECT_TRUE(v1.has_opt);
  // RD copied, RA clear, AA set, ID echoed.
  auto a = ask({.name = "one.default.svc.cluster.local", .id = 0xBEEF, .rd = true});
  EXPECT_EQ(a.id, 0xBEEF);
  EXPECT_TRUE(a.rd);
  EXPECT_FALSE(a.ra);
  EXPECT_TRUE(a.aa);
  auto nord = ask({.name = "one.default.svc.cluster.local", .rd = false});
  EXPECT_FALSE(nord.rd);
  // DO is echoed in the OPT (RFC 3225 §3).
  auto withdo = ask({.name = "one.default.svc.cluster.local", .edns_size = 1232, .do_bit = true});
  EXPECT_TRUE(withdo.has_opt);
}

TEST_F(ResponderTest, MalformedGetsFormErrAndResponsesAreDropped) {
  auto q = make_query({.name = "one.default.svc.cluster.local"});
  auto two = q;
  dns::wire::Header(two).set_qdcount(2);
  EXPECT_EQ(ask_raw(two).rcode, "FORMERR");
  auto resp = q;
  dns::wire::Header(resp).set(dns::wire::kFlagQr);
  ask_raw(resp);
  EXPECT_EQ(last_size_, 0u);
  ask_raw(std::vector<uint8_t>(5, 0));
  EXPECT_EQ(last_size_, 0u);
  auto cut = q;
  cut.resize(cut.size() - 3);
  EXPECT_EQ(ask_raw(cut).rcode, "FORMERR");
}

TEST_F(ResponderTest, SnapshotSwapIsSeenByEveryThread) {
  // Readers on other threads pick up a new snapshot on their next query (generation check).
  std::atomic<bool> saw_new{false};
  std::thread reader([&] {
    for (int i = 0; i < 2000 && !saw_new; ++i) {
      std::vector<uint8_t> out(65535);
      auto query = make_query({.name = "two.default.svc.cluster.local"});
      const size_t n = responder_.answer(query, out, dns::QueryContext{});
      if (n && decode(out.data(), n).rcode == "NOERROR") saw_new = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  discovery::Service svc;
  svc.ns = "default";
  svc.name = "two";
  svc.cluster_ips = {"10.0.0.6"};
  state_.services.push_back(svc);
  holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 4));
  reader.join();
  EXPECT_TRUE(saw_new);
}

}  // namespace

namespace {

TEST_F(ResponderTest, NotImpEchoesOpt) {
  // RFC 6891 §7: a reply to a query with OPT carries OPT, whatever the RCODE.
  auto status = ask({.name = "one.default.svc.cluster.local", .edns_size = 1232, .opcode = 2});
  EXPECT_EQ(status.rcode, "NOTIMPL");
  EXPECT_TRUE(status.has_opt);
}

}  // namespace

namespace {

// A negative answer carries the zone's whole SOA, however long its names: an SOA whose part after the owner
// reached 300 bytes (here 10 + 192 + 195 + 20) used to go out as a 2-byte record.
TEST(ResponderNegative, LongSoaNamesAreSentWhole) {
  const std::string label(60, 'x');
  const std::string mname = label + "." + label + "." + label + ".ns.test.";  // 192 bytes in wire form
  const std::string rname = label + "." + label + "." + label + ".admin.test.";
  const std::string path = ::testing::TempDir() + "/long-soa.example.test.zone";
  std::ofstream(path) << "$ORIGIN example.test.\n$TTL 300\n@ IN SOA " << mname << " " << rname
                      << " 7 3600 600 86400 60\n@ IN NS ns.example.test.\nns IN A 192.0.2.53\n";
  std::string error;
  auto zf = zones::load_zone_file(path, error);
  ASSERT_TRUE(zf) << error;
  zones::BuildConfig config;
  config.static_zones.push_back(*zf);
  discovery::RegistryState state;
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&state, config, 1));
  zones::Responder responder{holder, {}};
  for (const uint16_t type : {rrtype::A, rrtype::TXT}) {
    const std::string name = type == rrtype::A ? "missing.example.test" : "ns.example.test";
    std::vector<uint8_t> out(65535);
    dns::QueryContext ctx;
    ctx.transport = dns::Transport::Tcp;
    const size_t n = responder.answer(make_query({.name = name, .type = type}), out, ctx);
    ASSERT_GT(n, 300u) << name;
    const auto d = decode(out.data(), n);
    ASSERT_TRUE(d.ok) << name;
    EXPECT_EQ(d.rcode, type == rrtype::A ? "NXDOMAIN" : "NOERROR") << name;
    ASSERT_EQ(d.authority.size(), 1u) << name;
    // The serial is the snapshot's; every other field is the file's.
    const std::string& soa = d.authority[0];
    EXPECT_EQ(soa.rfind("example.test. 60 IN SOA " + mname + " " + rname + " ", 0), 0u) << soa;
    EXPECT_TRUE(soa.ends_with(" 3600 600 86400 60")) << soa;
  }
}

}  // namespace
