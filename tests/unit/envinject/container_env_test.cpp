// Tests for the kubelet's $(VAR) expansion and the container-over-service merge.
#include "envinject/container_env.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

namespace clusterdns::envinject {
namespace {

EnvLookup lookup_in(const std::map<std::string, std::string>& m) {
  return [&m](const std::string& name) -> const std::string* {
    auto it = m.find(name);
    return it == m.end() ? nullptr : &it->second;
  };
}

// The expansion package's own table (expand_test.go doExpansionTest).
TEST(Expand, KubeletTable) {
  const std::map<std::string, std::string> ctx = {
      {"VAR_A", "A"}, {"VAR_B", "B"}, {"VAR_C", "C"}, {"VAR_REF", "$(VAR_A)"}, {"VAR_EMPTY", ""}};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"$(VAR_A)", "A"},
      {"$(VAR_A)-$(VAR_A)", "A-A"},
      {"$(VAR_A)-1", "A-1"},
      {"___$(VAR_B)___", "___B___"},
      {"___$(VAR_C)", "___C"},
      {"$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"},
      {"$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"},
      {"$$(VAR_A)_$$(VAR_B)", "$(VAR_A)_$(VAR_B)"},
      {"f000-$$VAR_A", "f000-$VAR_A"},
      {"foo\\$(VAR_C)bar", "foo\\Cbar"},
      {"foo\\\\$(VAR_C)bar", "foo\\\\Cbar"},
      {"foo\\\\\\\\$(VAR_A)bar", "foo\\\\\\\\Abar"},
      {"$(VAR_A$(VAR_B))", "$(VAR_A$(VAR_B))"},
      {"$(VAR_A$(VAR_B)", "$(VAR_A$(VAR_B)"},
      {"$(VAR_REF)", "$(VAR_A)"},
      {"%%$(VAR_REF)--$(VAR_REF)%%", "%%$(VAR_A)--$(VAR_A)%%"},
      {"foo$(VAR_EMPTY)bar", "foobar"},
      {"foo$(VAR_Awhoops!", "foo$(VAR_Awhoops!"},
      {"f00__(VAR_A)__", "f00__(VAR_A)__"},
      {"$?_boo_$!", "$?_boo_$!"},
      {"$VAR_A", "$VAR_A"},
      {"$(VAR_DNE)", "$(VAR_DNE)"},
      {"$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"},
      {"$$$$$$(VAR_A)", "$$$(VAR_A)"},
      {"$$$$$$$(GOOD_ODDS)", "$$$$(GOOD_ODDS)"},
      {"$$$$$$$(VAR_A)", "$$$A"},
      {"$VAR_A)", "$VAR_A)"},
      {"${VAR_A}", "${VAR_A}"},
      {"$(VAR_B)_______$(A", "B_______$(A"},
      {"$(VAR_C)_______$(", "C_______$("},
      {"$(VAR_A)foobarzab$", "Afoobarzab$"},
      {"foo-\\$(VAR_A", "foo-\\$(VAR_A"},
      {"--$($($($($--", "--$($($($($--"},
      {"$($($($($--foo$(", "$($($($($--foo$("},
      {"foo0--$($($($(", "foo0--$($($($("},
      {"$(foo$$var)", "$(foo$$var)"},
      {"\n", "\n"},
      {"", ""},
      {"$", "$"},
      {"$()", "$()"},
  };
  for (const auto& [in, want] : cases)
    EXPECT_EQ(expand(in, lookup_in(ctx)), want) << "input: " << in;
}

TEST(Expand, Utf8AfterOperatorFollowsGo) {
  const std::map<std::string, std::string> ctx;
  EXPECT_EQ(expand("$\xC3\xA9t\xC3\xA9", lookup_in(ctx)), "$\xC3\xA9t\xC3\xA9");  // valid rune kept
  EXPECT_EQ(expand("a$\xFFz", lookup_in(ctx)), "a$\xEF\xBF\xBDz");                // invalid byte -> U+FFFD
  EXPECT_EQ(expand("$\xE2\x82", lookup_in(ctx)), "$\xEF\xBF\xBD\x82");            // truncated sequence
  EXPECT_EQ(expand("$\xC0\xAF", lookup_in(ctx)), "$\xEF\xBF\xBD\xAF");            // overlong form
  EXPECT_EQ(expand("$\xED\xA0\x80", lookup_in(ctx)), "$\xEF\xBF\xBD\xA0\x80");    // surrogate
  EXPECT_EQ(expand("$\xF0\x9F\x98\x80!", lookup_in(ctx)), "$\xF0\x9F\x98\x80!");  // 4-byte rune
  const std::map<std::string, std::string> x = {{"X", "1"}};
  EXPECT_EQ(expand("\xFF$(X)", lookup_in(x)),
            "\xFF"
            "1");  // elsewhere untouched
}

TEST(ContainerEnv, ContainerWinsAndExpandsAgainstEarlierThenService) {
  const std::vector<EnvVar> service = {{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                       {"KUBERNETES_SERVICE_PORT", "443"}};
  const auto env = container_env(
      {
          {"LATER_REF", "$(MINE)"},  // MINE is declared later: stays literal
          {"MINE", "x"},             //
          {"SELF", "$(SELF)"},       // unknown anywhere: literal
          {"KUBERNETES_SERVICE_PORT",
           "$(KUBERNETES_SERVICE_PORT)0"},  // refers to the service value it replaces
          {"URL", "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)/$$(MINE)/$(MINE)"},
          {"EMPTY", ""},
          {"MINE", "y"},  // repeated: last wins
      },
      service);
  const std::vector<EnvVar> want = {
      {"EMPTY", ""},
      {"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
      {"KUBERNETES_SERVICE_PORT", "4430"},
      {"LATER_REF", "$(MINE)"},
      {"MINE", "y"},
      {"SELF", "$(SELF)"},
      {"URL", "https://10.0.0.1:4430/$(MINE)/x"},
  };
  EXPECT_EQ(env, want);
}

TEST(ContainerEnv, NoOwnVariablesIsTheServiceList) {
  const std::vector<EnvVar> service = {{"A_SERVICE_HOST", "1"}, {"B_SERVICE_HOST", "2"}};
  EXPECT_EQ(container_env({}, service), service);
}

// IPv6 cluster, enableServiceLinks: false, and a user override with $(KUBERNETES_SERVICE_HOST) expansion.
TEST(ContainerEnv, Ipv6NoServiceLinksUserOverrideGolden) {
  auto port = [](const std::string& name, int32_t p) {
    discovery::ServicePort sp;
    sp.name = name;
    sp.port = p;
    return sp;
  };
  discovery::Service k8s;
  k8s.ns = "default";
  k8s.name = "kubernetes";
  k8s.cluster_ips = {"fd00:10:96::1"};
  k8s.ports = {port("https", 443)};
  discovery::Service web = k8s;
  web.ns = "shop";
  web.name = "web";
  web.cluster_ips = {"fd00:10:96::a"};
  web.ports = {port("http", 80)};
  const auto service = service_env("shop", false, {k8s, web});
  const auto env =
      container_env({{"KUBERNETES_SERVICE_PORT", "6443"},
                     {"API_URL", "https://[$(KUBERNETES_SERVICE_HOST)]:$(KUBERNETES_SERVICE_PORT)"},
                     {"WEB", "$(WEB_SERVICE_HOST)"}},
                    service);
  std::string actual;
  for (const auto& v : env)
    actual += v.name + "=" + v.value + "\n";
  const std::string path =
      std::string(CLUSTERDNS_SOURCE_DIR) + "/tests/unit/envinject/golden/ipv6_no_links_override.env";
  if (std::getenv("UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(want.str(), actual);
}

}  // namespace
}  // namespace clusterdns::envinject
