// A rebuild that borrows unchanged answers from the snapshot before must answer exactly as a build from
// nothing does: every name, every type, byte for byte (SOA serials included).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "discovery/model.hpp"
#include "dns/wire/name.hpp"
#include "dns/wire/types.hpp"
#include "zones/builder.hpp"
#include "zones/snapshot.hpp"

using namespace clusterdns;
namespace rrtype = dns::wire::rrtype;

namespace {

discovery::Service cluster_ip(const std::string& ns, const std::string& name, const std::string& ip) {
  discovery::Service s;
  s.ns = ns;
  s.name = name;
  s.cluster_ips = {ip};
  s.ports = {{"http", 80, discovery::Protocol::Tcp, ""}, {"dns", 53, discovery::Protocol::Udp, ""}};
  return s;
}

discovery::Service headless(const std::string& ns, const std::string& name) {
  discovery::Service s;
  s.ns = ns;
  s.name = name;
  s.kind = discovery::ServiceKind::Headless;
  s.ports = {{"http", 80, discovery::Protocol::Tcp, ""}};
  return s;
}

discovery::EndpointSet endpoints(const std::string& ns, const std::string& service, int count, int first) {
  discovery::EndpointSet set;
  set.ns = ns;
  set.name = service + "-slice";
  set.service_name = service;
  set.ports = {{"http", 8080, discovery::Protocol::Tcp}};
  for (int i = 0; i < count; ++i) {
    discovery::Endpoint ep;
    ep.addresses = {"10.2." + std::to_string((first + i) / 200) + "." +
                    std::to_string((first + i) % 200 + 1)};
    if (i % 2 == 0) ep.hostname = "host-" + std::to_string(first + i);
    set.endpoints.push_back(ep);
  }
  return set;
}

discovery::Service external(const std::string& ns, const std::string& name, const std::string& target) {
  discovery::Service s;
  s.ns = ns;
  s.name = name;
  s.kind = discovery::ServiceKind::ExternalName;
  s.external_name = target;
  return s;
}

discovery::RegistryState base_state() {
  discovery::RegistryState s;
  s.namespaces = {"default", "kube-system", "team-a"};
  s.services.push_back(cluster_ip("default", "kubernetes", "10.96.0.1"));
  s.services.push_back(cluster_ip("kube-system", "kube-dns", "10.96.0.10"));
  for (int i = 0; i < 12; ++i)
    s.services.push_back(
        cluster_ip("team-a", "svc-" + std::to_string(i), "10.96.1." + std::to_string(i + 1)));
  s.services.push_back(headless("team-a", "db"));
  s.endpoint_sets.push_back(endpoints("team-a", "db", 5, 0));
  // Chains whose answers depend on other names' records.
  s.services.push_back(external("default", "alias", "svc-1.team-a.svc.cluster.local"));
  s.services.push_back(external("default", "alias2", "alias.default.svc.cluster.local"));
  s.services.push_back(external("default", "outside", "www.example.org"));
  return s;
}

// A static zone whose records point into the cluster zone: a CNAME chain and an MX whose target's
// addresses are the cluster's (the additional section follows them).
zones::BuildConfig config_with_static_zone(const std::string& dir) {
  const std::string path = dir + "/example.test.zone";
  std::ofstream(path) << "$ORIGIN example.test.\n$TTL 300\n"
                         "@ IN SOA ns.example.test. admin.example.test. 5 3600 600 86400 60\n"
                         "@ IN NS ns.example.test.\n"
                         "ns IN A 192.0.2.53\n"
                         "www IN CNAME alias2.default.svc.cluster.local.\n"
                         "@ IN MX 10 db.team-a.svc.cluster.local.\n"
                         "srv IN SRV 0 0 80 svc-2.team-a.svc.cluster.local.\n";
  std::string error;
  auto zf = zones::load_zone_file(path, error);
  EXPECT_TRUE(zf) << error;
  zones::BuildConfig config;
  config.keep_transfer_data = true;  // the draft lists every name to compare
  if (zf) config.static_zones.push_back(*zf);
  return config;
}

// Every name of `fresh`, asked every type: `reused` gives the same answer bytes.
void expect_same_answers(const zones::Snapshot& reused, const zones::Snapshot& fresh,
                         const std::string& when) {
  ASSERT_EQ(reused.node_count(), fresh.node_count()) << when;
  ASSERT_NE(fresh.draft(), nullptr);
  static const uint16_t kTypes[] = {rrtype::A,   rrtype::AAAA,  rrtype::SRV, rrtype::PTR,
                                    rrtype::TXT, rrtype::CNAME, rrtype::MX,  rrtype::NS,
                                    rrtype::SOA, rrtype::ANY,   0,           99};
  for (const auto& [name, node] : fresh.draft()->nodes()) {
    for (uint16_t type : kTypes) {
      const zones::Lookup a = reused.find(name, type), b = fresh.find(name, type);
      const std::string what = when + ": " + dns::wire::name_to_text(name) + " type " + std::to_string(type);
      ASSERT_EQ(a.kind, b.kind) << what;
      if (b.kind != zones::LookupKind::Answer) continue;
      ASSERT_EQ(a.answer->rcode, b.answer->rcode) << what;
      ASSERT_EQ(a.answer->ancount, b.answer->ancount) << what;
      ASSERT_EQ(a.answer->nscount, b.answer->nscount) << what;
      ASSERT_EQ(a.answer->arcount, b.answer->arcount) << what;
      const auto ab = reused.body(*a.answer), bb = fresh.body(*b.answer);
      ASSERT_TRUE(std::equal(ab.begin(), ab.end(), bb.begin(), bb.end())) << what;
      const auto ae = reused.rr_ends(*a.answer), be = fresh.rr_ends(*b.answer);
      ASSERT_TRUE(std::equal(ae.begin(), ae.end(), be.begin(), be.end())) << what;
    }
  }
}

class SnapshotReuse : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("clusterdns-reuse-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    config_ = config_with_static_zone(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  zones::BuildConfig config_;
};

TEST_F(SnapshotReuse, OneChangeRecompilesOnlyWhatItTouches) {
  discovery::RegistryState state = base_state();
  auto before = zones::build_snapshot(&state, config_, 100);
  EXPECT_EQ(before->reused_count(), 0u);

  state.services[3].cluster_ips = {"10.96.9.9"};  // svc-1: alias and alias2 chain to it, so does www
  auto reused = zones::build_snapshot(&state, config_, 101, before.get());
  auto fresh = zones::build_snapshot(&state, config_, 101);
  expect_same_answers(*reused, *fresh, "svc-1 moved");
  // Compiled again: the three registry zones' apexes (their SOA holds the serial); svc-1 and its two SRV
  // names (their additional A); alias, alias2 and www.example.test (CNAME chains ending at svc-1); the new
  // PTR and its new parent 9.96.10.in-addr.arpa. Every other name is borrowed.
  EXPECT_EQ(reused->node_count() - reused->reused_count(), 11u);

  // The answers that had to change did: alias2 now leads to the new address.
  const auto name = *dns::wire::name_from_text("alias2.default.svc.cluster.local");
  const zones::Lookup l = reused->find(name, rrtype::A);
  ASSERT_EQ(l.kind, zones::LookupKind::Answer);
  ASSERT_EQ(l.answer->ancount, 3);  // CNAME, CNAME, A
  const auto body = reused->body(*l.answer);
  const uint8_t want[4] = {10, 96, 9, 9};
  EXPECT_TRUE(std::equal(body.end() - 4, body.end(), want));
}

TEST_F(SnapshotReuse, NegativeAnswersCarryTheNewSerial) {
  discovery::RegistryState state = base_state();
  auto before = zones::build_snapshot(&state, config_, 100);
  auto after = zones::build_snapshot(&state, config_, 2026120199, before.get());
  // Nothing changed but the serial: only the registry zones' apexes (whose SOA holds it) are compiled.
  EXPECT_EQ(after->node_count() - after->reused_count(), 3u);
  expect_same_answers(*after, *zones::build_snapshot(&state, config_, 2026120199), "serial only");
}

TEST_F(SnapshotReuse, AnotherZoneLayoutLendsNothing) {
  discovery::RegistryState state = base_state();
  auto before = zones::build_snapshot(&state, config_, 100);
  zones::BuildConfig other = config_;
  other.cluster.domain = "cluster.example";
  auto after = zones::build_snapshot(&state, other, 101, before.get());
  EXPECT_EQ(after->reused_count(), 0u);
  expect_same_answers(*after, *zones::build_snapshot(&state, other, 101), "new domain");
}

TEST_F(SnapshotReuse, RandomChangesAnswerAsBuildsFromNothing) {
  std::mt19937 rng(20261201);
  discovery::RegistryState state = base_state();
  auto previous = zones::build_snapshot(&state, config_, 1);
  size_t reused_total = 0, names_total = 0;
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 150; ++round) {
    switch (rng() % 8) {
      case 0:  // a cluster IP moves
        state.services[pick(state.services.size())].cluster_ips = {"10.96.3." +
                                                                   std::to_string(pick(250) + 1)};
        break;
      case 1:  // the headless service's endpoints change
        state.endpoint_sets[0] =
            endpoints("team-a", "db", static_cast<int>(pick(7)), static_cast<int>(pick(20)));
        break;
      case 2:  // an endpoint turns unready or ready again
        if (!state.endpoint_sets[0].endpoints.empty()) {
          auto& ep = state.endpoint_sets[0].endpoints[pick(state.endpoint_sets[0].endpoints.size())];
          ep.ready = !ep.ready;
        }
        break;
      case 3:  // a service comes and goes
        if (state.services.size() > 18 && rng() % 2) {
          state.services.pop_back();
        } else {
          state.services.push_back(cluster_ip("team-a", "new-" + std::to_string(round),
                                              "10.96.4." + std::to_string(round % 250 + 1)));
        }
        break;
      case 4: {  // an ExternalName is pointed elsewhere, in the cluster or out of it
        static const char* kTargets[] = {"svc-2.team-a.svc.cluster.local", "db.team-a.svc.cluster.local",
                                         "gone.team-a.svc.cluster.local", "example.net",
                                         "alias2.default.svc.cluster.local"};
        state.services[static_cast<size_t>(15 + pick(2))].external_name = kTargets[pick(5)];
        break;
      }
      case 5:  // a port is renamed
        state.services[pick(14)].ports[0].name = rng() % 2 ? "http" : "web";
        break;
      case 6:  // a namespace appears or disappears (its services with it)
        if (state.namespaces.size() > 3) {
          state.namespaces.pop_back();
        } else {
          state.namespaces.push_back("team-b");
        }
        break;
      default:  // nothing changes but the serial
        break;
    }
    auto reused = zones::build_snapshot(&state, config_, static_cast<uint32_t>(round + 2), previous.get());
    auto fresh = zones::build_snapshot(&state, config_, static_cast<uint32_t>(round + 2));
    expect_same_answers(*reused, *fresh, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
    reused_total += reused->reused_count();
    names_total += reused->node_count();
    previous = reused;  // the next round borrows from a borrowed snapshot
  }
  EXPECT_GT(reused_total, names_total * 9 / 10);  // and borrowing really happened
}

}  // namespace
