// A manifest big enough to be parsed ahead on helper threads reads exactly as a serial read would: errors
// in file order with their lines, duplicates named against the first definition, the alias budget spent
// over the whole file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "discovery/objects/parse.hpp"
#include "discovery/objects/parse_ahead.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::HasSubstr;

// A manifest built a document at a time, knowing the line each one starts on.
struct Manifest {
  std::string text;
  int lines = 0;
  int add(const std::string& doc) {  // returns the first line of the document's body (1-based)
    text += "---\n" + doc;
    const int first = lines + 2;
    lines += 1 + static_cast<int>(std::count(doc.begin(), doc.end(), '\n'));
    return first;
  }
};

std::string service(const std::string& name, const std::string& ip) {
  // The annotation pads each document to ~300 bytes, as a real Service's would.
  return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
         "\n  namespace: big\n  annotations:\n    note: \"" + std::string(150, 'x') +
         "\"\nspec:\n  clusterIP: " + ip + "\n  ports:\n  - port: 80\n";
}

std::string ip_of(int i) {
  return "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
}

TEST(ManifestParseAhead, ABigManifestReadsAsASerialReadWould) {
  Manifest m;
  std::vector<int> line_of(6000);
  int comma_line = 0, bad_ip_line = 0;
  for (int i = 0; i < 6000; ++i) {
    if (i == 1000) {
      comma_line = m.add(",\n");
    } else if (i == 4000) {
      line_of[i] = m.add(service("s10", ip_of(i)));  // defined at document 10 already
    } else if (i == 5000) {
      line_of[i] = m.add(service("s5000", "10.999.0.1"));
      bad_ip_line = line_of[i] + 8;
    } else {
      line_of[i] = m.add(service("s" + std::to_string(i), ip_of(i)));
    }
  }
  ASSERT_GE(m.text.size(), 1u << 20) << "too small to be parsed ahead";

  ParseResult r = parse_manifest_text(m.text, "big.yaml");
  std::vector<std::string> errors;
  for (const ManifestError& e : r.errors)
    errors.push_back(e.to_string());
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(r.errors[0].line, comma_line);
  EXPECT_THAT(errors[0], HasSubstr("invalid YAML"));
  EXPECT_THAT(errors[1], HasSubstr("big.yaml:" + std::to_string(line_of[4000])));
  EXPECT_THAT(errors[1], HasSubstr("defined twice (first at big.yaml:" + std::to_string(line_of[10]) + ")"));
  EXPECT_EQ(r.errors[2].line, bad_ip_line) << errors[2];
  EXPECT_THAT(errors[2], HasSubstr("10.999.0.1"));
  EXPECT_EQ(r.state.services.size(), 6000u - 3u);
}

// Documents that each expand aliases within the file's budget, but together do not: the document that
// crosses it is refused with the budget that was left, and nothing after it is read, as when documents were
// parsed one after the other. Parsed ahead, each was checked against the whole budget.
TEST(ManifestParseAhead, TheAliasBudgetIsSpentInFileOrder) {
  std::string laughs = "data:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 6; ++i) {  // 10^6 nodes once expanded
    const std::string prev = "*a" + std::to_string(i - 1);
    laughs += "  a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j)
      laughs += (j ? ", " : "") + prev;
    laughs += "]\n";
  }
  const std::string bomb = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: big}\n" + laughs;
  size_t bomb_nodes = 0;
  YamlLimits roomy;
  roomy.max_expanded_nodes = 100000000;
  ASSERT_EQ(check_yaml(bomb, roomy, &bomb_nodes), std::nullopt);

  Manifest m;
  for (int i = 0; i < 3000; ++i)
    m.add(service("s" + std::to_string(i), ip_of(i)));
  const size_t budget = 1000000 + 4 * (m.text.size() + 40 * (bomb.size() + 4) + 3000 * 400);
  // Enough bombs to run through the budget, each one within it.
  const size_t bombs = budget / bomb_nodes + 2;
  ASSERT_LT(bomb_nodes, budget);
  std::vector<int> bomb_lines;
  for (size_t b = 0; b < bombs; ++b)
    bomb_lines.push_back(m.add(bomb));
  for (int i = 3000; i < 6000; ++i)
    m.add(service("s" + std::to_string(i), ip_of(i)));
  ASSERT_GE(m.text.size(), 1u << 20);
  const size_t file_budget = 1000000 + 4 * m.text.size();

  // Where a serial read runs out: the first bomb whose nodes exceed what the services and bombs before it
  // left (each service's nodes counted the same way).
  size_t service_nodes = 0;
  ASSERT_EQ(check_yaml(service("s0", ip_of(0)), {}, &service_nodes), std::nullopt);
  size_t left = file_budget - 3000 * service_nodes;
  size_t failing = 0;
  while (failing < bombs && bomb_nodes <= left) {
    left -= bomb_nodes;
    ++failing;
  }
  ASSERT_LT(failing, bombs) << "the bombs fit the budget";

  ParseResult r = parse_manifest_text(m.text, "bombs.yaml");
  std::vector<std::string> errors;
  for (const ManifestError& e : r.errors)
    errors.push_back(e.to_string());
  ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  EXPECT_THAT(r.errors[0].reason,
              HasSubstr("aliases expand to more than " + std::to_string(left) + " nodes"));
  EXPECT_GE(r.errors[0].line, bomb_lines[failing]);
  EXPECT_LT(r.errors[0].line, bomb_lines[failing] + 12);
  EXPECT_EQ(r.state.services.size(), 3000u) << "nothing after the limit is read";
}

}  // namespace
}  // namespace clusterdns::discovery
