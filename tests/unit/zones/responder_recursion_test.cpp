// What the responder asks of the forwarding path (dns::Recursion): an ExternalName whose target leaves
// the zones is handed over for completion; reverse names we do not own go to the fallback when the
// client may recurse; everything the registry owns stays authoritative.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "dns/wire/header.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/response.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "dns/wire/types.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;
using testutil::decode;
using testutil::make_query;
using testutil::QuerySpec;

namespace {

// The forwarding path, faked: answers everything REFUSED-free with an empty NOERROR (RA set) and records
// what it was asked.
struct FakeForwarding : dns::QueryHandler, dns::Recursion {
  size_t answer(std::span<const uint8_t> query, std::span<uint8_t> out, const dns::QueryContext&) override {
    dns::wire::ParsedQuery q;
    if (dns::wire::parse_query(query, q) != dns::wire::ParseStatus::Ok) return 0;
    forwarded.push_back(dns::wire::name_to_text({reinterpret_cast<const char*>(q.qname), q.qname_len}));
    return dns::wire::write_empty_response(query, q, 0, dns::wire::kFlagRa, out);
  }
  bool recurses(std::string_view, const dns::QueryContext&) override { return allow; }
  size_t complete_cname(std::span<const uint8_t>, std::span<uint8_t> out, size_t len, std::string_view target,
                        const dns::QueryContext&) override {
    targets.push_back(dns::wire::name_to_text(target));
    dns::wire::Header(out).set_rcode(dns::wire::Rcode::NxDomain);  // visible
    return len;
  }
  bool allow = true;
  std::vector<std::string> forwarded, targets;
};

discovery::RegistryState cluster() {
  discovery::RegistryState s;
  s.namespaces = {"default"};
  discovery::Service ext;
  ext.ns = "default";
  ext.name = "ext";
  ext.kind = discovery::ServiceKind::ExternalName;
  ext.external_name = "www.example.test";
  discovery::Service inzone = ext;
  inzone.name = "alias";
  inzone.external_name = "web.default.svc.cluster.local";
  discovery::Service web;
  web.ns = "default";
  web.name = "web";
  web.cluster_ips = {"10.0.0.7"};
  s.services = {ext, inzone, web};
  return s;
}

class RecursionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = cluster();
    holder_.publish(zones::build_snapshot(&state_, zones::BuildConfig{}, 1));
  }
  testutil::Decoded ask(zones::Responder& r, const QuerySpec& spec) {
    std::vector<uint8_t> out(65535);
    const auto query = make_query(spec);
    const size_t n = r.answer(query, out, dns::QueryContext{});
    return n ? decode(out.data(), n) : testutil::Decoded{};
  }
  zones::ResponderOptions with_forwarding() {
    zones::ResponderOptions o;
    o.fallback = &fwd_;
    o.recursion = &fwd_;
    return o;
  }
  discovery::RegistryState state_;
  zones::SnapshotHolder holder_;
  FakeForwarding fwd_;
};

TEST_F(RecursionTest, ExternalNameOutsideTheZonesIsCompletedByRecursion) {
  zones::Responder r(holder_, with_forwarding());
  auto a = ask(r, {.name = "ext.default.svc.cluster.local", .type = rrtype::A});
  ASSERT_EQ(fwd_.targets, std::vector<std::string>{"www.example.test."});
  EXPECT_EQ(a.rcode, "NXDOMAIN");  // what the fake made of it
  ASSERT_EQ(a.answer.size(), 1u);
  EXPECT_EQ(a.answer[0], "ext.default.svc.cluster.local. 30 IN CNAME www.example.test.");
  // Asked for the CNAME itself, or ANY: the CNAME is the answer, nothing to chase.
  ask(r, {.name = "ext.default.svc.cluster.local", .type = rrtype::CNAME});
  ask(r, {.name = "ext.default.svc.cluster.local", .type = rrtype::ANY});
  EXPECT_EQ(fwd_.targets.size(), 1u);
  // An in-zone target is chased by the snapshot itself: CNAME + A, no recursion.
  auto in = ask(r, {.name = "alias.default.svc.cluster.local", .type = rrtype::A});
  EXPECT_EQ(in.answer.size(), 2u);
  EXPECT_EQ(in.rcode, "NOERROR");
  EXPECT_EQ(fwd_.targets.size(), 1u);
  // Without forwarding (--upstream none): the CNAME alone, as before.
  zones::Responder plain(holder_, {});
  auto p = ask(plain, {.name = "ext.default.svc.cluster.local", .type = rrtype::A});
  EXPECT_EQ(p.rcode, "NOERROR");
  EXPECT_EQ(p.answer.size(), 1u);
}

TEST_F(RecursionTest, ReverseNamesWeDoNotOwnAreForwarded) {
  zones::Responder r(holder_, with_forwarding());
  // A cluster IP's PTR stays ours, authoritative.
  auto ours = ask(r, {.name = "7.0.0.10.in-addr.arpa", .type = rrtype::PTR});
  EXPECT_TRUE(ours.aa);
  ASSERT_EQ(ours.answer.size(), 1u);
  EXPECT_TRUE(fwd_.forwarded.empty());
  // An outside address (and an unused one in the service range): the upstreams' business.
  auto outside = ask(r, {.name = "8.8.8.8.in-addr.arpa", .type = rrtype::PTR});
  EXPECT_TRUE(outside.ra);
  EXPECT_FALSE(outside.aa);
  auto v6 = ask(r, {.name = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
                    .type = rrtype::PTR});
  EXPECT_TRUE(v6.ra);
  EXPECT_EQ(fwd_.forwarded,
            (std::vector<std::string>{
                "8.8.8.8.in-addr.arpa.",
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."}));
  // A client that may not recurse, or no forwarding at all: our NXDOMAIN, as before.
  fwd_.allow = false;
  auto refused = ask(r, {.name = "8.8.4.4.in-addr.arpa", .type = rrtype::PTR});
  EXPECT_EQ(refused.rcode, "NXDOMAIN");
  EXPECT_TRUE(refused.aa);
  zones::Responder plain(holder_, {});
  EXPECT_EQ(ask(plain, {.name = "8.8.8.8.in-addr.arpa", .type = rrtype::PTR}).rcode, "NXDOMAIN");
  // Cluster names that do not exist are never forwarded.
  fwd_.allow = true;
  EXPECT_EQ(ask(r, {.name = "nope.default.svc.cluster.local"}).rcode, "NXDOMAIN");
  EXPECT_EQ(fwd_.forwarded.size(), 2u);
}

}  // namespace
