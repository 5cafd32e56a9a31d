// An incremental update (ZoneBuilder: records rewritten per object, names recompiled per change, shards
// shared) must answer exactly as a build from nothing does: every name, every type, byte for byte.
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
  // The external zone's (--external-zone): a load balancer with an IP and an external IP, and one known
  // only by its hostname.
  auto lb = cluster_ip("team-a", "lb", "10.96.2.1");
  lb.load_balancer = {{"203.0.113.10", ""}};
  lb.external_ips = {"198.51.100.7"};
  s.services.push_back(lb);
  auto elb = cluster_ip("team-a", "elb", "10.96.2.2");
  elb.load_balancer = {{"", "abc.elb.example.net"}};
  s.services.push_back(elb);
  // The clusterset zone's (--clusterset-zone): a ClusterSetIP import and a headless one exported by two
  // clusters.
  discovery::ServiceImport api;
  api.ns = "team-a";
  api.name = "api";
  api.ips = {"10.100.0.1"};
  api.ports = {{"http", 80, discovery::Protocol::Tcp, ""}};
  s.service_imports.push_back(api);
  discovery::ServiceImport pets = api;
  pets.name = "pets";
  pets.type = discovery::ImportType::Headless;
  pets.ips.clear();
  s.service_imports.push_back(pets);
  for (const char* cluster : {"cluster-a", "cluster-b"}) {
    auto set = endpoints("team-a", "pets", 3, cluster[8] == 'a' ? 100 : 110);
    set.name = std::string("pets-") + cluster;
    set.service_name.clear();
    set.multicluster_service = "pets";
    set.source_cluster = cluster;
    s.endpoint_sets.push_back(set);
  }
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

// Every name of `fresh`, asked every type: `updated` gives the same answer bytes.
void expect_same_answers(const zones::Snapshot& updated, const zones::Snapshot& fresh,
                         const std::string& when) {
  ASSERT_EQ(updated.node_count(), fresh.node_count()) << when;
  // Kept by difference in the one, summed over every shard in the other: the same shards hold the same bytes.
  ASSERT_EQ(updated.memory_bytes(), fresh.memory_bytes()) << when;
  ASSERT_GE(fresh.memory_bytes(), fresh.node_count() * sizeof(zones::Shard::Node)) << when;
  ASSERT_NE(fresh.draft(), nullptr);
  ASSERT_NE(updated.draft(), nullptr);
  static const uint16_t kTypes[] = {rrtype::A,   rrtype::AAAA,  rrtype::SRV, rrtype::PTR,
                                    rrtype::TXT, rrtype::CNAME, rrtype::MX,  rrtype::NS,
                                    rrtype::SOA, rrtype::ANY,   0,           99};
  ASSERT_EQ(updated.draft()->nodes().size(), fresh.draft()->nodes().size()) << when;
  for (const auto& [name, node] : fresh.draft()->nodes()) {
    for (uint16_t type : kTypes) {
      const zones::Lookup a = updated.find(name, type), b = fresh.find(name, type);
      const std::string what = when + ": " + dns::wire::name_to_text(name) + " type " + std::to_string(type);
      ASSERT_EQ(a.kind, b.kind) << what;
      if (b.kind != zones::LookupKind::Answer) continue;
      ASSERT_EQ(a.answer->rcode, b.answer->rcode) << what;
      ASSERT_EQ(a.answer->ancount, b.answer->ancount) << what;
      ASSERT_EQ(a.answer->nscount, b.answer->nscount) << what;
      ASSERT_EQ(a.answer->arcount, b.answer->arcount) << what;
      ASSERT_EQ(a.answer->serial_at, b.answer->serial_at) << what;
      ASSERT_EQ(a.answer->zone_soa, b.answer->zone_soa) << what;
      ASSERT_EQ(a.zone, b.zone == nullptr
                            ? nullptr
                            : &updated.zones()[static_cast<size_t>(b.zone - fresh.zones().data())])
          << what;
      ASSERT_TRUE(std::equal(a.body.begin(), a.body.end(), b.body.begin(), b.body.end())) << what;
      ASSERT_TRUE(std::equal(a.rr_ends.begin(), a.rr_ends.end(), b.rr_ends.begin(), b.rr_ends.end())) << what;
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
  std::shared_ptr<const zones::Snapshot> update(zones::ZoneBuilder& b, const discovery::RegistryState& s,
                                                uint32_t serial) {
    return b.update(std::make_shared<const discovery::RegistryState>(s), serial);
  }
  std::filesystem::path dir_;
  zones::BuildConfig config_;
};

// A headless Service of 400 endpoints: the source rewrites the whole slice when one endpoint moves, but
// only the names whose answers change are compiled, SRV names included (their additional A records).
TEST_F(SnapshotReuse, OneEndpointMovedInABigSliceRecompilesItsNamesOnly) {
  discovery::RegistryState state = base_state();
  state.endpoint_sets.upsert(endpoints("team-a", "db", 400, 0));
  zones::ZoneBuilder builder(config_);
  update(builder, state, 100);

  auto slice = *state.endpoint_sets.find({"team-a", "db-slice"});
  ASSERT_EQ(slice.endpoints[10].hostname, "host-10");
  slice.endpoints[10].addresses = {"10.3.0.1"};  // same hostname, new address
  state.endpoint_sets.upsert(slice);
  auto updated = update(builder, state, 101);
  auto fresh = zones::build_snapshot(&state, config_, 101);
  expect_same_answers(*updated, *fresh, "host-10 moved");
  // db (its A set), the SRV names _http._tcp.db (unchanged records, new additional A) and db itself,
  // host-10.db, the new PTR with its two new parents; not the other 399 endpoints' names and PTRs.
  EXPECT_LE(updated->compiled_count(), 8u);
  EXPECT_GE(updated->compiled_count(), 4u);
}

TEST_F(SnapshotReuse, OneChangeRecompilesOnlyWhatItTouches) {
  discovery::RegistryState state = base_state();
  zones::ZoneBuilder builder(config_);
  auto before = update(builder, state, 100);
  EXPECT_EQ(before->compiled_count(), before->node_count());

  auto svc1 = *state.services.find({"team-a", "svc-1"});
  svc1.cluster_ips = {"10.96.9.9"};  // alias and alias2 chain to it, so does www
  state.services.upsert(svc1);
  auto updated = update(builder, state, 101);
  auto fresh = zones::build_snapshot(&state, config_, 101);
  expect_same_answers(*updated, *fresh, "svc-1 moved");
  // Compiled again: svc-1 and its two SRV names, whose records are unchanged but whose additional A is
  // svc-1's; alias, alias2 and www.example.test (CNAME chains ending at svc-1); the new PTR and its new
  // parent (9.96.10.in-addr.arpa comes with 9.9.96.10.in-addr.arpa; the old PTR goes). Not the empty
  // non-terminals _tcp and _udp, which the Service rewrote unchanged. Every other name is shared, serials
  // included (the responder writes them).
  EXPECT_EQ(updated->compiled_count(), 8u);

  // The answers that had to change did: alias2 now leads to the new address.
  const auto name = *dns::wire::name_from_text("alias2.default.svc.cluster.local");
  const zones::Lookup l = updated->find(name, rrtype::A);
  ASSERT_EQ(l.kind, zones::LookupKind::Answer);
  ASSERT_EQ(l.answer->ancount, 3);  // CNAME, CNAME, A
  const uint8_t want[4] = {10, 96, 9, 9};
  EXPECT_TRUE(std::equal(l.body.end() - 4, l.body.end(), want));
}

// The API and etcd sources publish "not synced" before their first list: the synced state that follows is
// written into a draft that holds none of the registry yet, and must answer as a build from nothing, and
// take further changes as one.
TEST_F(SnapshotReuse, FirstSyncAfterAnUnsyncedStartAnswersAsABuildFromNothing) {
  discovery::RegistryState state = base_state();
  zones::ZoneBuilder builder(config_);
  const auto unsynced = builder.update(nullptr, 100);
  EXPECT_EQ(unsynced->find(*dns::wire::name_from_text("svc-1.team-a.svc.cluster.local"), rrtype::A).kind,
            zones::LookupKind::NotSynced);
  expect_same_answers(*update(builder, state, 101), *zones::build_snapshot(&state, config_, 101),
                      "first sync");
  state.services.erase({"team-a", "svc-1"});
  auto changed = update(builder, state, 102);
  expect_same_answers(*changed, *zones::build_snapshot(&state, config_, 102), "a change after it");
  EXPECT_LT(changed->compiled_count(), changed->node_count() / 4);
}

TEST_F(SnapshotReuse, NothingChangedCompilesNothing) {
  discovery::RegistryState state = base_state();
  zones::ZoneBuilder builder(config_);
  update(builder, state, 100);
  auto after = update(builder, state, 2026120199);
  EXPECT_EQ(after->compiled_count(), 0u);
  expect_same_answers(*after, *zones::build_snapshot(&state, config_, 2026120199), "serial only");
  // The serial is the snapshot's: a NODATA answer carries the zone's SOA, written with the new one...
  const auto name = *dns::wire::name_from_text("svc-1.team-a.svc.cluster.local");
  const zones::Lookup l = after->find(name, rrtype::TXT);
  ASSERT_EQ(l.kind, zones::LookupKind::Answer);
  EXPECT_TRUE(l.answer->zone_soa);
  EXPECT_TRUE(l.body.empty());
  EXPECT_EQ(l.zone->serial, 2026120199u);
  // ... and the apex's SOA answer, shared with the snapshot before, has its serial patched in.
  const zones::Lookup soa = after->find(*dns::wire::name_from_text("cluster.local"), rrtype::SOA);
  ASSERT_EQ(soa.kind, zones::LookupKind::Answer);
  ASSERT_GT(soa.answer->serial_at, 0);
  EXPECT_EQ(after->zones()[soa.answer->serial_zone].serial, 2026120199u);
}

TEST_F(SnapshotReuse, AnObjectReplacedByAnEqualCopyCompilesNothing) {
  discovery::RegistryState state = base_state();
  zones::ZoneBuilder builder(config_);
  update(builder, state, 100);
  // A source that re-reads everything (a relist, a file read again) hands over new objects of equal value.
  discovery::RegistryState reread;
  reread.namespaces = state.namespaces;
  for (const auto& svc : state.services)
    reread.services.upsert(discovery::Service(svc));
  for (const auto& set : state.endpoint_sets)
    reread.endpoint_sets.upsert(discovery::EndpointSet(set));
  auto after = update(builder, reread, 101);
  EXPECT_EQ(after->compiled_count(), 0u);
  // And the index follows the new objects: the endpoints can still change afterwards.
  reread.endpoint_sets.upsert(endpoints("team-a", "db", 2, 40));
  auto changed = update(builder, reread, 102);
  expect_same_answers(*changed, *zones::build_snapshot(&reread, config_, 102), "after a re-read");
}

TEST_F(SnapshotReuse, RandomChangesAnswerAsBuildsFromNothing) {
  std::mt19937 rng(20261201);
  // Two external zones, PTRs and headless endpoints under them: every external record is covered too.
  config_.cluster.external.zones = {"example.org", "ext.example.test"};
  config_.cluster.external.ptr = true;
  config_.cluster.external.headless = true;
  config_.cluster.clusterset_zone = "clusterset.local";
  config_.cluster.pods = zones::PodMode::Verified;  // pod records too, in a namespace that comes and goes
  discovery::RegistryState state = base_state();
  const auto pod = [](const std::string& ns, int i, const std::string& phase) {
    discovery::Pod p;
    p.ns = ns;
    p.name = "pod-" + std::to_string(i);
    p.ip = "10.244.0." + std::to_string(i % 250 + 1);
    p.ips = {p.ip};
    p.phase = phase;
    return p;
  };
  state.pods.upsert(pod("team-a", 1, "Running"));
  state.pods.upsert(pod("team-b", 2, "Running"));
  zones::ZoneBuilder builder(config_);
  update(builder, state, 1);
  size_t compiled_total = 0, names_total = 0;
  const auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  const auto service_at = [&](size_t i) { return state.services[i % state.services.size()]; };
  for (int round = 0; round < 200; ++round) {
    switch (rng() % 18) {
      case 0: {  // a cluster IP moves
        auto s = service_at(pick(state.services.size()));
        if (s.kind == discovery::ServiceKind::ClusterIp)
          s.cluster_ips = {"10.96.3." + std::to_string(pick(250) + 1)};
        state.services.upsert(s);
        break;
      }
      case 1:  // the headless service's endpoints change
        state.endpoint_sets.upsert(
            endpoints("team-a", "db", static_cast<int>(pick(7)), static_cast<int>(pick(20))));
        break;
      case 2: {  // an endpoint turns unready or ready again
        if (state.endpoint_sets.empty()) break;
        auto set = state.endpoint_sets[pick(state.endpoint_sets.size())];
        if (set.endpoints.empty()) break;
        auto& ep = set.endpoints[pick(set.endpoints.size())];
        ep.ready = !ep.ready;
        state.endpoint_sets.upsert(set);
        break;
      }
      case 3:  // a service comes or goes
        if (state.services.size() > 18 && rng() % 2) {
          const auto s = service_at(pick(state.services.size()));
          state.services.erase({s.ns, s.name});
        } else {
          state.services.upsert(cluster_ip(rng() % 2 ? "team-a" : "team-b", "new-" + std::to_string(round),
                                           "10.96.4." + std::to_string(round % 250 + 1)));
        }
        break;
      case 4: {  // an ExternalName is pointed elsewhere, in the cluster or out of it
        static const char* kTargets[] = {"svc-2.team-a.svc.cluster.local", "db.team-a.svc.cluster.local",
                                         "gone.team-a.svc.cluster.local", "example.net",
                                         "alias2.default.svc.cluster.local"};
        const char* name = rng() % 2 ? "alias" : "alias2";
        state.services.upsert(external("default", name, kTargets[pick(5)]));
        break;
      }
      case 5: {  // a port is renamed
        auto s = service_at(pick(state.services.size()));
        if (!s.ports.empty()) s.ports[0].name = rng() % 2 ? "http" : "web";
        state.services.upsert(s);
        break;
      }
      case 6:  // a namespace appears or disappears (its services stay in the registry, unserved)
        if (state.namespaces.find({{}, "team-b"})) {
          state.namespaces.erase({{}, "team-b"});
        } else {
          state.namespaces.upsert(std::string("team-b"));
        }
        break;
      case 7: {  // headless <-> ClusterIP
        auto s = service_at(pick(state.services.size()));
        if (s.kind == discovery::ServiceKind::ClusterIp) {
          s.kind = discovery::ServiceKind::Headless;
          s.cluster_ips.clear();
        } else if (s.kind == discovery::ServiceKind::Headless) {
          s.kind = discovery::ServiceKind::ClusterIp;
          s.cluster_ips = {"10.96.5." + std::to_string(pick(250) + 1)};
        }
        state.services.upsert(s);
        break;
      }
      case 8: {  // an endpoint set is renamed (deleted and created under another name) or moves service
        if (state.endpoint_sets.empty()) break;
        auto set = state.endpoint_sets[pick(state.endpoint_sets.size())];
        state.endpoint_sets.erase({set.ns, set.name});
        set.name = "slice-" + std::to_string(round);
        if (rng() % 3 == 0) set.service_name = "svc-" + std::to_string(pick(12));
        state.endpoint_sets.upsert(set);
        break;
      }
      case 9:  // the kube-dns service (the apex NS glue) moves
        state.services.upsert(
            cluster_ip("kube-system", "kube-dns", "10.96.0." + std::to_string(pick(250) + 1)));
        break;
      case 10: {  // a load balancer gets an address, a hostname, both, or loses them
        auto s = service_at(pick(state.services.size()));
        if (s.kind == discovery::ServiceKind::ExternalName) break;
        static const char* kHosts[] = {"", "abc.elb.example.net", "svc-2.team-a.svc.cluster.local"};
        s.load_balancer.clear();
        const size_t n = pick(3);
        for (size_t i = 0; i < n; ++i) {
          discovery::LoadBalancerIngress in;
          if (rng() % 2) in.ip = rng() % 3 ? "203.0.113." + std::to_string(pick(20) + 1) : "2001:db8::5";
          in.hostname = kHosts[pick(3)];
          if (!in.ip.empty() || !in.hostname.empty()) s.load_balancer.push_back(in);
        }
        state.services.upsert(s);
        break;
      }
      case 11: {  // external IPs come or go (two services may share one)
        auto s = service_at(pick(state.services.size()));
        if (s.kind == discovery::ServiceKind::ExternalName) break;
        if (s.external_ips.empty()) {
          s.external_ips = {"198.51.100." + std::to_string(pick(5) + 1)};
        } else {
          s.external_ips.clear();
        }
        state.services.upsert(s);
        break;
      }
      case 12: {  // this server's own Service gets or loses an external address (the external NS glue)
        auto s = cluster_ip("kube-system", "kube-dns", "10.96.0.10");
        if (rng() % 2) s.load_balancer = {{"192.0.2." + std::to_string(pick(250) + 1), ""}};
        state.services.upsert(s);
        break;
      }
      case 13: {  // a ServiceImport's IPs or type change, or it comes or goes
        const std::string name = rng() % 2 ? "api" : "pets";
        const discovery::ServiceImport* found = state.service_imports.find({"team-a", name});
        if (found && rng() % 4 == 0) {
          state.service_imports.erase({"team-a", name});
          break;
        }
        discovery::ServiceImport im = found ? *found : discovery::ServiceImport{"team-a", name};
        im.type = rng() % 2 ? discovery::ImportType::Headless : discovery::ImportType::ClusterSetIp;
        im.ips = {"10.100.0." + std::to_string(pick(5) + 1)};
        if (rng() % 2) im.ports = {{rng() % 2 ? "http" : "web", 80, discovery::Protocol::Tcp, ""}};
        state.service_imports.upsert(im);
        break;
      }
      case 14: {  // a multicluster slice's endpoints change
        auto set = endpoints("team-a", "pets", static_cast<int>(pick(4)), static_cast<int>(pick(20)));
        set.service_name.clear();
        set.multicluster_service = rng() % 3 ? "pets" : "api";
        set.source_cluster = rng() % 2 ? "cluster-a" : "";
        set.name = "pets-cluster-" + std::to_string(pick(3));
        state.endpoint_sets.upsert(set);
        break;
      }
      case 15:  // a slice of the cluster itself turns into an imported one's (or back)
        if (!state.endpoint_sets.empty()) {
          auto set = state.endpoint_sets[pick(state.endpoint_sets.size())];
          std::swap(set.service_name, set.multicluster_service);
          if (set.source_cluster.empty()) set.source_cluster = "cluster-c";
          state.endpoint_sets.upsert(set);
        }
        break;
      case 16: {  // a pod comes, goes, moves or finishes
        const int i = static_cast<int>(pick(6));
        const std::string ns = rng() % 2 ? "team-a" : "team-b";
        if (rng() % 3 == 0) {
          state.pods.erase({ns, "pod-" + std::to_string(i)});
        } else {
          auto p = pod(ns, i + static_cast<int>(pick(2)) * 6, rng() % 4 ? "Running" : "Succeeded");
          p.name = "pod-" + std::to_string(i);
          state.pods.upsert(p);
        }
        break;
      }
      default:  // nothing changes but the serial
        break;
    }
    auto updated = update(builder, state, static_cast<uint32_t>(round + 2));
    auto fresh = zones::build_snapshot(&state, config_, static_cast<uint32_t>(round + 2));
    expect_same_answers(*updated, *fresh, "round " + std::to_string(round));
    if (HasFatalFailure()) return;
    compiled_total += updated->compiled_count();
    names_total += updated->node_count();
  }
  EXPECT_LT(compiled_total, names_total / 10);  // and sharing really happened
}

}  // namespace
