// One Service with thousands of ports (hostile or careless input): its records are one name and one
// SRV record per port plus the bare name's RRset of every port, and writing or undoing them must cost time
// linear in its ports, so the single builder thread is not held while every other update waits.
#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/builder.hpp"
#include "zones/cluster_records.hpp"
#include "zones/draft.hpp"
#include "zones/snapshot.hpp"

using namespace clusterdns;
namespace rrtype = dns::wire::rrtype;

namespace {

discovery::Service wide_service(int ports) {
  discovery::Service s;
  s.ns = "default";
  s.name = "wide";
  s.cluster_ips = {"10.96.0.5"};
  for (int i = 0; i < ports; ++i)
    s.ports.push_back({"p" + std::to_string(i), 1 + i, discovery::Protocol::Tcp, ""});
  return s;
}

std::string name(const std::string& text) {
  return *dns::wire::name_from_text(text);
}
std::string port_name(int i) {
  return name("_p" + std::to_string(i) + "._tcp.wide.default.svc.cluster.local");
}

// CPU seconds of this process. A ratio of two of these at two sizes measures how the work grows, whatever
// the machine's speed or load.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Costs {
  double add = 1e9, remove = 1e9;
};

// Writes one RRset of n SRV records through a RecordSink and undoes it, as ZoneBuilder does with the bare
// name of a Service of n ports when the Service changes: the cheapest of five runs of each.
Costs rrset_costs(int n) {
  const zones::ClusterOptions opts;
  const std::string owner = name("wide.default.svc.cluster.local");
  Costs best;
  for (int run = 0; run < 5; ++run) {
    zones::ZoneDraft draft;
    zones::add_cluster_zones(draft, opts);
    for (bool adding : {true, false}) {
      const double t = cpu_seconds();
      {
        zones::RecordSink sink(draft, adding);
        for (int i = 0; i < n; ++i)
          sink.record(owner, rrtype::SRV, opts.ttl,
                      zones::rdata_srv(0, 0, static_cast<uint16_t>(i + 1), owner));
      }
      double& cost = adding ? best.add : best.remove;
      cost = std::min(cost, cpu_seconds() - t);
      const auto* node = draft.find(owner);
      if (adding) {
        EXPECT_TRUE(node && node->rrsets.find(rrtype::SRV)->second.rdatas.size() == static_cast<size_t>(n));
      } else {
        EXPECT_EQ(node, nullptr);
      }
    }
  }
  return best;
}

}  // namespace

TEST(WideService, EachPortIsOneNameAndOneRecordAndAChangeLeavesNothingBehind) {
  constexpr int kPorts = 5000;
  zones::BuildConfig config;
  zones::ZoneBuilder builder(config);
  auto empty = std::make_shared<discovery::RegistryState>();
  empty->namespaces.push_back("default");
  const size_t base_nodes = builder.update(empty, 1)->node_count();

  auto wide = std::make_shared<discovery::RegistryState>(*empty);
  wide->services.push_back(wide_service(kPorts));
  auto snap = builder.update(wide, 2);
  // wide.default.svc, _tcp.wide.default.svc, one _pN._tcp.wide.default.svc per port, and the PTR
  // 5.0.96.10.in-addr.arpa with its parents 0.96.10, 96.10 and 10.in-addr.arpa: no name per pair of ports.
  EXPECT_EQ(snap->node_count(), base_nodes + kPorts + 6);
  for (int i : {0, 1234, kPorts - 1}) {
    const auto l = snap->find(port_name(i), rrtype::SRV);
    ASSERT_EQ(l.kind, zones::LookupKind::Answer) << i;
    EXPECT_EQ(l.answer->ancount, 1) << i;
  }

  // The bare name's answer is compiled once, as much of the RRset as one message holds.
  const auto bare = snap->find(name("wide.default.svc.cluster.local"), rrtype::SRV);
  ASSERT_EQ(bare.kind, zones::LookupKind::Answer);
  EXPECT_GT(bare.answer->ancount, 1000);
  EXPECT_LE(bare.answer->body_len + 12 + name("wide.default.svc.cluster.local").size() + 4, 65535u);

  // One port fewer (the Service's records are rewritten): one name fewer, the others still answer.
  auto narrower = std::make_shared<discovery::RegistryState>(*empty);
  auto svc = wide_service(kPorts);
  svc.ports.pop_back();
  narrower->services.push_back(svc);
  snap = builder.update(narrower, 3);
  EXPECT_EQ(snap->node_count(), base_nodes + kPorts + 5);
  EXPECT_EQ(snap->find(port_name(kPorts - 1), rrtype::SRV).kind, zones::LookupKind::NxDomain);
  EXPECT_EQ(snap->find(port_name(kPorts - 2), rrtype::SRV).kind, zones::LookupKind::Answer);

  // Gone: exactly the names there were before it.
  snap = builder.update(empty, 4);
  EXPECT_EQ(snap->node_count(), base_nodes);
  EXPECT_EQ(snap->find(name("wide.default.svc.cluster.local"), rrtype::SRV).kind,
            zones::LookupKind::NxDomain);
}

// Writing and undoing an RRset of n records must cost O(n log n) at most, not O(n^2): from 4,000 to 32,000
// records (8 times) the work may grow 24 times (a quadratic edit grows 64 times). Measured (Release, min of
// five): linear editing grows 9-10 times; a removal that undid the records first-written first, or that
// rescanned the set's TTLs for every record removed (ZoneDraft before its records were packed), 46-56 times.
// Process CPU time at two sizes is compared, never a wall-clock budget.
TEST(WideService, WritingAndUndoingABigRRsetIsLinear) {
  constexpr int kSmall = 4000, kLarge = 32000;
  constexpr double kMaxGrowth = 3.0 * kLarge / kSmall;
  const Costs small = rrset_costs(kSmall), large = rrset_costs(kLarge);
  EXPECT_LT(large.add / small.add, kMaxGrowth)
      << "add: " << small.add << " s for " << kSmall << " records, " << large.add << " s for " << kLarge;
  EXPECT_LT(large.remove / small.remove, kMaxGrowth) << "remove: " << small.remove << " s for " << kSmall
                                                     << " records, " << large.remove << " s for " << kLarge;
}
