// The --config file: values with their lines, errors naming file, line and field, merging, diffs.
#include "ops/runtime/config_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace clusterdns::ops;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_config_text(text, "c.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ConfigFile, ScalarsAndListsKeepTheirLines) {
  const auto args = parse_config_text(
      "# comment\nsource: kubernetes\nttl: 30\nlisten:\n  - 0.0.0.0:53\n  - \"[::]:53\"\nlameduck: "
      "5s\nwebhook:\n",
      "c.yaml");
  ASSERT_EQ(args.size(), 5u);  // `webhook:` (no value) sets nothing
  EXPECT_EQ(args[0].name, "--source");
  EXPECT_EQ(args[0].value, "kubernetes");
  EXPECT_EQ(args[0].line, 2);
  EXPECT_EQ(args[2].name, "--listen");
  EXPECT_EQ(args[2].line, 5);
  EXPECT_EQ(args[3].value, "[::]:53");
  EXPECT_EQ(args[3].line, 6);
  EXPECT_EQ(args[1].where(), "c.yaml:3: ttl: ");
}

TEST(ConfigFile, EmptyFileSetsNothing) {
  EXPECT_TRUE(parse_config_text("", "c.yaml").empty());
  EXPECT_TRUE(parse_config_text("# only a comment\n", "c.yaml").empty());
}

TEST(ConfigFile, RejectsWithFileLineAndField) {
  EXPECT_EQ(error_of("ttl: 30\nttl: 40\n"), "c.yaml:2: ttl: given twice (first on line 1)");
  EXPECT_EQ(error_of("ttl: 30\nstub-domain:\n  acme.local: 10.1.2.3\n"),
            "c.yaml:3: stub-domain: expected a value or a list of values, not a mapping");
  EXPECT_EQ(error_of("- ttl\n"), "c.yaml:1: expected a mapping of flag names to values (ttl: 30)");
  EXPECT_EQ(error_of("config: /x\n"), "c.yaml:1: config: not allowed in a config file");
  EXPECT_EQ(error_of("--ttl: 3\n"), "c.yaml:1: --ttl: write the flag name without leading dashes");
  EXPECT_THAT(error_of("ttl: 30\nlisten: [a\n"), HasSubstr("not valid YAML"));
  EXPECT_THAT(error_of("ttl: 30\nlisten: [a\n"), ::testing::StartsWith("c.yaml:"));
}

// libyaml vets the text first: "---\n,\n" made yaml-cpp 0.7 allocate without end, aliases could expand.
TEST(ConfigFile, HostileYamlIsRejectedWithItsLine) {
  EXPECT_EQ(error_of("---\n,\n"),
            "c.yaml:2: not valid YAML: did not find expected node content (while parsing a block node)");
  EXPECT_THAT(error_of("a: &a [x, x]\nb: [*a, *a]\nc: [[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]\n"),
              HasSubstr("c.yaml:3: not valid YAML: nested deeper than 16 levels"));
}

TEST(ConfigFile, UnknownFieldSuggestsTheClosestFlag) {
  const std::vector<std::string> known = {"--ttl", "--domain", "--lameduck", "--log-level"};
  FlagArg typo{"--tll", "30", "/etc/c.yaml", 7};
  EXPECT_EQ(unknown_flag_message(typo, known), "/etc/c.yaml:7: tll: unknown field (did you mean 'ttl'?)");
  FlagArg cli{"--lamedcuk", "3s", "", 0};
  EXPECT_EQ(unknown_flag_message(cli, known), "unknown flag --lamedcuk (did you mean '--lameduck'?)");
  FlagArg far{"--completely-else", "1", "", 0};
  EXPECT_EQ(unknown_flag_message(far, known), "unknown flag --completely-else");
}

TEST(ConfigFile, CommandLineReplacesFileValuesListsIncluded) {
  const std::vector<FlagArg> file = {{"--ttl", "30", "f", 1},
                                     {"--listen", "a", "f", 2},
                                     {"--listen", "b", "f", 3},
                                     {"--domain", "x.local", "f", 4}};
  const std::vector<FlagArg> cli = {{"--listen", "c", "", 0}, {"--ttl", "5", "", 0}};
  const auto merged = merge_flag_args(file, cli);
  std::vector<std::string> text;
  for (const auto& a : merged)
    text.push_back(a.name + "=" + a.value);
  EXPECT_THAT(text, ElementsAre("--domain=x.local", "--listen=c", "--ttl=5"));
}

TEST(ConfigFile, ChangedFlags) {
  const std::vector<FlagArg> a = {
      {"--ttl", "30", "f", 1}, {"--listen", "x", "f", 2}, {"--pods", "insecure", "f", 3}};
  const std::vector<FlagArg> b = {
      {"--ttl", "5", "f", 1}, {"--listen", "x", "f", 9}, {"--domain", "y", "f", 3}};
  EXPECT_THAT(changed_flags(a, b), ElementsAre("--ttl", "--pods", "--domain"));
  EXPECT_EQ(flag_values(a, "--ttl"), "30");
  EXPECT_EQ(flag_values(b, "--pods"), "(default)");
}
