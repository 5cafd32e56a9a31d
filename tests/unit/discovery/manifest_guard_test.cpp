// Hostile YAML: libyaml's pre-flight check rejects it with file:line before yaml-cpp can loop or explode.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "discovery/objects/parse.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::HasSubstr;

// Runs body in a forked child with a deadline: on the old code these inputs loop allocating (yaml-cpp
// 0.7 grows ~200 MB/s on "---\n,\n") or take minutes, so a hang must fail the test, not the machine.
#define EXPECT_WITHIN_SECONDS(seconds, body)               \
  EXPECT_EXIT(                                             \
      {                                                    \
        alarm(seconds);                                    \
        body;                                              \
        std::_Exit(::testing::Test::HasFailure() ? 1 : 0); \
      },                                                   \
      ::testing::ExitedWithCode(0), "")

// 10 levels of 10 references: 10^10 nodes once expanded, from ~500 bytes.
std::string billion_laughs() {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      text += (j ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

TEST(ManifestGuard, CommaDocumentIsRejectedWithItsLine) {
  EXPECT_WITHIN_SECONDS(5, {
    ParseResult r = parse_manifest_text("---\n,\n", "bad.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].line, 2);
    EXPECT_THAT(r.errors[0].reason, HasSubstr("invalid YAML: did not find expected node content"));
  });
}

TEST(ManifestGuard, CommaDocumentAfterGoodOnesKeepsTheirLines) {
  EXPECT_WITHIN_SECONDS(5, {
    ParseResult r = parse_manifest_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {clusterIP: 10.0.0.1}\n---\n,\n",
        "bad.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string().rfind("bad.yaml:6: invalid YAML", 0), 0u) << r.errors[0].to_string();
    EXPECT_EQ(r.state.services.size(), 1u);
  });
}

TEST(ManifestGuard, AliasBombIsRejected) {
  EXPECT_WITHIN_SECONDS(5, {
    ParseResult r = parse_manifest_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n  labels:\n" + billion_laughs(), "bomb.yaml");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_THAT(r.errors[0].reason, HasSubstr("aliases expand to more than"));
  });
}

TEST(YamlGuard, Limits) {
  EXPECT_EQ(check_yaml("a: [1, 2, {b: c}]\n"), std::nullopt);
  EXPECT_EQ(check_yaml("{\"json\":1,\t\"x\": [true, null]}"), std::nullopt);

  auto deep = check_yaml(std::string(200, '[') + std::string(200, ']'));
  ASSERT_TRUE(deep);
  EXPECT_THAT(deep->reason, HasSubstr("nested deeper than 100"));

  auto unknown = check_yaml("a: 1\nb: *nope\n");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->line, 2);

  YamlLimits small;
  small.max_bytes = 4;
  EXPECT_TRUE(check_yaml("a: bcdef", small));
  small = {};
  small.max_aliases = 2;
  EXPECT_TRUE(check_yaml("a: &x 1\nb: [*x, *x, *x]\n", small));

  auto bad = check_yaml("a: b\n c: d\n");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->line, 2);
}

// Ten thousand aliases of one small Service expand to ~200,000 nodes: within the budget (what happens to
// the duplicates is the parser's business), so a legitimate use of anchors is not refused.
TEST(YamlGuard, ManyAliasesOfOneSmallNodeAreAllowed) {
  std::string text = "items:\n- &s {kind: Service, metadata: {name: a}, spec: {clusterIP: 10.0.0.1}}\n";
  for (int i = 0; i < 10000; ++i)
    text += "- *s\n";
  size_t nodes = 0;
  EXPECT_EQ(check_yaml(text, {}, &nodes), std::nullopt);
  EXPECT_GT(nodes, 100000u);
}

}  // namespace
}  // namespace clusterdns::discovery
