// The autopath pod index (zones/snapshot.hpp PodIndex) updated by claims and releases answers as one built
// from nothing, through PodIndex::update directly and through ZoneBuilder as pods come, go and move.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "discovery/model.hpp"
#include "zones/builder.hpp"
#include "zones/snapshot.hpp"

using namespace clusterdns;
using zones::PodAddress;
using zones::PodIndex;

namespace {

void key_of(const std::string& ip, uint8_t (&out)[16]) {
  static const uint8_t kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (inet_pton(AF_INET6, ip.c_str(), out) == 1) return;
  std::memcpy(out, kV4Mapped, 12);
  ASSERT_EQ(inet_pton(AF_INET, ip.c_str(), out + 12), 1) << ip;
}

std::string find(const PodIndex& index, const std::string& ip) {
  uint8_t key[16];
  key_of(ip, key);
  return std::string(index.find(key));
}

// Every shard's entries and labels as (address, namespace, claims): two indexes with the same content
// compare equal whatever order their labels were written in.
std::set<std::tuple<std::string, std::string, uint32_t>> content(const PodIndex& index) {
  std::set<std::tuple<std::string, std::string, uint32_t>> out;
  for (size_t s = 0; s < index.shards.size(); ++s) {
    const auto& shard = *index.shards[s];
    for (const auto& e : shard.entries) {
      EXPECT_EQ(PodIndex::shard_of(e.addr), s);
      out.emplace(std::string(reinterpret_cast<const char*>(e.addr), 16),
                  shard.labels.substr(e.ns, 1 + static_cast<uint8_t>(shard.labels[e.ns])), e.claims);
    }
  }
  return out;
}

TEST(PodIndex, FindsANamespaceAndLeavesOutAnAddressOfTwo) {
  const auto index = PodIndex::build({{"10.0.0.1", "Team"},
                                      {"10.0.0.2", "a"},
                                      {"10.0.0.2", "b"},  // shared by two namespaces: no one's
                                      {"10.0.0.3", "a"},
                                      {"10.0.0.3", "a"},  // two pods of one namespace (hostNetwork)
                                      {"fd00::7", "v6"},
                                      {"not-an-ip", "a"},
                                      {"10.0.0.9", ""}});
  EXPECT_EQ(find(*index, "10.0.0.1"), std::string("\4team"));
  EXPECT_EQ(find(*index, "10.0.0.2"), "");
  EXPECT_EQ(find(*index, "10.0.0.3"), std::string("\1a"));
  EXPECT_EQ(find(*index, "fd00::7"), std::string("\2v6"));
  EXPECT_EQ(find(*index, "10.0.0.9"), "");
  EXPECT_EQ(find(*index, "10.0.0.4"), "");
  EXPECT_EQ(index->entries, 5u);  // 10.0.0.2 twice, 10.0.0.3 once with two claims
}

TEST(PodIndex, ReleasesUndoClaimsOneAtATime) {
  auto index = PodIndex::build({{"10.0.0.2", "a"}, {"10.0.0.2", "b"}, {"10.0.0.3", "a"}, {"10.0.0.3", "a"}});
  // b's pod leaves 10.0.0.2: it is a's alone again.
  index = PodIndex::update(index.get(), {{"10.0.0.2", "b", true}});
  EXPECT_EQ(find(*index, "10.0.0.2"), std::string("\1a"));
  // One of a's two pods at 10.0.0.3 goes: the other still claims it.
  index = PodIndex::update(index.get(), {{"10.0.0.3", "a", true}});
  EXPECT_EQ(find(*index, "10.0.0.3"), std::string("\1a"));
  index = PodIndex::update(index.get(), {{"10.0.0.3", "a", true}, {"10.0.0.99", "x", true}});
  EXPECT_EQ(find(*index, "10.0.0.3"), "");
  EXPECT_EQ(index->entries, 1u);  // a release without its claim changes nothing
}

TEST(PodIndex, AChangeSharesTheShardsItDoesNotTouch) {
  std::vector<PodAddress> pods;
  for (int i = 0; i < 20000; ++i)
    pods.push_back(
        {"10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256), "ns" + std::to_string(i % 7)});
  const auto before = PodIndex::build(pods);
  const auto after = PodIndex::update(before.get(), {{"10.1.0.1", "ns1", true}, {"10.9.9.9", "ns1"}});
  size_t copied = 0;
  for (size_t s = 0; s < before->shards.size(); ++s)
    copied += before->shards[s] != after->shards[s];
  EXPECT_GE(copied, 1u);
  EXPECT_LE(copied, 2u);
  EXPECT_EQ(find(*before, "10.1.0.1"), std::string("\3ns1"));
  EXPECT_EQ(find(*after, "10.1.0.1"), "");  // the index before is not changed
  EXPECT_EQ(find(*after, "10.9.9.9"), std::string("\3ns1"));
}

// Random claims and releases (moves, two namespaces on one address, hostNetwork duplicates, namespaces in
// different case), checked after each batch against an index built from the pods as they are then.
TEST(PodIndex, IncrementalEqualsBuiltFromNothing) {
  std::mt19937 rng(7);
  std::multiset<std::pair<std::string, std::string>> live;  // (ip, ns) of every pod there now
  const auto ip = [&] { return "10.2." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 200); };
  const auto ns = [&] {
    static const char* kNames[] = {"a", "b", "Team", "team", "long-namespace-name"};
    return std::string(kNames[rng() % 5]);
  };
  std::shared_ptr<const PodIndex> index = PodIndex::build({});
  for (int round = 0; round < 300; ++round) {
    std::vector<PodAddress> changes;
    const int n = 1 + static_cast<int>(rng() % 20);
    for (int i = 0; i < n; ++i) {
      if (!live.empty() && rng() % 2) {
        auto it = live.begin();
        std::advance(it, rng() % live.size());
        changes.push_back({it->first, it->second, true});
        if (rng() % 2) changes.push_back({ip(), it->second});  // the pod moved, not gone
        live.erase(it);
      } else {
        changes.push_back({ip(), ns()});
      }
      if (!changes.back().released) live.emplace(changes.back().ip, changes.back().ns);
    }
    index = PodIndex::update(index.get(), changes);
    std::vector<PodAddress> all;
    for (const auto& [a, b] : live)
      all.push_back({a, b});
    const auto fresh = PodIndex::build(all);
    ASSERT_EQ(content(*index), content(*fresh)) << "round " << round;
    ASSERT_EQ(index->entries, fresh->entries);
    ASSERT_EQ(index->memory_bytes(), fresh->memory_bytes());  // kept by difference, the same bytes
    ASSERT_GE(index->memory_bytes(), index->entries * sizeof(PodIndex::Entry));
    for (int x = 0; x < 4; ++x) {
      for (int y = 0; y < 200; ++y) {
        const std::string addr = "10.2." + std::to_string(x) + "." + std::to_string(y);
        ASSERT_EQ(find(*index, addr), find(*fresh, addr)) << addr << " round " << round;
      }
    }
  }
}

discovery::Pod pod(const std::string& ns, const std::string& name, std::vector<std::string> ips,
                   const std::string& phase = "Running") {
  discovery::Pod p;
  p.ns = ns;
  p.name = name;
  p.ip = ips.empty() ? "" : ips[0];
  p.ips = std::move(ips);
  p.phase = phase;
  return p;
}

// Through the builder: pods added, removed, moved, finished, and an address two namespaces share, each
// snapshot's pod_namespace as a builder that never saw the states before would give.
TEST(PodIndex, ZoneBuilderUpdatesAsABuildFromNothing) {
  zones::BuildConfig config;
  config.cluster.pods = zones::PodMode::Verified;
  zones::ZoneBuilder builder(config);
  auto state = std::make_shared<discovery::RegistryState>();
  state->namespaces = {"a", "b"};
  state->pods.push_back(pod("a", "p1", {"10.3.0.1"}));
  state->pods.push_back(pod("a", "p2", {"10.3.0.2", "fd00::2"}));
  state->pods.push_back(pod("b", "p3", {"10.3.0.3"}));
  std::vector<std::function<void(discovery::RegistryState&)>> steps = {
      [](auto& s) { s.pods.upsert(pod("b", "p4", {"10.3.0.4"})); },
      [](auto& s) { s.pods.upsert(pod("a", "p1", {"10.3.0.9"})); },               // moved
      [](auto& s) { s.pods.upsert(pod("b", "host", {"10.3.0.2"})); },             // claimed by a and b
      [](auto& s) { s.pods.upsert(pod("a", "p2", {"10.3.0.2"}, "Succeeded")); },  // a's is done: b's alone
      [](auto& s) {
        s.pods.erase({"b", "p3"});
      },
      [](auto& s) {
        s.namespaces.erase({{}, "b"});
      },
      [](auto& s) {
        s.pods.upsert(pod("a", "p5", {"10.3.0.5", "fd00::5"}));
      },
  };
  std::shared_ptr<const discovery::RegistryState> current = state;
  auto snap = builder.update(current, 1);
  const std::vector<std::string> probes = {"10.3.0.1", "10.3.0.2", "10.3.0.3", "10.3.0.4",
                                           "10.3.0.5", "10.3.0.9", "fd00::2",  "fd00::5"};
  const auto ns_of = [](const zones::Snapshot& s, const std::string& ip) {
    sockaddr_storage ss{};
    if (ip.find(':') != std::string::npos) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
    }
    return std::string(s.pod_namespace(reinterpret_cast<const sockaddr*>(&ss)));
  };
  for (size_t i = 0; i <= steps.size(); ++i) {
    const auto fresh = zones::build_snapshot(current.get(), config, 1);
    for (const auto& ip : probes)
      EXPECT_EQ(ns_of(*snap, ip), ns_of(*fresh, ip)) << ip << " after step " << i;
    if (i == steps.size()) break;
    auto next = std::make_shared<discovery::RegistryState>(*current);
    steps[i](*next);
    current = next;
    snap = builder.update(current, static_cast<uint32_t>(i + 2));
  }
}

}  // namespace
