// Documents built from YAML (libyaml events) and from JSON: kinds, lines, typing, aliases, duplicate keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "discovery/objects/json_document.hpp"
#include "discovery/objects/parse.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery {
namespace {

using ::testing::HasSubstr;

std::vector<Document> parse(const std::string& text, int first_line = 0) {
  std::vector<Document> docs;
  auto problem = parse_yaml(text, docs, first_line);
  EXPECT_FALSE(problem) << problem->reason;
  return docs;
}

TEST(Document, KindsLinesAndScalars) {
  auto docs = parse("a: 1\nb:\n  - x\n  - 'y'\nc: ~\nd: null\ne: \"null\"\nf: {g: h}\n");
  ASSERT_EQ(docs.size(), 1u);
  DocNode root = docs[0].root();
  ASSERT_TRUE(root.is_map());
  EXPECT_EQ(root.size(), 6u);
  EXPECT_EQ(root.get("a").scalar(), "1");
  EXPECT_TRUE(root.get("a").plain());
  DocNode b = root.get("b");
  ASSERT_TRUE(b.is_list());
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].line(), 3);
  EXPECT_EQ(b[1].scalar(), "y");
  EXPECT_FALSE(b[1].plain());
  EXPECT_FALSE(b[2].defined());
  EXPECT_TRUE(root.get("c").is_null());
  EXPECT_TRUE(root.get("d").is_null());
  EXPECT_FALSE(root.get("c").present());
  EXPECT_TRUE(root.get("e").is_scalar()) << "a quoted null is a string";
  EXPECT_EQ(root.get("f").get("g").scalar(), "h");
  EXPECT_EQ(root.get("f").line(), 8);
  EXPECT_FALSE(root.get("missing").defined());
  EXPECT_FALSE(root.get("a").get("x").defined()) << "a scalar has no keys";
  EXPECT_EQ(root.key_at(5).scalar(), "f");
}

TEST(Document, LinesAreShiftedByTheChunkOffset) {
  auto docs = parse("a:\n  b: c\n", 10);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].root().get("a").get("b").line(), 12);
}

TEST(Document, SeveralDocumentsInOneText) {
  auto docs = parse("a: 1\n---\nb: 2\n...\n---\n- 3\n");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[1].root().get("b").line(), 3);
  EXPECT_EQ(docs[2].root()[0].scalar(), "3");
}

TEST(Document, AliasesShareTheAnchoredNode) {
  auto docs = parse("a: &x {k: v}\nb: *x\nc: [*x, *x]\n");
  ASSERT_EQ(docs.size(), 1u);
  DocNode root = docs[0].root();
  EXPECT_EQ(root.get("b").get("k").scalar(), "v");
  EXPECT_EQ(root.get("c")[1].get("k").scalar(), "v");
  EXPECT_EQ(root.get("c")[1].line(), 1) << "an alias is its anchor's node";
  EXPECT_LT(docs[0].node_count(), 12u) << "aliases are not copied";
}

TEST(Document, DuplicateKeysAreRejectedWithTheirLine) {
  std::vector<Document> docs;
  auto small = parse_yaml("a: 1\nb: 2\na: 3\n", docs);
  ASSERT_TRUE(small);
  EXPECT_THAT(small->reason, HasSubstr("mapping key 'a' is defined twice"));
  EXPECT_EQ(small->line, 4);  // the mapping's end
  std::string big;
  for (int i = 0; i < 40; ++i)
    big += "k" + std::to_string(i) + ": v\n";
  big += "k7: again\n";
  docs.clear();
  auto large = parse_yaml(big, docs);
  ASSERT_TRUE(large);
  EXPECT_THAT(large->reason, HasSubstr("'k7'"));
  docs.clear();
  EXPECT_FALSE(parse_yaml("a: {k: 1}\nb: {k: 2}\n", docs)) << "the same key in two mappings is fine";
}

TEST(Document, DuplicateKeyInAManifestIsAnErrorWithFileAndLine) {
  ParseResult r = parse_manifest_text(
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  name: webb\nspec:\n  clusterIP: 10.0.0.1\n",
      "svc.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_THAT(r.errors[0].to_string(), HasSubstr("svc.yaml:"));
  EXPECT_THAT(r.errors[0].reason, HasSubstr("'name' is defined twice"));
  EXPECT_TRUE(r.state.services.empty());
}

TEST(Document, YamlBooleansAndQuotedStrings) {
  ParseResult r = parse_manifest_text(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: ns}\n"
      "spec: {clusterIP: None, publishNotReadyAddresses: yes}\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: ns}\n"
      "spec: {clusterIP: None, publishNotReadyAddresses: maybe}\n",
      "f.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 9);
  EXPECT_THAT(r.errors[0].reason, HasSubstr("'maybe'"));
  ASSERT_EQ(r.state.services.size(), 1u);
  EXPECT_TRUE(r.state.services.front().publish_not_ready);
}

TEST(Document, FromJsonTypesScalarsAndBoundsDepth) {
  std::string error;
  auto doc = document_from_json(
      nlohmann::json::parse(R"({"a": "1", "b": 2, "c": true, "d": null, "e": [1]})"), error);
  ASSERT_TRUE(doc);
  DocNode root = doc->root();
  EXPECT_FALSE(root.get("a").plain());
  EXPECT_TRUE(root.get("b").plain());
  EXPECT_EQ(root.get("b").scalar(), "2");
  EXPECT_EQ(root.get("c").scalar(), "true");
  EXPECT_TRUE(root.get("d").is_null());
  EXPECT_EQ(root.get("e")[0].line(), 1);
  nlohmann::json deep = 1;
  for (int i = 0; i < 150; ++i)
    deep = nlohmann::json::array({deep});
  EXPECT_FALSE(document_from_json(deep, error));
  EXPECT_THAT(error, HasSubstr("deeper than 100"));
}

TEST(Document, AnObjectFromJsonReadsLikeTheSameManifest) {
  const char* text =
      R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "prod"},
          "spec": {"clusterIP": "10.0.0.7", "ports": [{"name": "http", "port": 80}]}})";
  std::string error;
  auto doc = document_from_json(nlohmann::json::parse(text), error);
  ASSERT_TRUE(doc);
  ParsedObjects from_json = parse_object_document(*doc, "api");
  ParseResult from_text = parse_manifest_text(text, "file");
  EXPECT_TRUE(from_json.errors.empty());
  EXPECT_TRUE(from_text.errors.empty());
  ASSERT_EQ(from_json.services.size(), 1u);
  ASSERT_EQ(from_text.state.services.size(), 1u);
  EXPECT_EQ(from_json.services.front(), from_text.state.services.front());
  EXPECT_EQ(from_json.namespaces, std::vector<std::string>{"prod"});
}

}  // namespace
}  // namespace clusterdns::discovery
