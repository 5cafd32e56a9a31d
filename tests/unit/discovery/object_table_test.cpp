// ObjectTable: keyed order, copy-on-write sharing, and diff() against a model (std::map) over random edits.
#include "discovery/object_table.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "discovery/model.hpp"

namespace clusterdns::discovery {
namespace {

Service svc(const std::string& ns, const std::string& name, const std::string& ip = "10.0.0.1") {
  Service s;
  s.ns = ns;
  s.name = name;
  s.cluster_ips = {ip};
  return s;
}

// Addresses are kept as canonical text: IPv4 as written when inet_pton takes it (no leading zeros), IPv6
// rewritten (lower case, zeros compressed).
TEST(CanonicalIp, Ipv4AsWrittenIpv6Rewritten) {
  EXPECT_EQ(canonical_ip("10.96.0.10"), "10.96.0.10");
  EXPECT_EQ(canonical_ip("0.0.0.0"), "0.0.0.0");
  EXPECT_EQ(canonical_ip("010.96.0.10"), std::nullopt);
  EXPECT_EQ(canonical_ip("10.96.0"), std::nullopt);
  EXPECT_EQ(canonical_ip("10.96.0.256"), std::nullopt);
  EXPECT_EQ(canonical_ip(" 10.96.0.10"), std::nullopt);
  EXPECT_EQ(canonical_ip("2001:DB8:0:0::0:1"), "2001:db8::1");
  EXPECT_EQ(canonical_ip("::FFFF:10.1.2.3"), "::ffff:10.1.2.3");
}

TEST(ObjectTable, KeepsKeyOrderAndReplacesOnUpsert) {
  ObjectTable<Service> t;
  t.upsert(svc("default", "web"));
  t.upsert(svc("a", "zeta"));
  t.upsert(svc("default", "api"));
  t.upsert(svc("default", "web", "10.0.0.9"));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].name, "zeta");
  EXPECT_EQ(t[1].name, "api");
  EXPECT_EQ(t[2].name, "web");
  EXPECT_EQ(t.find({"default", "web"})->cluster_ips.front(), "10.0.0.9");
  EXPECT_EQ(t.find({"default", "nope"}), nullptr);
  EXPECT_TRUE(t.erase({"a", "zeta"}));
  EXPECT_FALSE(t.erase({"a", "zeta"}));
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.front().name, "api");
}

TEST(ObjectTable, NamespacesAreKeyedByTheirName) {
  ObjectTable<std::string> ns{"kube-system", "default", "default"};
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0], "default");
  EXPECT_NE(ns.find({{}, "kube-system"}), nullptr);
}

TEST(ObjectTable, ACopySharesItsChunksUntilOneSideChanges) {
  ObjectTable<Service> a;
  for (int i = 0; i < 1000; ++i)
    a.upsert(svc("ns", "s" + std::to_string(100000 + i)));
  ObjectTable<Service> b = a;
  EXPECT_EQ(b.shared_chunks(a), b.shared_chunks(b));
  b.upsert(svc("ns", "s100500", "10.9.9.9"));
  // One chunk was cloned for the write; the published copy `a` still sees the old object.
  EXPECT_EQ(b.shared_chunks(a) + 1, b.shared_chunks(b));
  EXPECT_EQ(a.find({"ns", "s100500"})->cluster_ips.front(), "10.0.0.1");
  EXPECT_EQ(b.find({"ns", "s100500"})->cluster_ips.front(), "10.9.9.9");
  std::vector<std::string> changed;
  ObjectTable<Service>::diff(a, b, [&](const Service* before, const Service* after) {
    ASSERT_TRUE(before && after);
    changed.push_back(after->name);
  });
  EXPECT_EQ(changed, std::vector<std::string>{"s100500"});
}

TEST(ObjectTable, DiffMatchesAModelOverRandomEdits) {
  std::mt19937 rng(7);
  ObjectTable<Service> table;
  std::map<std::string, std::string> model;  // name -> ip
  for (int round = 0; round < 200; ++round) {
    const ObjectTable<Service> before = table;
    const auto model_before = model;
    const int edits = 1 + static_cast<int>(rng() % 40);
    for (int e = 0; e < edits; ++e) {
      const std::string name = "s" + std::to_string(rng() % 3000);
      if (rng() % 3 == 0) {
        EXPECT_EQ(table.erase({"ns", name}), model.erase(name) == 1);
      } else {
        const std::string ip = "10.0." + std::to_string(round) + "." + std::to_string(e);
        table.upsert(svc("ns", name, ip));
        model[name] = ip;
      }
    }
    ASSERT_EQ(table.size(), model.size());
    std::map<std::string, std::pair<std::string, std::string>> seen;
    ObjectTable<Service>::diff(before, table, [&](const Service* was, const Service* now) {
      const std::string& name = was ? was->name : now->name;
      seen[name] = {was ? was->cluster_ips[0] : "", now ? now->cluster_ips[0] : ""};
    });
    // Every key whose value moved is reported, with both sides; untouched keys never are.
    std::map<std::string, std::pair<std::string, std::string>> want;
    for (const auto& [name, ip] : model) {
      auto it = model_before.find(name);
      if (it == model_before.end() || it->second != ip)
        want[name] = {it == model_before.end() ? "" : it->second, ip};
    }
    for (const auto& [name, ip] : model_before) {
      if (!model.count(name)) want[name] = {ip, ""};
    }
    // A key rewritten with its old value is reported too (pointer identity): drop those from `seen`.
    std::erase_if(seen, [](const auto& kv) { return kv.second.first == kv.second.second; });
    ASSERT_EQ(seen, want) << "round " << round;
    size_t i = 0;
    for (const auto& [name, ip] : model)
      ASSERT_EQ(table[i++].name, name);
  }
}

}  // namespace
}  // namespace clusterdns::discovery
