// parse_yaml_fast against libyaml: wherever the fast path takes a document, it must build exactly the
// Document libyaml's events build (nodes, plain flags, lines, node count), on the repository's manifests and
// on thousands of mutations of them; and it must take the usual manifest styles, or it is no faster.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "discovery/objects/fast_yaml.hpp"
#include "discovery/objects/yaml_guard.hpp"

namespace clusterdns::discovery {
namespace {

namespace fs = std::filesystem;

void dump(DocNode n, std::string& out) {
  out += std::to_string(n.line()) + ":";
  switch (n.kind()) {
    case NodeKind::Absent:
      out += "absent";
      break;
    case NodeKind::Null:
      out += "null";
      break;
    case NodeKind::Scalar:
      out += (n.plain() ? "plain(" : "quoted(") + std::string(n.scalar()) + ")";
      break;
    case NodeKind::Map:
      out += "{";
      for (std::size_t i = 0; i < n.size(); ++i) {
        dump(n.key_at(i), out);
        out += "=>";
        dump(n.value_at(i), out);
        out += ";";
      }
      out += "}";
      break;
    case NodeKind::List:
      out += "[";
      for (std::size_t i = 0; i < n.size(); ++i) {
        dump(n[i], out);
        out += ",";
      }
      out += "]";
      break;
  }
}

std::string dump(const std::vector<Document>& docs) {
  std::string out;
  for (const Document& d : docs) {
    dump(d.root(), out);
    out += "\n---\n";
  }
  return out;
}

struct Outcome {
  bool fast_taken = false;
  bool same = true;
  std::string fast, slow;
};

// Both parsers on one document's text; the fast one may decline, never disagree.
Outcome compare(const std::string& text, int first_line = 0) {
  Outcome o;
  std::vector<Document> fast_docs;
  std::size_t fast_nodes = 0;
  o.fast_taken = parse_yaml_fast(text, first_line, 100, fast_docs, fast_nodes);
  if (!o.fast_taken) return o;
  YamlLimits slow_only;
  slow_only.fast = false;
  std::vector<Document> slow_docs;
  std::size_t slow_nodes = 0;
  const auto problem = parse_yaml(text, slow_docs, first_line, slow_only, &slow_nodes);
  o.fast = dump(fast_docs) + "nodes " + std::to_string(fast_nodes);
  o.slow = problem ? "error: " + problem->reason : dump(slow_docs) + "nodes " + std::to_string(slow_nodes);
  o.same = o.fast == o.slow;
  return o;
}

// The repository's manifests, one "---" document each.
std::vector<std::string> corpus() {
  std::vector<std::string> docs;
  const fs::path root = CLUSTERDNS_SOURCE_DIR;
  for (const char* dir : {"examples", "docker", "tests/golden/fixtures", "tests/e2e"}) {
    if (!fs::exists(root / dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      std::string doc;
      std::istringstream lines(text.str());
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("---", 0) == 0 && !doc.empty()) {
          docs.push_back(doc);
          doc.clear();
        }
        doc += line + "\n";
      }
      if (!doc.empty()) docs.push_back(doc);
    }
  }
  return docs;
}

TEST(FastYaml, TheRepositorysManifestsParseAsLibyamlParsesThem) {
  const std::vector<std::string> docs = corpus();
  ASSERT_GT(docs.size(), 50u);
  std::size_t taken = 0;
  for (const std::string& doc : docs) {
    const Outcome o = compare(doc, 7);
    taken += o.fast_taken;
    EXPECT_TRUE(o.same) << doc << "\nfast: " << o.fast << "\nlibyaml: " << o.slow;
  }
  // The styles manifests are written in are the fast path's: most documents take it.
  EXPECT_GT(taken * 10, docs.size() * 8) << taken << " of " << docs.size();
}

TEST(FastYaml, TheUsualStylesAreTaken) {
  const char* const kTaken[] = {
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  labels: {app: a, 'x': \"y\"}\n",
      "---\n# c\nitems:\n- a\n- b: [1, -2, {c: d}]\n  e: 'it''s'\n-\n- x: # empty\n  y: ~\n",
      "a:\n  b:\n  - 1\n  - 2\n  c: []\n  d: {}\nz: \"q # not a comment\" # comment\n",
  };
  for (int i = 0; i < 3; ++i) {
    const Outcome o = compare(kTaken[i]);
    EXPECT_TRUE(o.fast_taken) << kTaken[i];
    EXPECT_TRUE(o.same) << kTaken[i] << "\nfast: " << o.fast << "\nlibyaml: " << o.slow;
  }
  // What the fast path leaves to libyaml.
  for (const char* declined :
       {"list:\n- - x\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  text\n", "a: b\n  c\n", "a:\tb\n",
        "a: \"esc\\n\"\n", "a: 1\na: 2\n", "a: [1,\n  2]\n", "a: b: c\n", "? a\n: b\n",
        "%YAML 1.1\n---\na: b\n", "a: caf\xc3\xa9\n", "a: 1\r\n"}) {
    EXPECT_FALSE(compare(declined).fast_taken) << declined;
  }
}

// Random edits of real manifests: the fast path takes some of them (a changed name, a moved colon that
// still makes YAML) and must agree with libyaml on every one it takes.
TEST(FastYaml, MutatedManifestsNeverDisagree) {
  const std::vector<std::string> docs = corpus();
  ASSERT_FALSE(docs.empty());
  std::mt19937 rng(20261207);
  const std::string alphabet = " :-#'\"[]{},\nx0&*|>!?~\t.";
  std::size_t taken = 0, checked = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = docs[rng() % docs.size()];
    for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !text.empty(); --edits) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text.erase(at, 1);
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text[at] = alphabet[rng() % alphabet.size()];
      }
    }
    const Outcome o = compare(text);
    ++checked;
    taken += o.fast_taken;
    ASSERT_TRUE(o.same) << "edited document:\n" << text << "\nfast: " << o.fast << "\nlibyaml: " << o.slow;
  }
  EXPECT_GT(taken, checked / 10) << "the edits should leave many documents in the fast path's subset";
}

}  // namespace
}  // namespace clusterdns::discovery
