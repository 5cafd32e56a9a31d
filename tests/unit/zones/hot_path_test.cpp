// The query path allocates nothing (design rule): every heap allocation made while answering is counted.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "discovery/files/manifest_parser.hpp"
#include "dns/wire/name.hpp"
#include "tests/support/allocation_counter.hpp"
#include "tests/support/dns_test_util.hpp"
#include "zones/autopath.hpp"
#include "zones/builder.hpp"
#include "zones/responder.hpp"
#include "dns/wire/types.hpp"

namespace rrtype = clusterdns::dns::wire::rrtype;

using namespace clusterdns;

TEST(HotPath, AnsweringAllocatesNothing) {
  auto parsed =
      discovery::parse_manifests(std::string(CLUSTERDNS_SOURCE_DIR) + "/tests/golden/fixtures/cluster.yaml");
  ASSERT_TRUE(parsed.errors.empty());
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&parsed.state, zones::BuildConfig{}, 1));
  zones::Responder responder(holder, {});
  const std::vector<testutil::QuerySpec> specs = {
      {.name = "my-nginx.default.svc.cluster.local", .type = rrtype::A},
      {.name = "MY-NGINX.default.svc.cluster.local", .type = rrtype::AAAA, .edns_size = 1232},
      {.name = "_http._tcp.web.default.svc.cluster.local", .type = rrtype::SRV},
      {.name = "www.example.com.default.svc.cluster.local", .type = rrtype::A},  // NXDOMAIN
      {.name = "149.162.0.10.in-addr.arpa", .type = rrtype::PTR},
      {.name = "1-2-3-4.default.pod.cluster.local", .type = rrtype::A},        // synthesized pod record
      {.name = "alias.default.svc.cluster.local", .type = rrtype::A},          // CNAME chased
      {.name = "example.com", .type = rrtype::A},                              // REFUSED
      {.name = "x", .type = rrtype::A, .edns_size = 1232, .edns_version = 1},  // BADVERS
  };
  std::vector<std::vector<uint8_t>> queries;
  for (const auto& s : specs)
    queries.push_back(testutil::make_query(s));
  const testutil::CountedAnswers counted = testutil::answer_counting(responder, queries, 100);
  EXPECT_EQ(counted.answered, 100 * queries.size());
  EXPECT_EQ(counted.allocated, 0);
}

// --autopath (zones/autopath.hpp) answers on the query path too: a walk answered from the snapshot, whether
// it finds a candidate or tries them all, allocates nothing once the worker thread has walked once.
TEST(HotPath, AutopathWalkAllocatesNothing) {
  // Read from text, not built here: GCC 12 flags this file's replacement operator delete when it inlines a
  // container's allocation beside it (-Wmismatched-new-delete).
  auto parsed = discovery::parse_manifest_text(
      "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
      "spec: {clusterIP: 10.0.0.10, ports: [{port: 80}]}\n---\n"
      "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: team}\n"
      "spec: {containers: [{name: c, image: busybox}]}\n"
      "status: {phase: Running, podIP: 10.2.0.9, podIPs: [{ip: 10.2.0.9}]}\n",
      "autopath.yaml");
  ASSERT_TRUE(parsed.errors.empty());
  const discovery::RegistryState& s = parsed.state;
  zones::BuildConfig config;
  config.cluster.pods = zones::PodMode::Verified;
  zones::SnapshotHolder holder;
  holder.publish(zones::build_snapshot(&s, config, 1));
  zones::Responder responder(holder, {});
  zones::Autopath autopath(
      responder, {*dns::wire::name_from_text("cluster.local"), {*dns::wire::name_from_text("corp.test")}});
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  inet_pton(AF_INET, "10.2.0.9", &peer.sin_addr);
  dns::QueryContext ctx;
  ctx.peer = reinterpret_cast<const sockaddr*>(&peer);
  ctx.peer_len = sizeof peer;
  const std::vector<std::vector<uint8_t>> queries = {
      testutil::make_query({.name = "web.default.team.svc.cluster.local", .type = rrtype::A}),  // found
      testutil::make_query(
          {.name = "nothing.team.svc.cluster.local", .type = rrtype::AAAA}),  // every candidate
      testutil::make_query(
          {.name = "web.default.team.svc.cluster.local", .type = rrtype::A, .edns_size = 1232}),
  };
  std::vector<uint8_t> out(65535);
  for (const auto& q : queries)
    ASSERT_GT(autopath.answer(q, out, ctx), 0u);  // warm-up: the thread's walk and buffers
  size_t answered = 0;
  {
    testutil::CountedScope counted;
    for (int round = 0; round < 100; ++round) {
      for (const auto& q : queries)
        answered += autopath.answer(q, out, ctx) > 0;
    }
  }
  EXPECT_EQ(answered, 100 * queries.size());
  EXPECT_EQ(testutil::allocations.load(), 0);
}
